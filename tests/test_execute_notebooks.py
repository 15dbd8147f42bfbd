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
    cpu = info["notebooks_cpu_seconds"]["00_w.ipynb"]
    assert cpu > 0 and f"| {info['notebooks_seconds']['00_w.ipynb']:,.0f} | " in times and "cores busy" in times


def test_cpu_time_counts_the_kernel_and_the_processes_it_starts(tmp_path):
    """A notebook's CPU time is its whole process tree: at least what its kernel and a worker it started used."""
    burn = "import time\nend = time.process_time() + {0}\nwhile time.process_time() < end:\n    pass\n"
    worker = burn.format(3.0) + "print(time.process_time())"  # a worker busier than papermill's own start-up
    busy = write_notebook(tmp_path / "00_busy.ipynb", burn.format(1.0),
                          "import pathlib, subprocess, sys, time\n"
                          f"out = subprocess.run([sys.executable, '-c', {worker!r}], check=True, capture_output=True)\n"
                          f"pathlib.Path({str(tmp_path / 'used')!r}).write_text("
                          "str(time.process_time() + float(out.stdout)))")
    assert ex.main([str(busy), "--out", str(tmp_path / "out")]) == 0
    cpu = json.loads((tmp_path / "out/build_info.json").read_text())["notebooks_cpu_seconds"]["00_busy.ipynb"]
    kernel_and_worker = float((tmp_path / "used").read_text())  # what they measured themselves
    assert kernel_and_worker >= 4.0 and cpu >= kernel_and_worker - 0.1  # 0.1: build_info rounds


def write_myst(path: Path, *cells: str, after: list[str] = ()) -> Path:
    """A MyST notebook like the book's, reading the runs of the notebooks in ``after``."""
    nb = nbformat.read(write_notebook(path.with_suffix(".ipynb"), *cells), as_version=4)
    path.with_suffix(".ipynb").unlink()
    nb.metadata["jupytext"] = {"notebook_metadata_filter": "myosem"}
    nb.metadata["myosem"] = {"after": list(after)}
    jupytext.write(nb, path, fmt="md:myst")
    return path


