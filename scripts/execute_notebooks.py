"""Execute the book's notebooks in reading order into executed copies.

Usage (the Makefile calls it; see ``make book`` and ``make test``)::

    python scripts/execute_notebooks.py --out book/executed --preset full [--data-dir DIR]
    python scripts/execute_notebooks.py --out build/nbval --preset quick --data-dir DIR --prepare-only

The notebooks' source of truth is text: every ``notebooks/NN_*.md`` (MyST
markdown notebooks, read with jupytext; or the ones named on the command line,
``.md`` or ``.ipynb``) becomes ``--out/NN_*.ipynb`` through papermill, which
injects the parameters ``preset``, ``seed``, ``dataset``, ``data_dir`` and
``run_dir`` after the cell tagged ``parameters``. The injected cell holds this
machine's absolute paths, so the executed copy tags it ``remove-cell``: the
book does not show it (the page's build note says what the book was built on).
``--data-dir`` selects the real data (``dataset="ninapro-db1"`` unless
``--dataset`` says otherwise); without it the notebooks run on the embedded
synthetic generator (``dataset="synthetic"``).

With ``--prepare-only`` the copies are only parameterised, not run. Otherwise every
copy is run in its own process, papermill in place (``make book``) or under nbval
(``--nbval``, ``make test``), ``--jobs`` at a time (default ``$MYOSEM_JOBS``):
a notebook starts once the notebooks named in its front matter ``myosem.after``
have finished (``scripts/notebook_order.py``), so independent chapters train side
by side and no run is trained twice at once. Each run's output goes to
``--out/logs/NN_slug.log``; a notebook that fails prints the log's tail, keeps its
traceback in the copy, stops the notebooks that read it, and makes the script
exit non-zero. A full execution also writes ``build_info.md`` / ``build_info.json``
into ``--out``: which dataset, preset, seed and commit the book was built from (the
introduction includes the .md), and ``build_times.md`` (the scale page's table).

Widget state: papermill's notebook client is nbclient's ``NotebookClient``,
whose ``store_widget_state`` is on by default; papermill calls
``set_widgets_metadata()`` after the last cell, so every executed copy carries
``metadata.widgets["application/vnd.jupyter.widget-state+json"]`` and myst-nb
embeds it in the HTML (the widgets render without a kernel). The script checks
this: a copy whose outputs show a widget but whose metadata has no state fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import jupytext
import nbformat
import papermill as pm
from tqdm import tqdm

from myosem_core.io import write_json, write_text
from myosem_core.presets import OVERRIDES_ENV, active_overrides, preset_names

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_order import read_prerequisites, run_graph, start_order  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_GLOB = "[0-9][0-9]_*.md"
EXECUTED_GLOB = "[0-9][0-9]_*.ipynb"
KERNEL = "myosem"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def find_notebooks(folder: Path = REPO / "notebooks") -> list[Path]:
    """The source notebooks ``NN_slug.md`` in reading (numeric) order."""
    return sorted(folder.glob(NOTEBOOK_GLOB))


def executed_name(source: Path) -> str:
    """The executed copy's file name: ``NN_slug.ipynb`` for ``NN_slug.md``."""
    return source.with_suffix(".ipynb").name


def read_source(source: Path) -> nbformat.NotebookNode:
    """A source notebook (MyST markdown via jupytext, or ``.ipynb``) as a notebook without outputs."""
    nb = jupytext.read(source)
    nb.metadata.pop("jupytext", None)  # the executed copy is a plain notebook, not paired with the text file
    nbformat.validator.normalize(nb)
    return nb


def hide_injected_parameters(target: Path) -> None:
    """Tag papermill's injected cell ``remove-cell`` in the copy at ``target`` (it holds absolute paths)."""
    nb = nbformat.read(target, as_version=4)
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]
    nbformat.write(nb, target)


