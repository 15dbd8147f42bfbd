"""Fail the book build when the rendered HTML shows an error, a traceback or a warning.

    python scripts/check_html.py book/_build/html     # `make book` runs it after jupyter-book build

``jupyter-book build -W`` stops on Sphinx warnings, but not on what a notebook
cell *printed*: a traceback of a cell allowed to fail, a ``UserWarning`` on
stderr, a docutils system message. This scans every page's HTML for them (the
way Neuromatch's ``parse_html_for_errors`` does) and prints one line per
finding: page, kind and the first line of the text. Progress bars on stderr
are fine.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup

ALARM = re.compile(r"traceback|error|exception|warning", re.IGNORECASE)
ERROR_LINE = re.compile(r"Error|Exception")
SKIP_DIRS = {"_static", "_sources", "_images"}


@dataclass(frozen=True)
class Finding:
    page: str
    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.page}: {self.kind}: {self.text}"


def _first_line(text: str, pattern: re.Pattern | None = None) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    hit = next((ln for ln in lines if pattern.search(ln)), None) if pattern else None
    line = hit or (lines[0] if lines else "")
    return line[:160]


def scan_page(html: str, page: str) -> list[Finding]:
    """Every error output, traceback, alarming stderr line and docutils system message of one page."""
    soup = BeautifulSoup(html, "html.parser")
    found = []
    for node in soup.select("div.output.traceback"):
        found.append(Finding(page, "traceback", _first_line(node.get_text(), ERROR_LINE)))
    for node in soup.select("div.output.stderr"):
        text = node.get_text()
        if ALARM.search(text):
            found.append(Finding(page, "stderr", _first_line(text, ALARM)))
    for node in soup.select("div.system-message, .problematic"):
        found.append(Finding(page, "system message", _first_line(node.get_text())))
    for node in soup.select("div.cell_output"):
        text = node.get_text()
        if "Traceback (most recent call last)" in text and not node.select("div.output.traceback"):
            found.append(Finding(page, "traceback in output", _first_line(text, ERROR_LINE)))
    return found


def scan(folder: str | Path) -> list[Finding]:
    """Findings of every ``.html`` page under ``folder`` (Sphinx's own static files excluded)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SystemExit(f"error: {folder} is not a folder of built HTML (run jupyter-book build first)")
    pages = [p for p in sorted(folder.rglob("*.html")) if not SKIP_DIRS & set(p.relative_to(folder).parts)]
    if not pages:
        raise SystemExit(f"error: no .html pages under {folder}")
    return [f for p in pages for f in scan_page(p.read_text(encoding="utf-8", errors="replace"),
                                                 str(p.relative_to(folder)))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path, help="the built HTML, e.g. book/_build/html")
    args = ap.parse_args(argv)
    findings = scan(args.folder)
    for f in findings:
        print(f, file=sys.stderr)
    n_pages = sum(1 for p in args.folder.rglob("*.html") if not SKIP_DIRS & set(p.relative_to(args.folder).parts))
    if findings:
        print(f"error: {len(findings)} error output(s), traceback(s) or warning(s) in the built book "
              f"({n_pages} pages scanned)", file=sys.stderr)
        return 1
    print(f"html check: {n_pages} pages, no error outputs, tracebacks or warnings")
    return 0


if __name__ == "__main__":
    sys.exit(main())