def test_a_failing_notebook_stops_what_reads_it_and_the_run_fails(tmp_path, capsys):
    first = write_myst(tmp_path / "00_bad.md", "1 / 0")
    reader = write_myst(tmp_path / "01_reader.md", "print('ran')", after=["00_bad"])
    other = write_myst(tmp_path / "02_other.md", "print('independent')")
    assert ex.main([str(first), str(reader), str(other), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "error: 00_bad exited with code" in err and "ZeroDivisionError" in err  # the log's tail
    assert "not run because a notebook they read failed: 01_reader" in err
    ran = nbformat.read(tmp_path / "out/02_other.ipynb", as_version=4)
    assert ran.cells[-1].outputs[0]["text"] == "independent\n"
    assert not nbformat.read(tmp_path / "out/01_reader.ipynb", as_version=4).cells[-1].get("outputs")
    assert not (tmp_path / "out/build_info.md").exists()


def test_two_at_a_time_keeps_the_order_a_notebook_reads(tmp_path):
    """With --jobs 2 a reader starts only after what it reads has finished; its siblings overlap."""
    stamp = ("import os, time, pathlib; assert os.environ['OMP_NUM_THREADS'] == '1'; "  # one core each
             "pathlib.Path('{0}.start').write_text(str(time.time())); time.sleep({1}); "
             "pathlib.Path('{0}.end').write_text(str(time.time()))")
    a = write_myst(tmp_path / "00_a.md", stamp.format(tmp_path / "a", 6))
    b = write_myst(tmp_path / "01_b.md", stamp.format(tmp_path / "b", 0), after=["00_a"])
    c = write_myst(tmp_path / "02_c.md", stamp.format(tmp_path / "c", 0))
    assert ex.main([str(a), str(b), str(c), "--out", str(tmp_path / "out"), "--jobs", "2"]) == 0
    t = {f"{k}.{e}": float((tmp_path / f"{k}.{e}").read_text()) for k in "abc" for e in ("start", "end")}
    assert t["b.start"] >= t["a.end"]  # b reads a's runs: it starts after a has finished
    assert t["c.start"] < t["a.end"]  # c reads nothing: it runs beside a (kernel start-up times vary)
    info = json.loads((tmp_path / "out/build_info.json").read_text())
    assert info["notebooks_at_once"] == 2 and info["wall_seconds"] < info["total_seconds"] + 1
    assert "all notebooks, wall time" in (tmp_path / "out/build_times.md").read_text()


def test_nbval_mode_runs_each_copy_under_nbval(tmp_path, capsys):
    good = write_myst(tmp_path / "00_good.md", "assert seed == 0")
    bad = write_myst(tmp_path / "01_bad.md", "assert seed == 1, 'seed is not 1'")
    assert ex.main([str(good), str(bad), "--out", str(tmp_path / "out"), "--nbval"]) == 1
    err = capsys.readouterr().err
    assert "error: 01_bad exited with code 1" in err and "seed is not 1" in err
    assert "3 passed" in (tmp_path / "out/logs/00_good.log").read_text()  # parameters, injected, the cell
    assert not (tmp_path / "out/build_info.json").exists()  # nbval checks, it does not build the book


def test_set_reaches_every_notebook_and_the_build_note(tmp_path, monkeypatch):
    monkeypatch.delenv("MYOSEM_SET", raising=False)
    src = write_myst(tmp_path / "00_s.md", "from myosem_core.presets import preset_section\n"
                                           "print(preset_section('quick', 'stage2').max_epochs)")
    assert ex.main([str(src), "--out", str(tmp_path / "out"), "--set", "stage2.max_epochs=3"]) == 0
    nb = nbformat.read(tmp_path / "out/00_s.ipynb", as_version=4)
    assert nb.cells[-1].outputs[0]["text"] == "3\n"
    assert "Preset values changed for this build: `stage2.max_epochs=3`" in (tmp_path / "out/build_info.md").read_text()
    with pytest.raises(Exception, match="expected SECTION.FIELD=VALUE"):
        ex.main([str(src), "--out", str(tmp_path / "out2"), "--set", "stage2"])


def test_notebooks_running_at_once_share_one_set_of_grid_workers(tmp_path):
    """Two notebooks that run at once and each ask the grid's pool for workers get the same ``--jobs`` worker
    processes (the build's shared cluster), not ``--jobs`` each; the workers' CPU time is reported."""
    task = ("import os, pathlib, time\n"
            "from myosem_experiments.grid.pool import dask_client\n"
            "def burn():\n"
            "    end = time.process_time() + 1.0\n"
            "    while time.process_time() < end:\n"
            "        pass\n"
            "    return os.getpid()\n"
            "with dask_client(2) as client:\n"
            "    pids = client.gather([client.submit(burn, pure=False) for _ in range(4)])\n"
            "    seen = sorted(client.run(os.getpid).values())\n"
            "pathlib.Path({out!r}).write_text(' '.join(map(str, seen)))")
    books = [write_notebook(tmp_path / f"0{i}_grid.ipynb", task.format(out=str(tmp_path / f"pids{i}")))
             for i in range(2)]
    assert ex.main([*map(str, books), "--out", str(tmp_path / "out"), "--jobs", "2"]) == 0
    pids = [set((tmp_path / f"pids{i}").read_text().split()) for i in range(2)]
    assert len(pids[0]) == 2 and pids[0] == pids[1]  # one cluster of 2 workers, not one per notebook
    info = json.loads((tmp_path / "out/build_info.json").read_text())
    assert info["grid_workers_cpu_seconds"] >= 7.5  # 8 tasks of 1 CPU-s each ran in the shared workers
    assert "shared grid workers" in (tmp_path / "out/build_times.md").read_text()
    # without the shared cluster (one job), each notebook starts its own: the reference this test would catch
    assert ex.main([*map(str, books), "--out", str(tmp_path / "alone"), "--jobs", "1"]) == 0
    alone = [set((tmp_path / f"pids{i}").read_text().split()) for i in range(2)]
    assert not alone[0] & alone[1]
