"""The Jupyter Book configuration and the source notebooks follow the book's conventions."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml
from sphinx.util.matching import patmatch

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
TOC = yaml.safe_load((REPO / "_toc.yml").read_text())
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
PARAMETERS = ["dataset", "data_dir", "protocol", "preset", "seed", "run_dir"]


def toc_entries(node) -> list[dict]:
    """Every chapter/section entry of the table of contents, depth first."""
    found = []
    for key in ("parts", "chapters", "sections"):
        for entry in node.get(key, []):
            found.append(entry)
            found.extend(toc_entries(entry))
    return found


def test_toc_files_exist():
    files = [TOC["root"]] + [e["file"] for e in toc_entries(TOC) if "file" in e]
    for name in files:
        assert any((REPO / f"{name}{suffix}").is_file() for suffix in ("", ".md", ".ipynb")), name


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_lands_in_exactly_one_toc_part(notebook):
    globs = [e["glob"] for e in toc_entries(TOC) if "glob" in e]
    docname = f"book/executed/{notebook.stem}"
    matches = [g for g in globs if patmatch(docname, g)]
    assert len(matches) == 1, f"{notebook.name} matches toc globs {matches}"


def test_toc_globs_point_at_executed_notebooks():
    globs = [e["glob"] for e in toc_entries(TOC) if "glob" in e]
    assert globs and all(g.startswith("book/executed/") for g in globs)


def test_book_does_not_execute_and_renders_offline():
    assert CONFIG["execute"]["execute_notebooks"] == "off"  # papermill already ran them
    assert CONFIG["only_build_toc_files"] is True
    for heavy in (".venv", "node_modules", "notebooks", "build", "runs", "cache"):
        assert heavy in CONFIG["exclude_patterns"], f"Sphinx would scan {heavy}/"
    sphinx = CONFIG["sphinx"]["config"]
    local = [sphinx["mathjax_path"], *sphinx["nb_ipywidgets_js"]]
    assert all("://" not in path and not path.startswith("//") for path in local), local
    vendored = (REPO / "scripts/vendor_assets.sh").read_text()
    for path in local:
        assert path.startswith("vendor/") and path.removeprefix("vendor/") in vendored, path


def first_code_cell(nb: dict) -> dict:
    return next(c for c in nb["cells"] if c["cell_type"] == "code")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_parameters_cell(notebook):
    nb = json.loads(notebook.read_text())
    cell = first_code_cell(nb)
    assert "parameters" in cell["metadata"].get("tags", []), "first code cell must be tagged 'parameters'"
    source = "".join(cell["source"])
    names = [t.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)]
    assert names[: len(PARAMETERS)] == PARAMETERS, f"parameters cell assigns {names}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_committed_without_outputs(notebook):
    nb = json.loads(notebook.read_text())
    dirty = [i for i, c in enumerate(nb["cells"])
             if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))]
    assert not dirty, f"cells {dirty} keep outputs; clear them before committing"
