"""The supervisor's papers through the CLI: `report`, `applicants receipt` (and register
--receipt), `handover`; PDFs read back with pypdf, workbooks with openpyxl."""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from prakerja_cli.demo import synthetic_nik
from prakerja_cli.errors import UsageError
from prakerja_cli.paper.period import Period, parse_period
from tests.conftest import applicant_args, invoke

TODAY = date.today().isoformat()


def _register(count: int) -> list[str]:
    numbers = []
    for i in range(count):
        gender = "P" if i % 2 == 0 else "L"
        born = date(1980 + i, 3, 12)
        nik = synthetic_nik("327301", born, gender, 9100 + i)
        run = invoke([*applicant_args(nik=nik, kk=f"32730101011{i:05d}", name="Dewi Ñoman " + "ABCDEFGH"[i],
                                      birth_date=born.isoformat(), gender=gender), "--json"])  # fmt: skip
        assert run.exit_code == 0, run.stdout + run.stderr
        numbers.append(run.json()["registration_number"])
    return numbers


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


def test_period_forms() -> None:
    today = date(2026, 12, 5)
    assert parse_period(today=today) == Period(today, today)
    assert parse_period(on="01-12-2026") == Period(date(2026, 12, 1), date(2026, 12, 1))
    assert parse_period(week="2026-W49") == Period(date(2026, 11, 30), date(2026, 12, 6))
    assert parse_period(week="2026-12-03") == Period(date(2026, 11, 30), date(2026, 12, 6))
    assert parse_period(month="2026-02") == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert parse_period(month="12-2026") == Period(date(2026, 12, 1), date(2026, 12, 31))
    assert parse_period(first="2026-11-01", today=today) == Period(date(2026, 11, 1), today)
    with pytest.raises(UsageError):
        parse_period(on="2026-12-01", month="2026-12")
    with pytest.raises(UsageError):
        parse_period(first="2026-12-05", last="2026-12-01")
    with pytest.raises(UsageError):
        parse_period(month="2026-13")


@pytest.mark.parametrize(
    ("period", "indonesian", "english"),
    [
        ((date(2026, 12, 5), date(2026, 12, 5)), "5 Desember 2026", "5 December 2026"),
        ((date(2026, 11, 1), date(2026, 11, 30)), "1 s.d. 30 November 2026", "1 to 30 November 2026"),
        ((date(2026, 11, 30), date(2026, 12, 6)), "30 November s.d. 6 Desember 2026",
         "30 November to 6 December 2026"),
        ((date(2025, 12, 29), date(2026, 1, 4)), "29 Desember 2025 s.d. 4 Januari 2026",
         "29 December 2025 to 4 January 2026"),
    ],
)  # fmt: skip
def test_a_period_reads_as_a_letter_writes_it(
    period: tuple[date, date], indonesian: str, english: str
) -> None:
    from prakerja_cli.i18n import set_language

    assert Period(*period).label() == indonesian
    set_language("en")
    assert Period(*period).label() == english


def test_report_counts_agree_with_applicants_list(office: Path) -> None:
    numbers = _register(4)
    assert (
        invoke(["applicants", "withdraw", numbers[0], "--yes", "--reason", "Pindah"]).exit_code == 0
    )
    run = invoke(["report", "--date", TODAY, "--json"])
    assert run.exit_code == 0, run.stderr
    recap = run.json()
    listed = {}
    for status in ("valid", "flagged", "withdrawn"):
        rows = invoke(["applicants", "list", "--status", status, "--since", TODAY,
                       "--until", TODAY, "--all", "--json"]).json()  # fmt: skip
        listed[status] = len(rows)
    assert {r["code"]: r["count"] for r in recap["breakdowns"]["status"]} == {
        k: v for k, v in listed.items() if v
    }
    assert recap["total"] == sum(listed.values()) == 4
    assert recap["registered"] == listed["valid"] + listed["flagged"] == 3
    assert recap["withdrawn"] == 1
    pending = invoke(["applicants", "list", "--central", "pending", "--since", TODAY, "--until",
                      TODAY, "--all", "--json"]).json()  # fmt: skip
    live_pending = [r for r in pending if r["status"] != "withdrawn"]
    assert recap["unsent"] == len(live_pending) == 3
    assert recap["breakdowns"]["desk"] == [{"code": "D01", "count": 3}]
    assert {r["code"]: r["count"] for r in recap["breakdowns"]["gender"]} == {"P": 1, "L": 2}
    # Another day holds nothing.
    assert invoke(["report", "--date", "2001-01-01", "--json"]).json()["total"] == 0


