"""scripts/execute_notebooks.py: parameters, executed copies with widget state, failures stop the run."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import jupytext
import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("execute_notebooks", REPO / "scripts/execute_notebooks.py")
ex = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ex)


def write_notebook(path: Path, *cells: str) -> Path:
    """A notebook with the book's parameters cell followed by ``cells``."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('dataset = "synthetic"\ndata_dir = None\nprotocol = "rand"\n'
                                       'preset = "quick"\nseed = 0\nrun_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_data_dir_selects_real_dataset_with_absolute_path(tmp_path, monkeypatch):
    (tmp_path / "db1").mkdir()
    monkeypatch.chdir(tmp_path)
    p = ex.make_parameters("quick", 3, data_dir="db1")
    assert p == {"dataset": "ninapro-db1", "data_dir": str(tmp_path / "db1"), "preset": "quick",
                 "seed": 3, "run_dir": None}
    assert ex.make_parameters("full", 0)["dataset"] == "synthetic"
    assert ex.make_parameters("full", 0)["data_dir"] is None


def test_missing_data_dir_is_one_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="data folder .*nowhere.* does not exist"):
        ex.make_parameters("quick", 0, data_dir=tmp_path / "nowhere")


def test_notebooks_are_found_in_numeric_order(tmp_path):
    for name in ("10_b.md", "02_a.md", "notes.md", "01_c.md", "03_old.ipynb"):
        (tmp_path / name).write_text("")
    assert [p.name for p in ex.find_notebooks(tmp_path)] == ["01_c.md", "02_a.md", "10_b.md"]


def test_a_myst_notebook_becomes_an_ipynb_copy_without_this_machines_paths_in_the_book(tmp_path):
    src = write_notebook(tmp_path / "00_x.ipynb", "print(seed * 2)")
    md = tmp_path / "src" / "00_x.md"
    md.parent.mkdir()
    jupytext.write(nbformat.read(src, as_version=4), md, fmt="md:myst")
    assert ex.main([str(md), "--out", str(tmp_path / "out"), "--preset", "quick", "--seed", "21"]) == 0
    nb = nbformat.read(tmp_path / "out/00_x.ipynb", as_version=4)
    assert "jupytext" not in nb.metadata
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "remove-cell" in injected[0].metadata.tags
    assert nb.cells[-1].outputs[0]["text"] == "42\n"
    assert (tmp_path / "out/build_info.json").is_file()


def test_prepare_only_injects_parameters_without_running(tmp_path):
    src = write_notebook(tmp_path / "00_x.ipynb", "raise RuntimeError('must not run')")
    (tmp_path / "data").mkdir()
    assert ex.main([str(src), "--out", str(tmp_path / "out"), "--preset", "quick",
                    "--data-dir", str(tmp_path / "data"), "--prepare-only"]) == 0
    nb = nbformat.read(tmp_path / "out/00_x.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert f'data_dir = "{tmp_path / "data"}"' in injected[0].source
    assert 'dataset = "ninapro-db1"' in injected[0].source
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert not (tmp_path / "out/build_info.md").exists()


def test_execution_saves_widget_state_and_build_info(tmp_path):
    src = write_notebook(tmp_path / "00_w.ipynb",
                         "import ipywidgets as w\nw.IntSlider(value=seed + 4, description='s')")
    assert ex.main([str(src), "--out", str(tmp_path / "out"), "--preset", "quick", "--seed", "3"]) == 0
    nb = nbformat.read(tmp_path / "out/00_w.ipynb", as_version=4)
    assert ex.shows_widget(nb) and ex.has_widget_state(nb)
    state = nb.metadata.widgets[ex.WIDGET_STATE]["state"]
    assert [m["state"]["value"] for m in state.values() if m["model_name"] == "IntSliderModel"] == [7]
    info = json.loads((tmp_path / "out/build_info.json").read_text())
    assert (info["dataset"], info["preset"], info["seed"]) == ("synthetic", "quick", 3)
    assert "**synthetic**" in (tmp_path / "out/build_info.md").read_text()
    times = (tmp_path / "out/build_times.md").read_text()  # the scale page's table of this build
    assert f"| 00_w.ipynb | {info['notebooks_seconds']['00_w.ipynb']:,.0f} |" in times
    assert info["machine"]["cpus"] >= 1 and f"on {info['machine']['cpus']} CPU(s)" in times
    assert "load average" in times and "Runs folder at the start" in times


def test_a_failing_notebook_stops_the_run(tmp_path, capsys):
    first = write_notebook(tmp_path / "00_bad.ipynb", "1 / 0")
    second = write_notebook(tmp_path / "01_next.ipynb", "print('ran')")
    assert ex.main([str(first), str(second), "--out", str(tmp_path / "out")]) == 1
    assert "00_bad.ipynb failed" in capsys.readouterr().err
    assert not (tmp_path / "out/01_next.ipynb").exists()
    assert not (tmp_path / "out/build_info.md").exists()
