"""Read the rows of an HTML table saved under an Excel name (`.xls`): what many government web
applications export as "Excel". Cells are text, as in a CSV; the same bounds hold.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path


class TableTooBig(Exception):
    """More rows, columns, cells or cell text than the bounds allow."""


class _Rows(HTMLParser):
    """Collects the text of each <td>/<th> of each <tr>, of every table in the page."""

    def __init__(self, limits: tuple[int, int, int, int]) -> None:
        super().__init__(convert_charrefs=True)
        self.max_columns, self.max_rows, self.max_cells, self.max_text = limits
        self.rows: list[list[str]] = []
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.cells = 0
        self.skip = 0  # inside <script>/<style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.skip += 1
        elif tag == "tr":
            self._end_row()
            self.row = []
        elif tag in ("td", "th"):
            self._end_cell()
            if self.row is None:
                self.row = []
            self.cell = []
        elif tag == "br" and self.cell is not None:
            self.cell.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in ("td", "th"):
            self._end_cell()
        elif tag in ("tr", "table"):
            self._end_row()

    def handle_data(self, data: str) -> None:
        if self.cell is not None and not self.skip:
            self.cell.append(data)
            if sum(map(len, self.cell)) > self.max_text:
                raise TableTooBig

    def _end_cell(self) -> None:
        if self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()))
            self.cells += 1
            if len(self.row) > self.max_columns or self.cells > self.max_cells:
                raise TableTooBig
        self.cell = None

    def _end_row(self) -> None:
        self._end_cell()
        if self.row is not None:
            self.rows.append(self.row)
            if len(self.rows) > self.max_rows:
                raise TableTooBig
        self.row = None


def html_rows(path: Path, encoding: str, limits: tuple[int, int, int, int]) -> list[list[str]]:
    """The rows of every table in the page at `path` (columns, rows, cells, characters of one
    cell bounded by `limits`); TableTooBig past them."""
    parser = _Rows(limits)
    with path.open(encoding=encoding, errors="replace") as stream:
        for block in iter(lambda: stream.read(1 << 20), ""):
            parser.feed(block)
    parser.close()
    parser._end_row()
    return parser.rows
