"""The Jupyter Book configuration and the source notebooks follow the book's conventions."""

from __future__ import annotations

import ast
from pathlib import Path

import jupytext
import pytest
import yaml
from sphinx.util.matching import patmatch

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
TOC = yaml.safe_load((REPO / "_toc.yml").read_text())
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.md"))  # MyST markdown notebooks (jupytext)
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
    """The configuration as Jupyter Book itself resolves it for Sphinx: nothing is executed again (papermill ran
    the notebooks), the folders of code, runs and environments are never scanned, and every script the pages load
    is a local file that the vendoring step writes."""
    from jupyter_book.config import get_final_config

    sphinx, _ = get_final_config(user_yaml=REPO / "_config.yml", cli_config={"latex_individualpages": False},
                                 sourcedir=REPO)
    assert sphinx["nb_execution_mode"] == "off"
    for path in (".venv/lib/site.ipynb", "node_modules/x/README.md", "notebooks/00_data.md", "runs/a/b.json",
                 "cache/x.md", "build/nbval/00_data.ipynb", "myosem_core/presets/quick.yaml"):
        assert any(patmatch(path, p) or patmatch(path, p + "/**") for p in sphinx["exclude_patterns"]), path
    local = [sphinx["mathjax_path"], *sphinx["nb_ipywidgets_js"]]
    assert all("://" not in path and not path.startswith("//") for path in local), local
    vendored = (REPO / "scripts/vendor_assets.sh").read_text()
    for path in local:
        assert path.startswith("vendor/") and path.removeprefix("vendor/") in vendored, path


def test_the_notebooks_are_text_only():
    """The MyST files are the only source: no .ipynb copy beside them that could disagree."""
    assert len(NOTEBOOKS) >= 10
    assert not list((REPO / "notebooks").glob("*.ipynb"))


def code_cells(notebook: Path) -> list:
    return [c for c in jupytext.read(notebook).cells if c.cell_type == "code"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_parameters_cell(notebook):
    cell = code_cells(notebook)[0]
    assert "parameters" in cell.metadata.get("tags", []), "first code cell must be tagged 'parameters'"
    source = cell.source
    names = [t.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
             for t in node.targets if isinstance(t, ast.Name)]
    assert names[: len(PARAMETERS)] == PARAMETERS, f"parameters cell assigns {names}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_each_page_opens_with_its_content(notebook):
    """The title comes first; the parameters are folded and the set-up cell's code is hidden in the book."""
    nb = jupytext.read(notebook)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params, setup = code_cells(notebook)[:2]
    assert "hide-cell" in params.metadata.get("tags", [])
    assert "hide-input" in setup.metadata.get("tags", [])
    assert nb.metadata["kernelspec"]["name"] == "myosem"


def _make_dry_run(target: str, args: list[str], script: str) -> str:
    import os
    import subprocess

    # under `make test DATA_DIR=...` the outer make passes its variables down (MAKEFLAGS): leave them out
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "DATA_DIR", "PRESET")}
    # -n prints the commands without running them; -W makes the install stamp look fresh
    out = subprocess.run(["make", "-n", "-W", ".venv/.myosem-installed", target, *args], cwd=REPO, env=env,
                         capture_output=True, text=True, check=True).stdout
    return next(line for line in out.splitlines() if script in line)


@pytest.mark.parametrize("args,preset", [([], "quick"), (["DATA_DIR=/data/db1"], "book"),
                                         (["DATA_DIR=/data/db1", "PRESET=quick"], "quick"), (["PRESET=full"], "full")])
def test_make_book_builds_the_book_preset_on_real_data_and_quick_on_the_synthetic_stand_in(args, preset):
    assert f"--preset {preset} " in _make_dry_run("execute", args, "execute_notebooks.py")


@pytest.mark.parametrize("args,preset", [(["DATA_DIR=/data/db1"], "book"), (["DATA_DIR=/data/db1", "PRESET=full"], "full")])
def test_make_explore_reads_the_runs_make_book_builds(args, preset):
    assert f"--preset {preset} " in _make_dry_run("explore", args, "scripts/explore.py")
