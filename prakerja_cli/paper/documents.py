"""PDFs the office prints: the recap (A4), the applicant's receipt (A6) and the BAST (A4).

fpdf2 draws them, with DejaVu Sans embedded (fonts/, Bitstream Vera licence): fpdf2's core fonts
are Latin-1 only and a name may hold any letter. Charts are bars drawn with the PDF library's
rectangles; the receipt's QR code (segno) is drawn module by module, so no image library is
needed. A PDF given a fixed `moment` is the same bytes from the same content.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fpdf import FPDF

    from prakerja_cli.paper.recap import Recap

FONTS = Path(__file__).with_name("fonts")
FAMILY = "DejaVu"
#: The bar colour of the charts (a blue that prints well in grey too).
BAR = (52, 101, 164)


def check_pdf(path: Path, *, force: bool) -> None:
    from prakerja_cli.roster.output import check_output

    check_output(path, (".pdf",), hint="hint.report_pdf", example="rekap.pdf", force=force)


def _document(
    page: str | tuple[float, float], title: str, footer_note: str, moment: datetime
) -> FPDF:
    """An fpdf2 document with the embedded font, page numbers ("Halaman 1 dari 2") and a note
    in the footer, its creation date set to `moment` (so the bytes depend on the content only)."""
    from fpdf import FPDF

    from prakerja_cli.i18n import t

    class Paper(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FAMILY, size=7)
            self.set_text_color(90, 90, 90)
            self.cell(0, 4, footer_note, align="L")
            self.set_x(self.l_margin)
            self.cell(0, 4, t("pdf.page", page=self.page_no(), pages="{nb}"), align="R")
            self.set_text_color(0, 0, 0)

    pdf = Paper(format=page)
    pdf.add_font(FAMILY, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FAMILY, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_title(title)
    pdf.set_creator("prakerja-cli")
    pdf.set_creation_date(moment)
    pdf.set_auto_page_break(auto=True, margin=16)
    return pdf


def _heading(pdf: FPDF, text: str, size: float = 11) -> None:
    pdf.set_font(FAMILY, "B", size)
    pdf.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)


#: A bar table's line height (mm) and type size (pt).
_LINE, _SIZE = 4.0, 8.0


def _label_lines(pdf: FPDF, text: str, width: float) -> list[str]:
    """`text` broken into the lines a cell `width` wide holds: a label wraps, never is cut."""
    pdf.set_font(FAMILY, size=_SIZE)
    lines = pdf.multi_cell(width, _LINE, text, dry_run=True, output="LINES", align="L")
    assert isinstance(lines, list)  # output="LINES" gives the lines only
    return [str(line) for line in lines] or [""]


#: A bar table's columns as shares of its width: label (wrapped), count, bar; a table across the
#: page gives its label more (the findings' explanations).
_LABEL_SHARE, _COUNT_SHARE, _WIDE_LABEL_SHARE = 0.5, 0.1, 0.64


def _shares(width: float, wide: bool) -> tuple[float, float]:
    """The label's and the count's widths in a bar table `width` wide."""
    if wide:
        return width * _WIDE_LABEL_SHARE, width * _COUNT_SHARE / 2
    return width * _LABEL_SHARE, width * _COUNT_SHARE


def _bars_height(pdf: FPDF, rows: list[tuple[str, int]], width: float, wide: bool) -> float:
    label_w = _shares(width, wide)[0]
    return sum(len(_label_lines(pdf, shown, label_w)) * _LINE + 0.6 for shown, _ in rows)


def _bars(pdf: FPDF, rows: list[tuple[str, int]], width: float, wide: bool = False) -> None:
    """A table that is its own bar chart: label (wrapped to its column), count, and a bar scaled
    to the largest count; from the current position, which the caller made room for."""
    from prakerja_cli.i18n.format import number

    top = max((n for _, n in rows), default=0) or 1
    label_w, count_w = _shares(width, wide)
    bar_w = width - label_w - count_w - 2
    for shown, count in rows:
        x, y = pdf.get_x(), pdf.get_y()
        lines = _label_lines(pdf, shown, label_w)
        pdf.set_xy(x, y)
        pdf.multi_cell(label_w, _LINE, "\n".join(lines), align="L")
        pdf.set_xy(x + label_w, y)
        pdf.cell(count_w, _LINE, number(count), align="R")
        if count:
            pdf.set_fill_color(*BAR)
            pdf.rect(
                x + label_w + count_w + 2, y + 0.6, max(0.6, bar_w * count / top), 2.8, style="F"
            )
        pdf.set_xy(x, y + len(lines) * _LINE + 0.6)


def _fit_size(pdf: FPDF, text: str, width: float, size: float, smallest: float) -> float:
    """The largest type size from `size` down to `smallest` at which `text` fits on one line
    (a SHA-256 split over two lines, a lone `d` under the rest, is hard to compare by eye)."""
    while size > smallest and pdf.get_string_width(text) > width:
        size -= 0.25
        pdf.set_font_size(size)
    return size


def _finish(pdf: FPDF, path: Path) -> None:
    from prakerja_cli.roster.output import replacing

    with replacing(path) as tmp:
        pdf.output(str(tmp))


def _moment_of(value: str) -> datetime:
    return datetime.fromisoformat(value)


def write_recap_pdf(recap: Recap, path: Path) -> None:
    """A4, office and period on top, the totals, then each breakdown as a bar table, two columns."""
    from prakerja_cli.i18n import t
    from prakerja_cli.i18n.format import long_moment, number

    title = t("report.title", office=recap.office_name)
    generated = t("report.generated", at=long_moment(recap.generated_at))
    pdf = _document("A4", title, generated, _moment_of(recap.generated_at))
    pdf.add_page()
    _heading(pdf, recap.office_name, 14)
    pdf.set_font(FAMILY, "B", 11)
    pdf.cell(0, 6, t("report.subtitle"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=10)
    pdf.cell(0, 6, t("report.period", period=recap.period.label()), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    pdf.cell(0, 5, generated, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    boxes = (("report.total", recap.total), ("report.registered", recap.registered),
             ("report.withdrawn", recap.withdrawn), ("report.unsent", recap.unsent))  # fmt: skip
    box_w = (pdf.w - pdf.l_margin - pdf.r_margin) / len(boxes)
    y = pdf.get_y()
    for i, (key, value) in enumerate(boxes):
        x = pdf.l_margin + i * box_w
        pdf.set_draw_color(160, 160, 160)
        pdf.rect(x + 1, y, box_w - 2, 15)
        pdf.set_xy(x + 2, y + 1.5)
        pdf.set_font(FAMILY, "B", 14)
        pdf.cell(box_w - 4, 7, number(value), align="C")
        pdf.set_xy(x + 2, y + 8.6)
        pdf.set_font(FAMILY, size=6.5)
        pdf.multi_cell(box_w - 4, 2.9, t(key), align="C", max_line_height=2.9)
    pdf.set_xy(pdf.l_margin, y + 19)
    full_w = pdf.w - pdf.l_margin - pdf.r_margin
    column_w = (full_w - 8) / 2
    shown: dict[str, list[tuple[str, int]]] = {
        name: [(_shown_label(recap, name, code), n) for code, n in rows]
        for name, rows in recap.breakdowns.items()
        if rows
    }
    for group in _layout(list(shown)):
        wide = len(group) == 1 and group[0] in WIDE
        width = full_w if wide else column_w
        heights = [_bars_height(pdf, shown[name], width, wide) for name in group]
        if pdf.will_page_break(6 + max(heights)):  # a table is never split over two pages
            pdf.add_page()
        top = pdf.get_y()
        for index, name in enumerate(group):
            x = pdf.l_margin + index * (column_w + 8)
            pdf.set_xy(x, top)
            pdf.set_font(FAMILY, "B", 9)
            pdf.cell(width, 6, t(f"report.breakdown.{name}"))
            pdf.set_xy(x, top + 6)
            _bars(pdf, shown[name], width, wide)
        pdf.set_xy(pdf.l_margin, top + 6 + max(heights) + 3)
    _finish(pdf, path)


#: Breakdowns given the page's whole width: a finding's explanation is a sentence or two.
WIDE = ("finding",)


def _shown_label(recap: Recap, name: str, code: str) -> str:
    from prakerja_cli.paper.recap import finding_explanation, label

    if name == "finding" and code != "*":
        explanation = finding_explanation(code, recap.finding_fields.get(code))
        return f"{code}: {explanation}" if explanation else code
    return label(name, code)


def _layout(names: list[str]) -> list[tuple[str, ...]]:
    """Breakdowns two by two, side by side, in their order; a wide one alone on its row (the
    pair it interrupts is made of its neighbours), an odd last one alone."""
    groups: list[tuple[str, ...]] = []
    waiting: list[str] = []
    for name in names:
        if name in WIDE:
            groups.append((name,))
            continue
        waiting.append(name)
        if len(waiting) == 2:
            groups.append((waiting[0], waiting[1]))
            waiting = []
    if waiting:
        groups.append((waiting[0],))
    return groups


def write_receipt(row: dict[str, Any], office_name: str, path: Path, *, moment: datetime) -> None:
    """The applicant's receipt (A6): office, desk, number with its QR code, date and time, name,
    masked NIK, what happens next and how to check the status."""
    import segno

    from prakerja_cli.core.nik import mask
    from prakerja_cli.i18n import t
    from prakerja_cli.i18n.format import long_moment

    number = str(row["registration_number"])
    pdf = _document((105, 148), t("receipt.pdf_title"), t("receipt.footer"), moment)
    pdf.set_margins(8, 8, 8)
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 8)
    pdf.multi_cell(0, 3.6, office_name, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, "B", 10)
    pdf.multi_cell(0, 4.6, t("receipt.pdf_title"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    qr = segno.make(number, error="m")
    size = 30.0
    module = size / len(qr.matrix)
    x0, y0 = (pdf.w - size) / 2, pdf.get_y()
    pdf.set_fill_color(0, 0, 0)
    for r, line in enumerate(qr.matrix):
        for c, dark in enumerate(line):
            if dark:
                pdf.rect(x0 + c * module, y0 + r * module, module, module, style="F")
    pdf.set_y(y0 + size + 1)
    pdf.set_font(FAMILY, "B", 13)
    pdf.cell(0, 6, number, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)
    pairs = (
        (t("label.name"), str(row.get("name") or "-")),
        ("NIK", mask(str(row.get("nik") or ""))),
        (t("receipt.registered_at"), long_moment(str(row["created_at"]))),
        (t("receipt.desk"), f"{row['desk']} / {row['operator']}"),
        (t("label.status"), t(f"status.{row['status']}")),
    )
    for key, value in pairs:
        pdf.set_font(FAMILY, size=7.5)
        pdf.cell(24, 4, key)
        pdf.set_font(FAMILY, "B", 7.5)
        pdf.multi_cell(0, 4, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)
    pdf.set_font(FAMILY, "B", 7.5)
    pdf.cell(0, 4, t("receipt.next_title"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=7)
    # Ragged right: justified on a postcard's width leaves holes between the words.
    pdf.multi_cell(0, 3.4, t("receipt.next", number=number), align="L", new_x="LMARGIN",
                   new_y="NEXT")  # fmt: skip
    _finish(pdf, path)


def write_bast(facts: dict[str, Any], path: Path, *, moment: datetime) -> None:
    """The Berita Acara Serah Terima, ready to print and sign (A4). `facts`: office_name,
    office_code, period (label), counts (status -> n), registered, withdrawn, unsent, recap_file,
    recap_sha256, audit_head, rows."""
    from prakerja_cli.i18n import t
    from prakerja_cli.i18n.format import number

    title = t("bast.title")
    pdf = _document(
        "A4", title, t("bast.footer", office=facts["office_name"], period=facts["period"]), moment
    )
    pdf.set_margins(20, 18, 20)
    pdf.add_page()
    pdf.set_font(FAMILY, "B", 12)
    pdf.multi_cell(0, 6, facts["office_name"].upper(), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(0, 0, 0)
    pdf.line(pdf.l_margin, pdf.get_y() + 1, pdf.w - pdf.r_margin, pdf.get_y() + 1)
    pdf.ln(5)
    pdf.set_font(FAMILY, "B", 11)
    pdf.multi_cell(0, 5.5, title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    pdf.cell(0, 5, t("bast.number_line"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font(FAMILY, size=10)
    pdf.multi_cell(0, 5, t("bast.opening", office=facts["office_name"], period=facts["period"]),
                   new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(2)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    rows = [(t(f"status.{code}"), n) for code, n in facts["counts"]]
    rows += [(t("bast.registered"), facts["registered"]), (t("bast.unsent"), facts["unsent"])]
    pdf.set_font(FAMILY, "B", 9.5)
    pdf.set_fill_color(230, 230, 230)
    pdf.cell(width * 0.7, 6.5, t("bast.col_what"), border=1, fill=True)
    pdf.cell(width * 0.3, 6.5, t("report.col_count"), border=1, fill=True, align="R",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    for index, (what, count) in enumerate(rows):
        pdf.set_font(FAMILY, "B" if index == len(rows) - 2 else "", 9.5)
        pdf.cell(width * 0.7, 6.5, what, border=1)
        pdf.cell(
            width * 0.3, 6.5, number(count), border=1, align="R", new_x="LMARGIN", new_y="NEXT"
        )
    pdf.ln(2)
    pdf.set_font(FAMILY, size=9)
    pdf.multi_cell(0, 4.6, t("bast.withdrawn_note", withdrawn=number(facts["withdrawn"]),
                             unsent=number(facts["unsent"])), new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(2)
    pdf.set_font(FAMILY, "B", 9.5)
    pdf.cell(0, 5.5, t("bast.attachment"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FAMILY, size=9)
    for key, value in (("bast.file", facts["recap_file"]), ("bast.rows", number(facts["rows"])),
                       ("bast.sha256", facts["recap_sha256"]), ("bast.audit_head", facts["audit_head"])):  # fmt: skip
        pdf.cell(38, 5, t(key))
        pdf.set_font(FAMILY, "B", 8.5)
        _fit_size(pdf, value, width - 38 - 2 * pdf.c_margin - 0.5, 8.5, 6.5)
        pdf.multi_cell(0, 5, value, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FAMILY, size=9)
    pdf.ln(2)
    pdf.multi_cell(0, 4.6, t("bast.closing"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    if pdf.will_page_break(52):
        pdf.add_page()
    pdf.cell(0, 5, t("bast.place_date", regency=facts.get("regency", "")), align="R",
             new_x="LMARGIN", new_y="NEXT")  # fmt: skip
    pdf.ln(2)
    blocks = (("bast.sign_giver", "bast.role_head"), ("bast.sign_clerk", "bast.role_clerk"),
              ("bast.sign_receiver", "bast.role_receiver"))  # fmt: skip
    block_w = width / 3
    top = pdf.get_y()
    for i, (who, role) in enumerate(blocks):
        x = pdf.l_margin + i * block_w
        pdf.set_xy(x, top)
        pdf.set_font(FAMILY, "B", 9)
        pdf.multi_cell(block_w, 4.5, t(who), align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_font(FAMILY, size=8.5)
        pdf.multi_cell(block_w, 4.5, t(role), align="C", new_x="LEFT", new_y="NEXT")
        pdf.set_xy(x, top + 34)
        pdf.cell(
            block_w, 4.5, "(..............................)", align="C", new_x="LEFT", new_y="NEXT"
        )
        pdf.cell(block_w, 4.5, t("bast.nip"), align="C")
    _finish(pdf, path)