#: Kecamatan of Kota Bandung and a desa in each; "Sukagalih" stands in two kecamatan (a desa
#: name repeats across kecamatan, so a recap row is the pair).
_PLACES = [("Sukasari", "Gegerkalong"), ("Coblong", "Dago"), ("Cidadap", "Hegarmanah"),
           ("Sukajadi", "Sukagalih"), ("Cicendo", "Sukagalih"), ("Andir", "Ciroyom"),
           ("Regol", "Ciateul"), ("Lengkong", "Burangrang"), ("Antapani", "Antapani Kidul"),
           ("Arcamanik", "Cisaranten Bina Harapan"), ("Batununggal", "Kebonwaru"),
           ("Kiaracondong", "Babakan Sari")]  # fmt: skip
_EDUCATION = ["SD", "SMP", "SMA", "D3", "S1"]
_EMPLOYMENT = ["PENCARI_KERJA", "PEKERJA", "KORBAN_PHK"]


def _varied_store() -> dict[str, list[str]]:
    """Registrations through the CLI at three desks by three operators, spread over kecamatan,
    desa, gender, age, education, employment and social assistance, some with findings (a
    NIK whose date differs from the form, a third member of one KK, a desa not on the list);
    then, through the store, central answers and days outside the period; some withdrawn and
    two purged (their birth date gone: age unknown). Returns numbers by what was done."""
    from prakerja_cli.office import open_workspace
    from prakerja_cli.store import applicants as store
    from prakerja_cli.store.db import write

    numbers: list[str] = []
    # Rina types her name in capitals at the end of the day: still one operator in the recap.
    desks = [("D01", "Rina"), ("D02", "Budi"), ("D03", "Sari Dewi"), ("D01", "RINA")]
    for i in range(36):
        if i % 9 == 0:
            desk, operator = desks[i // 9]
            for key, value in (("desk", desk), ("operator", operator)):
                assert invoke(["config", "set", key, value]).exit_code == 0
        gender = "P" if i % 3 else "L"
        born = date(1963 + (i * 7) % 44, 1 + i % 12, 1 + (i * 5) % 28)
        # Every fifth NIK carries another birth day than the form: NIK_BIRTHDATE_MISMATCH.
        nik_born = born.replace(day=born.day % 28 + 1) if i % 5 == 4 else born
        district, village = _PLACES[(i * 5) % len(_PLACES) if i % 4 else i % 3]
        kk = "3273010101990001" if i in (3, 4, 5) else f"32730101011{i:05d}"
        extra = ["--social-assistance"] if i % 4 == 1 else []
        args = applicant_args(nik=synthetic_nik("327301", nik_born, gender, 8100 + i), kk=kk,
                              name=f"Pemohon Uji {chr(65 + i // 26)}{chr(65 + i % 26)}", birth_date=born.isoformat(),
                              gender=gender, extra=extra)  # fmt: skip
        for option, value in (("--district", district), ("--village", village),
                              ("--education", _EDUCATION[i % 5]),
                              ("--employment", _EMPLOYMENT[i % 3])):  # fmt: skip
            args[args.index(option) + 1] = value
        run = invoke([*args, "--json"])
        assert run.exit_code == 0, run.stdout + run.stderr
        numbers.append(run.json()["registration_number"])
    withdrawn = [numbers[2], numbers[7], numbers[30]]
    for number in withdrawn:
        assert invoke(["applicants", "withdraw", number, "--yes", "--reason", "Uji"]).exit_code == 0
    ws = open_workspace()
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    answers = ["accepted", "verified", "duplicate", "registry_rejected", "conflict", "rejected"]
    with write(ws.db):
        for i, number in enumerate(numbers):
            row = store.get_applicant(ws.db, number)
            changes: dict[str, str] = {}
            if i % 2:
                changes["central_status"] = answers[i // 2 % len(answers)]
            if i in (0, 1):  # verified long ago: purged below
                changes.update(central_status="verified", verified_at="2026-01-02T10:00:00+07:00")
            if i % 6 == 5:
                changes["created_at"] = f"{yesterday}T09:15:00+07:00"  # still in the period
            if i in (8, 9, 10):
                changes["created_at"] = "2025-06-30T16:00:00+07:00"  # before it
            if changes:
                store.update_applicant(ws.db, row["id"], changes)
    ws.db.close()
    purged = invoke(["purge", "--verified-before", "2026-01-03", "--yes", "--json"])
    assert purged.exit_code == 0, purged.stderr
    assert purged.json()["records"] == 2
    return {"all": numbers, "withdrawn": withdrawn, "outside": numbers[8:11]}


#: How `applicants list` selects the records behind one bucket of a breakdown.
def _list_filter(breakdown: str, code: str) -> list[str]:
    if breakdown == "status":
        return ["--status", code]
    if breakdown == "village":
        district, village = code.split(" / ")
        return ["--status", "registered", "--district", district, "--village", village]
    if breakdown == "social_assistance":
        return ["--status", "registered",
                "--social-assistance" if code == "1" else "--no-social-assistance"]  # fmt: skip
    option = {"central": "--central", "desk": "--desk", "operator": "--operator",
              "district": "--district", "finding": "--finding", "gender": "--gender",
              "age": "--age", "education": "--education", "employment": "--employment",
              "priority": "--priority"}[breakdown]  # fmt: skip
    return ["--status", "registered", option, code]


def _bucket_value(breakdown: str, record: dict[str, object]) -> list[str]:
    """The bucket(s) a listed record falls in (several for findings)."""
    if breakdown == "village":
        return [f"{record['district']} / {record['village']}"]
    if breakdown == "finding":
        return sorted({str(f["code"]) for f in record["findings"]})  # type: ignore[attr-defined]
    if breakdown == "social_assistance":
        return ["1" if record["social_assistance"] else "0"]
    if breakdown == "central":
        return [str(record["central_status"] or "pending")]
    if breakdown == "operator":  # one operator whatever the case typed (`Rina`, `RINA`)
        return [str(record["operator"]).casefold()]
    if breakdown == "age":  # on the day of registration; the birth date is gone once purged
        if record["birth_date"] is None:
            return ["unknown"]
        born, on = date.fromisoformat(str(record["birth_date"])), str(record["created_at"])[:10]
        age = int(on[:4]) - born.year - (on[5:] < born.isoformat()[5:])
        edges = [(18, "<18"), (25, "18-24"), (35, "25-34"), (45, "35-44"), (55, "45-54"),
                 (65, "55-64")]  # fmt: skip
        return [next((band for edge, band in edges if age < edge), "65+")]
    return [str(record[breakdown])]


def test_every_recap_number_is_the_count_applicants_list_gives(
    office: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each bucket of each breakdown of `report --json`, listed with the matching filters of
    `applicants list` over the same period, gives the same count; "other" is the sum of the
    buckets it holds; withdrawn records count only as withdrawn."""
    from prakerja_cli.paper import recap as recap_module

    made = _varied_store()
    monkeypatch.setattr(recap_module, "TOP", 2)  # so kecamatan, desa, operator, findings cut
    first, last = (date.today() - timedelta(days=1)).isoformat(), TODAY
    run = invoke(["report", "--from", first, "--to", last, "--json"])
    assert run.exit_code == 0, run.stderr
    recap = run.json()

    def listed(*options: str) -> list[dict[str, object]]:
        done = invoke(["applicants", "list", "--since", first, "--until", last, "--all", "--json",
                       "--reveal", *options])  # fmt: skip
        assert done.exit_code == 0, done.stderr
        rows: list[dict[str, object]] = done.json()
        return rows

    everyone = listed()
    registered = listed("--status", "registered")
    assert recap["total"] == len(everyone) == len(made["all"]) - len(made["outside"])
    assert recap["withdrawn"] == len(listed("--status", "withdrawn")) == len(made["withdrawn"])
    assert recap["registered"] == len(registered) == recap["total"] - recap["withdrawn"]
    assert {r["status"] for r in registered} == {"valid", "flagged"}
    assert recap["unsent"] == len(listed("--status", "registered", "--central", "pending"))
    assert not any(r["registration_number"] in made["outside"] for r in everyone)

    seen = set()
    for breakdown, buckets in recap["breakdowns"].items():
        seen.add(breakdown)
        assert buckets, breakdown
        fold = str.casefold if breakdown == "operator" else str
        shown = {fold(b["code"]) for b in buckets}
        for bucket in buckets:
            if bucket["code"] == "*":
                continue
            rows = listed(*_list_filter(breakdown, bucket["code"]))
            assert len(rows) == bucket["count"], (breakdown, bucket)
            assert all(fold(bucket["code"]) in _bucket_value(breakdown, r) for r in rows), breakdown
        if breakdown == "status":
            continue
        # Withdrawn records are in no breakdown but status: the buckets are the registered ones'.
        values = [v for r in registered for v in _bucket_value(breakdown, r)]
        rest = sorted({v for v in values if v not in shown})
        other = {b["code"]: b["count"] for b in buckets}.get("*", 0)
        assert other == sum(len(listed(*_list_filter(breakdown, v))) for v in rest), breakdown
        if breakdown != "finding":  # one bucket per record: they add up to the registered
            assert sum(b["count"] for b in buckets) == recap["registered"], breakdown
    assert seen == set(recap_module.BREAKDOWNS)
    # The store was varied enough for each kind of bucket to matter.
    counts = {name: len(b) for name, b in recap["breakdowns"].items()}
    assert counts["desk"] == 3 and counts["gender"] == 2 and counts["social_assistance"] == 2
    rina = recap["breakdowns"]["operator"][0]  # 18 records, 3 withdrawn, 1 before the period
    assert rina["code"].casefold() == "rina" and rina["count"] == 14
    assert all(counts[n] == 3 for n in ("operator", "district", "village", "finding"))  # 2 + other
    assert counts["central"] == 7 and counts["education"] == 5 and counts["employment"] == 3
    assert "unknown" in {b["code"] for b in recap["breakdowns"]["age"]}  # the purged ones
    villages = [b["code"] for b in recap["breakdowns"]["village"]]
    assert len(villages) == len(set(villages))


def test_report_writes_workbook_with_charts_and_pdf(office: Path, tmp_path: Path) -> None:
    _register(3)
    xlsx, pdf = tmp_path / "rekap.xlsx", tmp_path / "rekap.pdf"
    run = invoke(["report", "--xlsx", str(xlsx), "--pdf", str(pdf)])
    assert run.exit_code == 0, run.stderr
    assert "Rekap pendaftaran Kartu Prakerja luring: Disnaker Kota Bandung" in run.stdout
    assert "Kelompok umur" in run.stdout and "█" in run.stdout
    book = load_workbook(xlsx)
    summary = book.worksheets[0]
    assert summary.title == "Ringkasan"
    assert len(summary._charts) >= 5  # native Excel charts, editable
    for chart in summary._charts:
        assert chart.dataLabels.showVal and not chart.dataLabels.showCatName  # the count only
        assert not chart.dataLabels.showSerName
        assert chart.y_axis.majorUnit == int(chart.y_axis.majorUnit) >= 1  # whole counts
        assert chart.y_axis.scaling.min == 0 and chart.y_axis.crosses == "max"  # axis below
        assert chart.x_axis.delete is False and chart.y_axis.delete is False  # shown in Excel
    assert summary.page_setup.fitToWidth == 1  # printed a page wide: the title is not cut
    assert [ws.title for ws in book.worksheets][6] == "6. Kecamatan - desa"
    assert any(ws.title.endswith("Jenis kelamin") for ws in book.worksheets)
    text = _pdf_text(pdf)
    assert "Disnaker Kota Bandung" in text and "Periode:" in text and "Halaman 1 dari 1" in text
    assert "Kelompok umur" in text
    # An existing file is kept without --force.
    again = invoke(["report", "--xlsx", str(xlsx)])
    assert again.exit_code == 2 and "--force" in again.stderr
    english = invoke(["report", "--pdf", str(tmp_path / "en.pdf"), "--lang", "en"])
    assert english.exit_code == 0
    assert "Page 1 of 1" in _pdf_text(tmp_path / "en.pdf")


def test_the_recap_pdf_shows_every_label_whole_and_dates_as_a_letter_does(
    office: Path, tmp_path: Path
) -> None:
    """Nothing cut (`NIK_BIRTHDATE_MISMA…`, `SUKASARI / GEGERKALO…` were): every label of every
    breakdown is in the PDF's text whole, wrapped or not, in both languages; the period and the
    moment written as a letter writes them; one or two pages."""
    from prakerja_cli.i18n import set_language
    from prakerja_cli.i18n.format import long_day
    from prakerja_cli.paper.recap import finding_explanation, label

    _varied_store()
    first = date.today() - timedelta(days=1)
    for lang, period_word in (("id", "Periode"), ("en", "Period")):
        pdf = tmp_path / f"rekap-{lang}.pdf"
        run = invoke(["report", "--from", first.isoformat(), "--pdf", str(pdf), "--json",
                      "--lang", lang])  # fmt: skip
        assert run.exit_code == 0, run.stderr
        recap = run.json()
        text = _pdf_text(pdf)
        compact = "".join(text.split())
        set_language(lang)
        assert f"{period_word}: {Period(first, date.today()).label()}" in text  # 4 s.d. 5 Desember
        assert long_day(date.today()) in text  # generated at
        for name, buckets in recap["breakdowns"].items():
            for bucket in buckets:
                shown = label(name, bucket["code"])
                if name == "finding" and bucket["code"] != "*":
                    shown = f"{bucket['code']}: {finding_explanation(bucket['code'])}"
                    shown = shown.split(": ", 1)[0]  # the code; its explanation comes next
                assert "".join(shown.split()) in compact, (lang, name, shown)
        set_language(None)
        assert "ARCAMANIK/CISARANTENBINAHARAPAN" in compact  # a long desa, wrapped
        assert 1 <= len(PdfReader(pdf).pages) <= 2


def test_receipt_masks_the_nik_and_register_writes_one(office: Path, tmp_path: Path) -> None:
    from prakerja_cli.i18n.format import long_day

    nik = synthetic_nik("327301", date(1990, 8, 17), "P", 9001)
    out = tmp_path / "terima.pdf"
    run = invoke([*applicant_args(), "--receipt", str(out)])
    assert run.exit_code == 0, run.stderr
    text = _pdf_text(out)
    assert "3273-D01-000001" in text and "SITI AMINAH" in text
    assert nik not in text and nik[:4] + "*" * 10 + nik[-2:] in text
    assert "Langkah berikutnya" in text
    assert f"Waktu daftar {long_day(date.today())}" in text  # 5 Desember 2026 14.05 WIB
    page = PdfReader(out).pages[0]
    assert round(float(page.mediabox.width) / 72 * 25.4) == 105  # A6
    second = tmp_path / "lagi.pdf"
    run = invoke(["applicants", "receipt", "3273-D01-000001", "--out", str(second), "--print"])
    assert run.exit_code == 0, run.stderr
    assert "Tanda terima ditulis" in run.stdout
    assert "cetak" in run.stdout  # printed, or told that this machine cannot
    assert invoke(["applicants", "receipt", "3273-D01-000001", "--out", str(second)]).exit_code == 2


def test_print_uses_the_windows_print_verb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prakerja_cli.paper import receipt

    asked: list[tuple[str, str]] = []
    monkeypatch.setattr(receipt.sys, "platform", "win32")
    monkeypatch.setattr(
        receipt.os, "startfile", lambda p, verb: asked.append((p, verb)), raising=False
    )
    assert receipt.print_file(tmp_path / "x.pdf") == "windows"
    assert asked == [(str(tmp_path / "x.pdf"), "print")]
    monkeypatch.setattr(receipt.sys, "platform", "linux")
    monkeypatch.setattr(receipt.shutil, "which", lambda name: None)
    assert receipt.print_file(tmp_path / "x.pdf") is None


def _zip_file(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


def test_handover_is_deterministic_and_names_changes(office: Path, tmp_path: Path) -> None:
    from prakerja_cli.i18n.format import long_day

    numbers = _register(3)
    assert (
        invoke(["applicants", "withdraw", numbers[1], "--yes", "--reason", "Pindah"]).exit_code == 0
    )
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    run = invoke(["handover", str(first), "--date", TODAY, "--json"])
    assert run.exit_code == 0, run.stderr
    result = run.json()
    assert result["registered"] == 2 and result["withdrawn"] == 1 and result["unsent"] == 2
    assert not result["previous"]
    again = invoke(["handover", str(second), "--date", TODAY, "--json"]).json()
    assert first.read_bytes() == second.read_bytes()  # same data, same bytes
    assert again["previous"] and again["changed"] == []
    slug = f"3273-{TODAY}"
    recap_name, bast_name = f"rekap-prakerja-{slug}.xlsx", f"bast-prakerja-{slug}.pdf"
    manifest = json.loads(_zip_file(first, "manifest.json"))
    for entry in manifest["files"]:
        assert hashlib.sha256(_zip_file(first, entry["name"])).hexdigest() == entry["sha256"]
    recap = tmp_path / recap_name
    recap.write_bytes(_zip_file(first, recap_name))
    sheet = load_workbook(recap).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("No", "NIK", "Nomor KK")
    assert len(rows) == 3  # the withdrawn one is not handed over
    nik_cell = sheet["B2"]
    assert nik_cell.data_type == "s" and len(str(nik_cell.value)) == 16
    bast = tmp_path / bast_name
    bast.write_bytes(_zip_file(first, bast_name))
    text = _pdf_text(bast)
    assert "BERITA ACARA SERAH TERIMA" in text and recap_name in text
    lines = text.splitlines()
    # Each on one line: a hash wrapped after 63 digits is hard to compare by eye.
    assert any(hashlib.sha256(recap.read_bytes()).hexdigest() in line for line in lines)
    assert any(result["audit_head"] in line for line in lines)
    assert f"periode {long_day(date.today())}" in " ".join(text.split())
    assert "Kepala Dinas" in text and "Yang menerima" in text and "Halaman 1 dari 1" in text
    # A record edited between runs is named.
    assert invoke(["applicants", "edit", numbers[2], "--set", "address=Jl. Baru 2"]).exit_code == 0
    third = invoke(["handover", str(tmp_path / "c"), "--date", TODAY])
    assert third.exit_code == 0, third.stderr
    assert numbers[2] in third.stdout and "Berubah sejak serah terima" in third.stdout
    assert (tmp_path / "c" / "manifest.json").is_file()


@pytest.mark.parametrize("lang", ["id", "en"])
def test_report_fits_eighty_columns_at_a_terminal(office: Path, lang: str) -> None:
    """The real process on an 80-column pseudo-terminal, over a varied store (twelve kecamatan,
    long desa names, findings whose explanations wrap): no line longer than the console, each
    bar on its label's first line after the count, none wrapped onto a line of its own."""
    import re

    from terminal import Terminal

    _varied_store()
    terminal = Terminal(["report", "--from", "2025-06-01", "--lang", lang], office, width=80)
    code, screen = terminal.close()
    assert code == 0, screen
    lines = screen.splitlines()
    assert max(len(line) for line in lines) <= 80
    title, period = ("Rekap pendaftaran", "Periode: 1 Juni 2025 s.d. ") if lang == "id" else (
        "Offline Kartu Prakerja registrations", "Period: 1 June 2025 to ")  # fmt: skip
    assert lines[0].startswith(title) and lines[1].startswith(period)
    bar_lines = [line for line in lines if "█" in line]
    assert len(bar_lines) >= 40
    row = re.compile(r"^\S.*\S\s+[0-9][0-9.,]*\s+█+\s*$")
    for line in bar_lines:
        assert row.match(line), f"a bar away from its label and count: {line!r}"


def test_samples_hold_the_demo_offices_papers() -> None:
    """samples/ (written by `python -m prakerja_cli.paper.samples samples`)."""
    samples = Path(__file__).resolve().parents[1] / "samples"
    book = load_workbook(samples / "rekap-contoh.xlsx")
    assert len(book.worksheets[0]._charts) >= 5
    assert "Disnaker Kota Bandung (demo)" in _pdf_text(samples / "rekap-contoh.pdf")
    receipt = _pdf_text(samples / "tanda-terima-contoh.pdf")
    assert "3273-D01-000002" in receipt and "BUDI SANTOSO" in receipt
    bast = _pdf_text(samples / "bast-contoh.pdf")
    assert "BERITA ACARA SERAH TERIMA" in bast and "Kepala Dinas" in bast
