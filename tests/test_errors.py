"""OS failures become one expected error with the reason in the clerk's language."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from prakerja_cli.errors import ExitCode, StoreError, from_os_error, library_reason, os_reason
from prakerja_cli.i18n import set_language, t
from tests.conftest import applicant_args, invoke


def _locked(path: str) -> PermissionError:
    """What Windows raises for a file Excel holds open: EACCES, winerror 32."""
    exc = PermissionError(errno.EACCES, "The process cannot access the file", path)
    exc.winerror = 32  # type: ignore[attr-defined]
    return exc


@pytest.mark.parametrize(
    ("exc", "key", "reason"),
    [
        (
            PermissionError(errno.EACCES, "Permission denied", "D:/rekap"),
            "error.os",
            "akses ditolak",
        ),
        (OSError(errno.EROFS, "Read-only file system", "/mnt/x"), "error.os", "hanya dapat dibaca"),
        (OSError(errno.ENOSPC, "No space left on device", "D:/r.xlsx"), "error.disk_full", None),
        (_locked("D:/rekap.xlsx"), "error.file_in_use", None),
    ],
)
def test_os_errors_are_named_in_the_clerks_language(
    exc: OSError, key: str, reason: str | None
) -> None:
    mapped = from_os_error(exc)
    assert isinstance(mapped, StoreError) and mapped.exit_code == ExitCode.ERROR
    assert mapped.key == key
    assert mapped.params["path"] == exc.filename
    if reason is not None:
        assert mapped.params["reason"] == reason


def test_other_os_errors_are_not_guessed() -> None:
    assert from_os_error(ConnectionResetError(errno.ECONNRESET, "reset")) is None
    assert os_reason(OSError(errno.EPIPE, "Broken pipe")) == "Broken pipe"


def test_the_reason_follows_the_language() -> None:
    set_language("en")
    assert os_reason(_locked("x")) == "in use by another program"
    assert t("error.file_in_use", path="rekap.xlsx").endswith("(open in Excel?).")


def test_a_file_in_use_is_one_line_at_the_desk(
    office: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import prakerja_cli.roster.export as export

    def locked(*args: object, **kwargs: object) -> int:
        raise _locked("rekap.xlsx")

    monkeypatch.setattr(export, "export_applicants", locked)
    assert invoke(applicant_args()).exit_code == 0
    run = invoke(["export", "rekap.xlsx"])
    assert run.exit_code == 1
    assert run.stderr.splitlines() == [
        "galat: Berkas rekap.xlsx sedang dipakai program lain (mungkin terbuka di Excel).",
        "saran: Tutup berkas itu di Excel atau program lain, lalu ulangi.",
    ]


@pytest.mark.parametrize(
    ("library", "reason"),
    [
        ("File is not a zip file", "bukan berkas .xlsx/.ods yang utuh"),
        ("Cfb error: Invalid OLE (4 bytes is too small, not an office document?)",
         "bukan buku kerja Excel .xls yang utuh"),
        ("Bad CRC-32 for file 'xl/worksheets/sheet1.xml'", "isinya rusak"),
        ("File not found '_rels/.rels'", "bagian buku kerjanya tidak ada"),
        ("not well-formed (invalid token): line 1, column 2", "isi XML-nya rusak"),
        ("line contains NUL", "ada karakter NUL"),
        ("Something nobody foresaw.", 'pesan teknis: "Something nobody foresaw"'),
    ],
)  # fmt: skip
def test_a_library_reason_is_said_in_the_clerks_language(library: str, reason: str) -> None:
    assert library_reason(library).startswith(reason)


def test_a_renamed_file_is_refused_without_the_librarys_english(
    office: Path, tmp_path: Path
) -> None:
    """Was: "rusak atau tidak dapat dibaca: File is not a zip file." """
    fake = tmp_path / "daftar.xlsx"
    fake.write_text("NIK;Nama\n", encoding="utf-8")
    run = invoke(["roster", "import", str(fake)])
    assert run.exit_code == 2
    error = run.stderr.splitlines()[0]
    assert error.startswith("galat: Berkas daftar.xlsx rusak atau tidak dapat dibaca: bukan berkas")
    assert "zip file" not in error
    english = invoke(["roster", "import", str(fake), "--lang", "en"])
    assert "not a whole .xlsx/.ods file" in english.stderr


def _roster(folder: Path) -> Path:
    from rosters import person, write_xlsx

    return write_xlsx(folder / "desa.xlsx", [person(1), person(2, NIK="123")])


#: Every command that writes a file the clerk names, with the file's name (check_new_file).
WRITERS = {
    "export": lambda folder: ["export", str(folder / "rekap.csv")],
    "roster import --errors": lambda folder: [
        "roster", "import", str(_roster(folder)), "--errors", str(folder / "perbaikan.xlsx"),
    ],
    "roster template": lambda folder: ["roster", "template", str(folder / "templat.xlsx")],
    "backup FILE.db": lambda folder: ["backup", str(folder / "cadangan.db")],
}  # fmt: skip


@pytest.mark.parametrize("command", list(WRITERS))
def test_no_command_replaces_a_file_without_force(
    office: Path, tmp_path: Path, command: str
) -> None:
    assert invoke(applicant_args()).exit_code == 0
    args = WRITERS[command](tmp_path)
    target = Path(args[-1])
    target.write_bytes(b"yesterday's file")
    refused = invoke(args)
    assert refused.exit_code == 2
    assert refused.stderr.splitlines() == [
        f"galat: Berkas {target} sudah ada.",
        "saran: Pilih nama lain, atau tambahkan --force untuk menimpanya.",
    ]
    assert target.read_bytes() == b"yesterday's file"
    english = invoke(["--lang", "en", *args])
    assert english.stderr.splitlines() == [
        f"error: File {target} already exists.",
        "hint: Choose another name, or add --force to overwrite it.",
    ]
    forced = invoke([*args, "--force"])
    assert forced.exit_code in (0, 3), forced.stderr  # 3: the roster has a rejected row
    assert target.read_bytes() != b"yesterday's file" and target.stat().st_size > 200
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left
