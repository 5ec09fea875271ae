"""The supervisor's papers in samples/ (recap workbook, receipt, BAST), made from the demo office:
`python -m prakerja_cli.paper.samples samples` runs the demo in a temporary folder and copies
them out. Synthetic applicants only (the demo's)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

#: samples/ name -> the demo's file (a glob inside the demo's folder).
PAPERS = {
    "rekap-contoh.xlsx": "rekap-hari-ini.xlsx",
    "rekap-contoh.pdf": "rekap-hari-ini.pdf",
    "tanda-terima-contoh.pdf": "tanda-terima.pdf",
    "bast-contoh.pdf": "serah-terima/bast-prakerja-*.pdf",
}


def write_paper_samples(folder: Path) -> list[Path]:
    from prakerja_cli.demo import run_demo

    with tempfile.TemporaryDirectory(prefix="prakerja-papers-") as work:
        home = Path(work) / "demo"
        failures = run_demo(lambda text: None, home)
        if failures:
            raise SystemExit(f"the demo had {failures} unexpected step(s)")
        written = []
        for name, pattern in PAPERS.items():
            source = next(home.glob(pattern))
            shutil.copyfile(source, folder / name)
            written.append(folder / name)
    return written


if __name__ == "__main__":
    for path in write_paper_samples(Path(sys.argv[1] if len(sys.argv) > 1 else "samples")):
        print(path)
