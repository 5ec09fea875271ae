"""The supervisor's papers as they print: each PDF rendered to images with PDFium (pypdfium2,
the engine of Chromium's PDF viewer, a wheel on every platform, so these run in CI too) and the
recap workbook printed by LibreOffice headless, then looked at: nothing in the margins or off the
page, the charts drawn, every label there. The LibreOffice test is skipped where it is absent
(CI has none); test_paper.py asserts the same papers' text with pypdf everywhere."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from tests.conftest import invoke
from tests.test_paper import _pdf_text, _varied_store

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
needs_libreoffice = pytest.mark.skipif(SOFFICE is None, reason="LibreOffice not here")
TODAY = date.today().isoformat()
#: Rendering resolution: 1 px = 0.5 mm, enough to see a label in the margin.
DPI = 50.8
#: The recap's bars (documents.BAR) as rendered, within a little anti-aliasing.
BAR = (52, 101, 164)


def _pages(pdf: Path) -> list[Any]:
    """The pages of `pdf` as RGB Pillow images (Pillow comes with fpdf2), rendered by PDFium."""
    import pypdfium2

    document = pypdfium2.PdfDocument(pdf)
    try:
        return [page.render(scale=DPI / 72).to_pil().convert("RGB") for page in document]
    finally:
        document.close()


def _ink(image: Any, box: tuple[int, int, int, int]) -> int:
    """How many pixels in `box` (left, top, right, bottom) are not white."""
    return sum(image.crop(box).convert("L").histogram()[:235])


def _mm(value: float) -> int:
    return round(value * DPI / 25.4)


def _margins_clear(image: Any, side_mm: float, label: str) -> None:
    """Nothing drawn in the outer `side_mm` of the left and right edges: no text runs off."""
    width, height = image.size
    left = _ink(image, (0, 0, _mm(side_mm), height))
    right = _ink(image, (width - _mm(side_mm), 0, width, height))
    assert left == 0 and right == 0, f"{label}: ink in the side margins ({left}, {right} px)"


def _rgb(image: Any) -> list[tuple[int, int, int]]:
    data = image.tobytes()
    return list(zip(data[0::3], data[1::3], data[2::3], strict=True))


def _bar_pixels(image: Any) -> int:
    return sum(
        1
        for r, g, b in _rgb(image)
        if abs(r - BAR[0]) < 12 and abs(g - BAR[1]) < 12 and abs(b - BAR[2]) < 12
    )


@pytest.fixture
def papers(office: Path, tmp_path: Path) -> dict[str, Path]:
    """The recap PDF (Indonesian and English), a receipt and a BAST of a varied store."""
    made = _varied_store()
    out = tmp_path / "papers"
    out.mkdir()
    paths = {
        "recap": out / "rekap.pdf",
        "recap_en": out / "recap-en.pdf",
        "receipt": out / "terima.pdf",
        "receipt_en": out / "receipt-en.pdf",
        "workbook": out / "rekap.xlsx",
    }
    period = ["--from", "2025-06-01", "--to", TODAY]
    run = invoke(
        ["report", *period, "--pdf", str(paths["recap"]), "--xlsx", str(paths["workbook"])]
    )
    assert run.exit_code == 0, run.stderr
    assert (
        invoke(["report", *period, "--pdf", str(paths["recap_en"]), "--lang", "en"]).exit_code == 0
    )
    number = made["all"][-1]
    for key, extra in (("receipt", []), ("receipt_en", ["--lang", "en"])):
        done = invoke(["applicants", "receipt", number, "--out", str(paths[key]), *extra])
        assert done.exit_code == 0, done.stderr
    package = out / "serah-terima.zip"
    assert invoke(["handover", str(package), *period]).exit_code == 0
    with zipfile.ZipFile(package) as archive:
        name = next(n for n in archive.namelist() if n.startswith("bast-"))
        paths["bast"] = out / name
        paths["bast"].write_bytes(archive.read(name))
    return paths


def test_the_recap_pdf_keeps_to_its_page_and_draws_its_bars(papers: dict[str, Path]) -> None:
    for key in ("recap", "recap_en"):
        pages = _pages(papers[key])
        assert len(pages) == len(PdfReader(papers[key]).pages) <= 2  # one or two A4 pages
        for number, page in enumerate(pages, 1):
            width, height = page.size
            assert abs(width / height - 210 / 297) < 0.01  # A4 portrait
            _margins_clear(page, 8, f"{key} page {number}")  # fpdf2's margin is 10 mm
            assert _bar_pixels(page) > 200, f"{key} page {number}: no bars drawn"
            # The footer (generated at, page x of y) sits in the bottom 16 mm, apart from the body.
            footer = _ink(page, (0, height - _mm(14), width, height - _mm(8)))
            assert footer > 0, f"{key} page {number}: no footer"


def test_the_receipt_and_the_bast_keep_to_their_pages(papers: dict[str, Path]) -> None:
    for key, ratio, side in (("receipt", 105 / 148, 6), ("receipt_en", 105 / 148, 6),
                             ("bast", 210 / 297, 17)):  # fmt: skip
        pages = _pages(papers[key])
        assert len(pages) == 1, key
        page = pages[0]
        width, height = page.size
        assert abs(width / height - ratio) < 0.01, key
        _margins_clear(page, side, key)


def _print_with_libreoffice(workbook: Path, folder: Path) -> Path:
    """The workbook as LibreOffice prints it (PDF), with a profile of this test's own."""
    assert SOFFICE is not None
    profile = folder / "lo-profile"
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to",
         "pdf", "--outdir", str(folder / "printed"), str(workbook)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    return folder / "printed" / f"{workbook.stem}.pdf"


@needs_libreoffice
def test_libreoffice_prints_the_workbook_charts_with_every_label(
    papers: dict[str, Path], tmp_path: Path
) -> None:
    """The summary sheet's charts as LibreOffice draws them: each title, every category (none
    hidden for want of room) and the count at each bar."""
    from openpyxl import load_workbook

    from prakerja_cli.i18n import t
    from prakerja_cli.paper.workbook import CHARTED

    assert SOFFICE is not None
    # The summary sheet alone: the breakdown sheets hidden (LibreOffice prints no hidden sheet),
    # so every word found was drawn by a chart.
    summary_only = tmp_path / "ringkasan.xlsx"
    with zipfile.ZipFile(papers["workbook"]) as source, zipfile.ZipFile(summary_only, "w") as copy:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/workbook.xml":
                text = data.decode()
                first = text.index('state="visible"') + 1
                data = (
                    text[:first] + text[first:].replace('state="visible"', 'state="hidden"')
                ).encode()
            copy.writestr(item, data)
    printed = _print_with_libreoffice(summary_only, tmp_path)
    compact = "".join(_pdf_text(printed).split())
    assert "Rekappendaftaran" in compact
    book = load_workbook(papers["workbook"])
    assert len(book.worksheets[0]._charts) == len(CHARTED)  # type: ignore[attr-defined]
    for name in CHARTED:  # only the charts hold these words on the summary sheet
        assert "".join(t(f"report.breakdown.{name}").split()) in compact, name
    for name in CHARTED:  # every category label and every count, none left out for room
        sheet = next(
            ws for ws in book.worksheets if ws.title.endswith(t(f"report.breakdown.{name}"))
        )
        for _, label, count in sheet.iter_rows(min_row=2, values_only=True):
            assert "".join(str(label).split()) in compact, (name, label)
            assert str(count) in compact
    first = _pages(printed)[0]  # and the bars are there, not only their labels
    coloured = sum(1 for r, g, b in _rgb(first) if b > r + 40 and b > 120)
    assert coloured > 300
