"""The ``user`` protocol's quality bar: MyoSem against LDA on people it never saw.

    python -m myosem_experiments.evaluation.user_bar --data-dir ../shared/data/ninapro-db1 --seeds 0 1 2

The bar (train S1-S4, S7-S16; test S17-S20): MyoSem's EMG->text R@1 and R@3 above
LDA on per-channel log MAV/RMS/WL/VAR on the same windows. The setting was chosen
on a development split inside the training subjects (``scripts/user_dev_selection.py``:
train S1-S4, S7-S12, test S13-S16), never on S17-S20:

- per-subject gain calibration of every model's windows (:mod:`myosem_core.data.calibration`;
  it reads each user's unlabeled windows, so it is named as transductive), and
- early stopping on whole training subjects (S15, S16) instead of their repetition 10,
  with the ``quick`` model sizes (the larger ``full`` encoder generalises worse across people
  on the development split).

Each setting is scored against two LDA anchors: LDA fitted on the same training windows
as MyoSem (S15, S16 held out for validation), and LDA fitted on every training subject
(nothing to validate, so it may use S15 and S16 too) - the stronger of the two.
Writes ``<runs>/user-quality-bar-<dataset>-seeds<K-...>.json``. Notebook 03 shows the same table.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np

from myosem_core.io import write_json
from myosem_core.paths import runs_root
from myosem_core.presets import make_config

#: setting name -> (``DataConfig.subject_calibration``, number of whole training subjects validated on:
#: the protocol's last ones, S15 and S16 on DB1)
BAR_SETTINGS = {
    "calibrated on all windows, subject validation": (True, 2),
    "calibrated on repetition 1, subject validation": ({"repetitions": [1]}, 2),
}
BAR_PRESET = "quick"
METRICS = ("R@1", "R@3", "MRR")


def _row(setting: str, seed: int, model: str, result: dict) -> dict:
    e, t = result["emg_to_text"], result["text_to_emg"]
    return {"setting": setting, "seed": seed, "model": model, **{f"E→T {k}": float(e[k]) for k in METRICS},
            "T→E R@1": float(t["R@1"]), "n_test": int(result["n_test"])}


def run_user_bar(dataset: str = "ninapro-db1", data_dir: str | None = None, seeds=(0,), runs=None,
                 settings=None, progress: bool = True, jobs: int | None = None) -> list[dict]:
    """One row per (setting, seed, model): MyoSem, LDA on its training windows, LDA on every training subject.

    Each (setting, seed) is a task on the grid's workers (``jobs``, default ``$MYOSEM_JOBS``, or the cluster of
    ``$MYOSEM_SCHEDULER``: :func:`myosem_experiments.grid.pool.map_on_workers`); the rows do not depend on it."""
    from myosem_core.prepare import load_data

    from ..grid.pool import map_on_workers

    names = list(settings or BAR_SETTINGS)
    for name in names:  # each setting's window cache once here, not in several tasks at once
        load_data(_bar_config(name, seeds[0], dataset, data_dir), "user", progress)
    calls = [(name, seed, dataset, data_dir, runs, False) for name in names for seed in seeds]  # no bars from tasks
    return [row for rows in map_on_workers(_setting_rows, calls, jobs) for row in rows]


def _bar_config(name: str, seed: int, dataset: str, data_dir):
    """The bar's preset with the setting's per-subject calibration."""
    cfg = make_config(BAR_PRESET, dataset, data_dir, seed)
    return replace(cfg, data=replace(cfg.data, subject_calibration=BAR_SETTINGS[name][0]))


def _setting_rows(name: str, seed: int, dataset: str, data_dir, runs, progress: bool) -> list[dict]:
    """The three rows of one setting and seed."""
    from myosem_core.data.protocols import default_train_subjects
    from myosem_core.prepare import load_data

    from ..grid import run_experiment
    from ..pipeline import run_myosem

    cfg = _bar_config(name, seed, dataset, data_dir)
    ws, _ = load_data(cfg, "user", progress)
    val_subjects = default_train_subjects(ws)[-BAR_SETTINGS[name][1]:]
    out = run_myosem(cfg, "user", runs=runs, split_options={"val_subjects": val_subjects}, progress=progress,
                     query=False)
    every = run_experiment("lda", "user", seed, cfg.preset, dataset, data_dir, runs, progress=progress,
                           data=cfg.data)
    return [{**_row(name, seed, "MyoSem", out.results["myosem"]), "val_subjects": val_subjects},
            _row(name, seed, "LDA, same training windows", out.results["lda"]),
            _row(name, seed, "LDA, every training subject", every)]


def bar_verdicts(rows: list[dict]) -> list[dict]:
    """Per setting and LDA anchor: seed means and whether MyoSem's R@1 and R@3 are both above."""
    out = []
    for setting in dict.fromkeys(r["setting"] for r in rows):
        mine = [r for r in rows if r["setting"] == setting and r["model"] == "MyoSem"]
        for anchor in ("LDA, same training windows", "LDA, every training subject"):
            theirs = [r for r in rows if r["setting"] == setting and r["model"] == anchor]
            if not mine or not theirs:
                continue
            mean = {m: (float(np.mean([r[f"E→T {m}"] for r in mine])), float(np.mean([r[f"E→T {m}"] for r in theirs])))
                    for m in ("R@1", "R@3")}
            by_seed = {r["seed"]: r for r in theirs}
            seeds_above = sum(r["E→T R@1"] > by_seed[r["seed"]]["E→T R@1"] and r["E→T R@3"] > by_seed[r["seed"]]["E→T R@3"]
                              for r in mine if r["seed"] in by_seed)
            out.append({"setting": setting, "anchor": anchor, "seeds": len(mine),
                        **{f"MyoSem {m}": a for m, (a, _) in mean.items()},
                        **{f"LDA {m}": b for m, (_, b) in mean.items()},
                        "above on R@1 and R@3": all(a > b for a, b in mean.values()),
                        "seeds above on both": seeds_above})
    return out


def save_user_bar(rows: list[dict], dataset: str, runs=None) -> Path:
    """``<runs>/user-quality-bar-<dataset>-seeds<...>.json``: the rows, the settings and the verdicts."""
    seeds = "-".join(str(s) for s in sorted({r["seed"] for r in rows}))
    path = runs_root(runs) / f"user-quality-bar-{dataset}-seeds{seeds}.json"
    write_json(path, {"preset": BAR_PRESET, "settings": {k: {"subject_calibration": c, "n_val_subjects": n}
                                                         for k, (c, n) in BAR_SETTINGS.items()},
                      "rows": rows, "verdicts": bar_verdicts(rows)})
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m myosem_experiments.evaluation.user_bar", description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ninapro-db1")
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--runs", default=None)
    args = ap.parse_args(argv)
    rows = run_user_bar(args.dataset, args.data_dir, args.seeds, args.runs, progress=False)
    path = save_user_bar(rows, args.dataset, args.runs)
    for v in bar_verdicts(rows):
        print(f"{v['setting']} vs {v['anchor']} ({v['seeds']} seeds): MyoSem R@1 {100 * v['MyoSem R@1']:.1f} / "
              f"R@3 {100 * v['MyoSem R@3']:.1f}, LDA {100 * v['LDA R@1']:.1f} / {100 * v['LDA R@3']:.1f}; "
              f"above on both: {v['above on R@1 and R@3']} ({v['seeds above on both']} of {v['seeds']} seeds)")
    print("written", path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