def make_parameters(preset: str, seed: int, data_dir: str | None = None, dataset: str | None = None,
                    run_dir: str | None = None) -> dict:
    """The values injected into every notebook; relative folders become absolute."""
    if data_dir is not None:
        folder = Path(data_dir).expanduser().resolve()
        if not folder.is_dir():
            raise SystemExit(f"error: data folder {data_dir!r} does not exist (resolved to {folder}); "
                             "pass the folder holding the dataset files, e.g. ../shared/data/ninapro-db1")
        data_dir = str(folder)
    return {
        "dataset": dataset or ("ninapro-db1" if data_dir else "synthetic"),
        "data_dir": data_dir,
        "preset": preset,
        "seed": seed,
        "run_dir": str(Path(run_dir).expanduser().resolve()) if run_dir else None,
    }


def shows_widget(nb: nbformat.NotebookNode) -> bool:
    """Whether any output of the notebook is a widget view."""
    return any(WIDGET_VIEW in out.get("data", {})
               for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", []))


def has_widget_state(nb: nbformat.NotebookNode) -> bool:
    """Whether the notebook metadata embeds the widgets' state."""
    return bool(nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state"))


def prepare(source: Path, target: Path, parameters: dict, kernel: str = KERNEL) -> None:
    """A copy of ``source`` at ``target`` with ``parameters`` injected, not executed."""
    pm.execute_notebook(read_source(source), str(target), parameters=parameters, prepare_only=True,
                        kernel_name=kernel, progress_bar=False)
    hide_injected_parameters(target)


def papermill_command(target: Path, cwd: Path, kernel: str = KERNEL) -> list[str]:
    """Execute the prepared copy ``target`` in place with papermill (kernel started in ``cwd``)."""
    return [sys.executable, "-m", "papermill", str(target), str(target), "--kernel", kernel, "--cwd", str(cwd),
            "--progress-bar"]


def nbval_command(target: Path, kernel: str = KERNEL) -> list[str]:
    """Run the prepared copy ``target`` under nbval (lax: outputs are not compared, errors fail)."""
    return [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-kernel-name", kernel,
            "--nbval-cell-timeout", "1800", "-p", "no:cacheprovider", "--durations=5", str(target)]


NATIVE_THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def notebook_env(jobs: int, overrides: str = "") -> dict[str, str]:
    """The environment of each notebook's process (its kernel inherits it).

    With several notebooks at once, each gets one thread per native pool (torch's OpenMP, BLAS): a notebook
    that leaves torch at its default (one thread per core) beside another busy one spends its time in
    spin-waits (Stage 1 took minutes longer that way). Alone, a notebook keeps the defaults.
    """
    env = dict(os.environ)
    if overrides:  # every preset read in the kernel and its workers applies them (myosem_core.presets)
        env[OVERRIDES_ENV] = overrides
    if jobs > 1:
        env.update({name: "1" for name in NATIVE_THREADS})
    return env


@contextlib.contextmanager
def shared_grid_workers(jobs: int, env: dict[str, str]):
    """One local Dask cluster of ``jobs`` workers for the whole run, its address in ``env`` as
    ``$MYOSEM_SCHEDULER``: notebooks running at once then share these workers (the grid's units of 03, 05 and 06
    queue for them), instead of each starting ``jobs`` of its own and running more trainings than there are
    cores. Yields a function that returns the CPU seconds its workers have used. A scheduler already named in
    ``env`` (``make book SCHEDULER=...``) is used as it is, and one job needs no cluster."""
    from myosem_experiments.grid.pool import SCHEDULER_ENV, local_cluster

    if jobs < 2 or env.get(SCHEDULER_ENV):
        yield lambda: None
        return
    import psutil

    threads = {k: env[k] for k in NATIVE_THREADS if k in env}
    with local_cluster(jobs, threads) as cluster:
        env[SCHEDULER_ENV] = cluster.scheduler_address

        def cpu_seconds() -> float:
            procs = psutil.Process().children(recursive=True)  # between notebooks: only the cluster's workers
            return sum(t.user + t.system for t in (p.cpu_times() for p in procs if p.is_running()))

        try:
            yield cpu_seconds
        finally:
            env.pop(SCHEDULER_ENV, None)


def run_measured(cmd: list[str], log, env: dict[str, str]) -> tuple[int, float | None]:
    """Run ``cmd`` (output to ``log``); return its exit code and the CPU seconds (user + system) of the
    process and every descendant it waited for: the kernel and the kernel's grid workers.

    ``None`` where the platform has no ``os.wait4``.
    """
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=env, stdin=subprocess.DEVNULL)
    if not hasattr(os, "wait4"):
        return proc.wait(), None
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: Popen must not wait for it again
    return proc.returncode, usage.ru_utime + usage.ru_stime


def cpu_summary(cpu_seconds: float, wall: float, cores: int) -> str:
    """``"2,311 CPU-s, 1.97 of 2 cores busy on average"``: how much of the machine the notebooks used."""
    return f"{cpu_seconds:,.0f} CPU-s, {cpu_seconds / max(wall, 1e-9):.2f} of {cores} cores busy on average"


def check_executed(target: Path) -> str | None:
    """Why the executed copy at ``target`` is not fit for the book, or None."""
    nb = nbformat.read(target, as_version=4)
    if shows_widget(nb) and not has_widget_state(nb):
        return f"{target} shows widgets but no widget state was saved; its widgets would render blank in the book"
    return None


def log_tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else ""


def git_commit() -> str:
    """The checked-out commit (with ``-dirty`` when the tree has changes), or ``unknown``."""
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=REPO,
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_info() -> dict:
    """The machine a build ran on: CPU model and count, torch and its device, the 1-minute load average."""
    import platform

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                   if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cpus": os.cpu_count(), "torch": torch.__version__,
            "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
            "python": platform.python_version(), "load_avg_1min": round(os.getloadavg()[0], 2)}


