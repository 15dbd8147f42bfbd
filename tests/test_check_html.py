"""The built-book scan fails on tracebacks, warnings on stderr and system messages, not on progress bars."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import check_html  # noqa: E402

CLEAN = """<html><body><div class="cell docutils container">
<div class="cell_output docutils container"><div class="output stderr highlight-myst-ansi notranslate">
<pre>stage 2: 100%|##########| 20/20 [01:10&lt;00:00]</pre></div>
<div class="output text_plain highlight-myst-ansi notranslate"><pre>R@1 0.83</pre></div></div></div></body></html>"""

TRACEBACK = """<div class="cell_output docutils container"><div class="output traceback highlight-ipythontb notranslate">
<pre>---------------------------------------------------------------------------
ValueError                                Traceback (most recent call last)
</pre></div></div>"""

WARNING = """<div class="cell_output docutils container"><div class="output stderr highlight-myst-ansi notranslate">
<pre>/x/site-packages/umap/umap_.py:1952: UserWarning: n_jobs value 1 overridden
  warn(</pre></div></div>"""

SYSTEM = """<div class="system-message"><p class="system-message-title">System Message: ERROR/3</p>
<p>Unknown directive type "figur".</p></div>"""


def _book(tmp_path, pages: dict) -> Path:
    root = tmp_path / "html"
    for name, body in pages.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(body)
    (root / "_static").mkdir(exist_ok=True)
    (root / "_static" / "vendor.html").write_text(TRACEBACK)  # Sphinx's own files are not pages
    return root


def test_a_clean_book_passes_with_progress_bars_on_stderr(tmp_path, capsys):
    root = _book(tmp_path, {"index.html": CLEAN, "book/executed/03.html": CLEAN})
    assert check_html.scan(root) == []
    assert check_html.main([str(root)]) == 0
    assert "2 pages, no error outputs" in capsys.readouterr().out


@pytest.mark.parametrize("body, kind, text", [
    (TRACEBACK, "traceback", "ValueError                                Traceback (most recent call last)"),
    (WARNING, "stderr", "/x/site-packages/umap/umap_.py:1952: UserWarning: n_jobs value 1 overridden"),
    (SYSTEM, "system message", "System Message: ERROR/3"),
])
def test_each_kind_of_problem_fails_the_build_naming_page_and_line(tmp_path, capsys, body, kind, text):
    root = _book(tmp_path, {"index.html": CLEAN, "book/executed/05.html": CLEAN + body})
    findings = check_html.scan(root)
    assert [(f.page, f.kind) for f in findings] == [("book/executed/05.html", kind)]
    assert findings[0].text == text
    assert check_html.main([str(root)]) == 1
    assert f"book/executed/05.html: {kind}: " in capsys.readouterr().err


def test_a_folder_without_pages_is_an_error(tmp_path):
    with pytest.raises(SystemExit, match="no .html pages"):
        check_html.scan(tmp_path)
