"""What the notebooks (05, 06) and the grid's command show: the grid's results as comparison tables."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from myosem_core.presets import report_protocols, report_seeds

from ..report import DIRECTIONS, comparison_table, reading
from .results import current_results, experiment_folder
from .rows import MODELS, NEW_USER_PROTOCOLS, PROTOCOLS, TABLES
from .runner import run_experiments


def experiment_tables(results: list[dict], protocols=PROTOCOLS, seeds=None, preset: str = "quick",
                      names=None) -> dict:
    """``{(table, direction): ComparisonTable}`` of the tables ``names`` (default: all of :data:`TABLES`)."""
    n_seeds = len(report_seeds(preset) if seeds is None else seeds)
    labels = {k: s.label for k, s in MODELS.items()}
    tag = " [SYNTHETIC data]" if any(r.get("synthetic") for r in results) else ""
    columns = [c for p in protocols for c in ((p, "class-heldout") if p == "class" else (p,))]
    skipped = [(m, p) for m, spec in MODELS.items() for p in protocols if not spec.runs_on(p)]
    return {(name, d): comparison_table(results, TABLES[name].models, columns, d, labels=labels, n_seeds=n_seeds,
                                        title=f"{TABLES[name].title} — {DIRECTIONS[d]}{tag}", not_applicable=skipped)
            for name in (names or TABLES) for d in DIRECTIONS}


def new_user_protocols(protocols) -> list[str]:
    """The ``user`` protocol's new-user settings as grid protocols (``user-nothing`` ...), wherever ``protocols``
    report ``user``. Every trained network (MyoSem's stages, the deep rows, the pose and AEMG encoders) is read
    back from the runs ``user`` stores; what is not stored (LDA, the random forest, the linear heads on frozen
    encoders) is fitted again for each setting."""
    return list(NEW_USER_PROTOCOLS) if "user" in protocols else []


def timing_table(results: list[dict], models):
    """Mean training seconds per model (rows) and protocol (columns) as recorded in the results.

    MyoSem-family rows sum their Stage-2 and Stage-3 epochs (Stage 1 and a Stage 2
    shared with other rows are counted in each); baselines time their ``fit``.
    A machine shared with other jobs inflates all of them: compare within a column,
    and see ``benchmarks/bench_baselines.py`` for controlled ratios.
    """
    import pandas as pd

    rows = [{"model": MODELS[r["model"]].label, "protocol": r["protocol"], "seconds": r.get("train_seconds")}
            for r in results if r["model"] in models and r.get("train_seconds") is not None]
    if not rows:
        return pd.DataFrame()
    t = pd.DataFrame(rows).pivot_table(index="model", columns="protocol", values="seconds", aggfunc="mean")
    return t.reindex([MODELS[m].label for m in models if MODELS[m].label in t.index]).round(1)


@dataclass
class ExperimentView:
    """What a notebook shows: the results of its protocols and seeds, and their tables."""

    results: list[dict]
    tables: dict
    protocols: list[str]
    seeds: list[int]
    folder: Path


def notebook_experiments(names, preset: str = "quick", dataset: str = "synthetic", data_dir: str | None = None,
                         run_dir: str | Path | None = None, protocols=None, seeds=None,
                         progress: bool = True) -> ExperimentView:
    """Run (or reuse) the models of tables ``names`` on the protocols and seeds the preset reports (its ``report``
    section, unless given) and build those tables, as notebooks 05 and 06 do."""
    protocols = list(protocols or report_protocols(preset))
    seeds = list(report_seeds(preset) if seeds is None else seeds)
    models = list(dict.fromkeys(m for n in names for m in TABLES[n].models))
    # one bar over the grid, not every training's bars: in a notebook each bar update is a widget message,
    # and nbval reads a cell's messages only once the cell ends - past ZMQ's 1000-message buffer they are
    # dropped, the kernel's final 'idle' among them, and nbval fails the cell ("waiting for output")
    run_experiments(models, protocols, seeds, preset, dataset, data_dir, run_dir, progress, model_progress=False)
    folder = experiment_folder(preset, dataset, data_dir, run_dir)
    results = [r for r in current_results(folder, models, preset, dataset, data_dir)
               if r["seed"] in set(seeds) and r["protocol"] in set(protocols)]
    return ExperimentView(results, experiment_tables(results, protocols, seeds, preset, names), protocols, seeds,
                          folder)


def tables_markdown(tables: dict, ours: str = "myosem") -> str:
    parts = []
    for t in tables.values():
        parts += [t.to_markdown(), "", *[f"- {s}" for s in reading(t, ours)], ""]
    return "\n".join(parts)