def build_times_markdown(info: dict) -> str:
    """The scale page's table of this build's own wall time per notebook, with machine and load."""
    m, secs = info["machine"], info["notebooks_seconds"]
    start, end = info["load_avg_1min_start"], m["load_avg_1min"]
    shared = "other work shared the machine" if max(start, end) >= 1.5 else "the machine was otherwise idle"
    lines = [f"This build: preset `{info['preset']}`, data `{info['dataset']}`, seed {info['seed']}, commit "
             f"`{info['commit']}`, {info['built_utc']}, on {m['cpus']} CPU(s) ({m['cpu']}), device `{m['device']}`, "
             f"torch {m['torch']}, `JOBS={info['jobs']}`. 1-minute load average {start} when it started and {end} "
             f"when it ended ({shared}). Wall time of each notebook's execution (papermill; up to "
             f"{info.get('notebooks_at_once', 1)} notebooks at once, each after the notebooks whose runs it reads, "
             "so the times overlap), with the runs folder it started from (`empty` = everything trained in this "
             "build), and its CPU time (the notebook's kernel and the worker processes it started, user + "
             "system)" + ("; the grid's work units of every notebook ran on the build's shared workers, whose CPU "
                          "time is a row of its own" if info.get("grid_workers_cpu_seconds") is not None else "")
             + ":", "",
             "| notebook | wall time (s) | wall time (min) | CPU time (s) |", "| --- | ---: | ---: | ---: |"]
    cpu = info.get("notebooks_cpu_seconds") or {}

    def cpu_cell(value) -> str:
        return f"{value:,.0f}" if value is not None else "n/a"

    lines += [f"| {name} | {sec:,.0f} | {sec / 60:.1f} | {cpu_cell(cpu.get(name))} |" for name, sec in sorted(secs.items())]
    grid = info.get("grid_workers_cpu_seconds")
    if grid is not None:
        lines += [f"| shared grid workers ({info['jobs']}) | | | {cpu_cell(grid)} |"]
    total = sum(secs.values())
    wall = info.get("wall_seconds", total)
    complete = bool(secs) and all(name in cpu for name in secs)
    used = sum(cpu.values()) + (grid or 0)
    lines += [f"| sum over notebooks | {total:,.0f} | {total / 60:.1f} | "
              f"{cpu_cell(used if complete else None)} |",
              f"| **all notebooks, wall time** | **{wall:,.0f}** | **{wall / 60:.1f}** | |", ""]
    if complete:
        lines += [f"The notebooks used {cpu_summary(used, wall, m['cpus'])}: where that is close to "
                  "every core, the build's time follows its total CPU work, and only less work (not another order) "
                  "makes it faster.", ""]
    lines += [f"Runs folder at the start: {info['runs_at_start']}. Installs are not included."]
    return "\n".join(lines) + "\n"


def runs_state(run_dir: str | None) -> str:
    """``empty`` or how many run folders a build starts from (cached runs make a build faster)."""
    from myosem_core.paths import runs_root

    root = runs_root(run_dir)
    n = sum(1 for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")) if root.is_dir() else 0
    return "empty" if n == 0 else f"{n} cached run folder(s) in `{root.name}/` (not a cold build)"


def write_build_info(out: Path, parameters: dict, timings: dict[str, float], load_start: float = float("nan"),
                     runs_at_start: str = "unknown", wall: float | None = None, jobs: int = 1,
                     overrides: str = "", cpu: dict[str, float] | None = None,
                     grid_workers_cpu: float | None = None) -> None:
    """``build_info.json`` (machine-readable), ``build_info.md`` (the introduction includes it) and
    ``build_times.md`` (the scale page includes it)."""
    info = {
        "dataset": parameters["dataset"],
        "data_dir": parameters["data_dir"],
        "preset": parameters["preset"],
        "seed": parameters["seed"],
        "commit": git_commit(),
        "built_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "notebooks_seconds": {name: round(sec, 1) for name, sec in timings.items()},
        "notebooks_cpu_seconds": {name: round(sec, 1) for name, sec in (cpu or {}).items()},
        "grid_workers_cpu_seconds": None if grid_workers_cpu is None else round(grid_workers_cpu, 1),
        "total_seconds": round(sum(timings.values()), 1),
        "wall_seconds": round(sum(timings.values()) if wall is None else wall, 1), "notebooks_at_once": jobs,
        "machine": machine_info(), "load_avg_1min_start": round(load_start, 2),
        "jobs": os.environ.get("MYOSEM_JOBS", "1"), "runs_at_start": runs_at_start, "overrides": overrides,
    }
    synthetic = info["dataset"] == "synthetic"
    what = ("the **synthetic** generator embedded in `myosem_core` (no real recordings were used; "
            "every number and figure in this build is synthetic)" if synthetic
            else f"the real dataset **{info['dataset']}** (folder `{Path(info['data_dir']).name}`)")
    lines = [
        ":::{admonition} This build" if not synthetic else ":::{warning}",
        f"This copy of the book was executed on {what}, with preset `{info['preset']}` and seed "
        f"`{info['seed']}`, from commit `{info['commit']}` on {info['built_utc']}."
        + (f" Preset values changed for this build: `{info['overrides']}`." if info["overrides"] else ""),
        ":::",
        "",
    ]
    write_json(out / "build_info.json", info)
    write_text(out / "build_info.md", "\n".join(lines))
    write_text(out / "build_times.md", build_times_markdown(info))


def remove_stale(out: Path, sources: list[Path]) -> None:
    """Drop executed copies whose source notebook no longer exists (renamed or deleted)."""
    names = {executed_name(s) for s in sources}
    for old in out.glob(EXECUTED_GLOB):
        if old.name not in names:
            old.unlink()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("notebooks", nargs="*", type=Path, help="source notebooks (default: notebooks/NN_*.md)")
    ap.add_argument("--out", type=Path, required=True, help="folder for the parameterised / executed copies")
    ap.add_argument("--preset", default="full", choices=preset_names(),
                    help="a preset file, myosem_core/presets/<name>.yaml")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=None, help="dataset folder; omitted -> synthetic data")
    ap.add_argument("--dataset", default=None, help="dataset name (default: ninapro-db1 with --data-dir)")
    ap.add_argument("--run-dir", default=None, help="where runs are stored (default: $MYOSEM_RUNS or <repo>/runs)")
    ap.add_argument("--kernel", default=KERNEL)
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("MYOSEM_JOBS", "1") or 1),
                    help="notebooks run at once, each after the ones it reads (default: $MYOSEM_JOBS or 1)")
    ap.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                    help="change a preset value for every notebook, e.g. stage2.max_epochs=30 (repeatable)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--prepare-only", action="store_true", help="inject parameters, do not execute")
    mode.add_argument("--nbval", action="store_true", help="run each prepared copy under nbval (make test)")
    args = ap.parse_args(argv)

    sources = [n.resolve() for n in args.notebooks] or find_notebooks()
    missing = [str(n) for n in sources if not n.is_file()]
    if missing:
        raise SystemExit(f"error: notebook(s) not found: {', '.join(missing)}")
    params = make_parameters(args.preset, args.seed, args.data_dir, args.dataset, args.run_dir)
    overrides = ";".join(filter(None, [os.environ.get(OVERRIDES_ENV, ""), *args.set]))
    active_overrides(overrides)  # a malformed --set fails here, before any notebook starts
    after = read_prerequisites(sources)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.notebooks:
        remove_stale(args.out, sources)
    verb = "preparing" if args.prepare_only else "testing (nbval)" if args.nbval else "executing"
    print(f"{verb} {len(sources)} notebook(s) -> {args.out}, {args.jobs} at a time: "
          + ", ".join(f"{k}={v!r}" for k, v in params.items()), flush=True)
    by_stem = {s.stem: s for s in sources}
    for source in sources:
        prepare(source, args.out / executed_name(source), params, args.kernel)
    if args.prepare_only:
        return 0

    logs = args.out / "logs"
    logs.mkdir(exist_ok=True)
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}  # CPU seconds of each notebook's process tree (kernel and grid workers)
    problems: dict[str, str] = {}
    load_start, runs_at_start, wall_start = os.getloadavg()[0], runs_state(args.run_dir), time.perf_counter()
    bar = tqdm(total=len(sources), unit="notebook", desc=verb, file=sys.stdout)
    env = notebook_env(args.jobs, overrides)

    def run(stem: str) -> bool:
        source, target = by_stem[stem], args.out / executed_name(by_stem[stem])
        cmd = nbval_command(target, args.kernel) if args.nbval else papermill_command(target, source.parent,
                                                                                      args.kernel)
        start = time.perf_counter()
        with open(logs / f"{stem}.log", "w") as log:
            code, cpu_seconds = run_measured(cmd, log, env)
        timings[target.name] = time.perf_counter() - start
        if cpu_seconds is not None:
            cpu[target.name] = cpu_seconds
        if code != 0:
            problems[stem] = f"exited with code {code}"
        elif not args.nbval and (why := check_executed(target)):
            problems[stem] = why
        return stem not in problems

    def started(stem: str) -> None:
        bar.write(f"== {stem} started")

    def ended(stem: str, ok: bool) -> None:
        bar.write(f"   {stem}: {'ok' if ok else 'FAILED'} in {timings[executed_name(by_stem[stem])]:.0f} s")
        bar.update()

    with shared_grid_workers(args.jobs, env) as workers_cpu:
        result = run_graph(start_order(sources), after, run, args.jobs, started, ended)
        grid_cpu = workers_cpu()
    bar.close()
    wall = time.perf_counter() - wall_start
    for stem, ok in result.items():
        if ok is False:
            print(f"---- last lines of {logs / (stem + '.log')}:\n{log_tail(logs / (stem + '.log'))}\n"
                  f"error: {stem} {problems[stem]}; the executed copy is {args.out / executed_name(by_stem[stem])}, "
                  f"the whole log {logs / (stem + '.log')}", file=sys.stderr)
    skipped = [stem for stem, ok in result.items() if ok is None]
    if skipped:
        print(f"error: not run because a notebook they read failed: {', '.join(skipped)}", file=sys.stderr)
    if any(ok is not True for ok in result.values()):
        return 1
    used = (f"; {cpu_summary(sum(cpu.values()) + (grid_cpu or 0), wall, os.cpu_count() or 1)}"
            if len(cpu) == len(timings) else "")
    print(f"{len(sources)} notebook(s) in {wall:.0f} s wall time ({sum(timings.values()):.0f} s summed over "
          f"notebooks, {args.jobs} at a time{used})", flush=True)
    if not args.nbval:
        write_build_info(args.out, params, timings, load_start, runs_at_start, wall, args.jobs, overrides, cpu,
                         grid_cpu)
    return 0


if __name__ == "__main__":
    sys.exit(main())
