"""MyoSem's held-out classes under calibrated stacking (:mod:`myosem_core.calibrated_stacking`), on the ``class``
protocol: the penalty is chosen on a second model trained without some of the *trained* classes, and only
then applied to the test windows.

Windows the choice reads: the remaining classes' validation repetitions and the pseudo-held-out classes'
training and validation repetitions. No test repetition and no window of a truly held-out class. Stages 1-3
are all retrained on the pseudo split, so the pseudo-held-out classes are unseen by the text encoder too.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from myosem_core.calibrated_stacking import (
    PENALTY_GRID,
    PenalisedRetriever,
    choose_penalty,
    harmonic_mean,
    pseudo_heldout_classes,
)
from myosem_core.data.protocols import Split, make_split
from myosem_core.data.windows import WindowSet
from myosem_core.errors import ConfigError
from myosem_core.evaluation.retrieval_results import evaluate_retriever
from myosem_core.scoring import window_cosines
from myosem_core.presets import preset_section

#: how the penalty is chosen; part of the recipe of a result that carries it (change it and the result reruns)
CHOICE_RULE = {"method": "calibrated stacking (Chao et al. 2016)", "grid": list(PENALTY_GRID),
               "criterion": "harmonic mean of seen and unseen top-1 over all candidates",
               "pseudo_heldout": "the protocol's share of the trained classes, evenly spread",
               "pseudo_stage1": "retrained without the pseudo-held-out classes", "version": 2}


def pseudo_split(ws: WindowSet, split: Split) -> tuple[Split, list[str]]:
    """The ``class`` split with some trained classes held out too, and those classes."""
    held = split.heldout_classes
    if not held:
        raise ConfigError(f"calibrated stacking needs held-out classes; protocol {split.config.name!r} holds none")
    seen = [k for k in ws.class_keys if k not in held]
    pseudo = pseudo_heldout_classes(seen, len(held), len(ws.class_keys))
    return make_split(ws, replace(split.config, heldout_classes=held + pseudo)), pseudo


def choice_windows(ws: WindowSet, split: Split, pseudo: Split, pseudo_classes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(seen rows, unseen rows) the choice reads; checked to hold no test window of ``split``."""
    seen_rows = pseudo.val
    unseen_rows = np.flatnonzero(np.isin(ws.labels, pseudo_classes)
                                 & ~np.isin(ws.repetition, list(split.config.test_repetitions)))
    leaked = np.intersect1d(np.concatenate([seen_rows, unseen_rows]), split.test)
    if leaked.size:
        raise ConfigError(f"calibrated stacking would read {leaked.size} test windows; the split is not a class split")
    return seen_rows, unseen_rows


def pseudo_prototypes(cfg, ws: WindowSet, pseudo: Split, runs=None, progress: bool = True, stage1=None):
    """Stage 1 retrained on the pseudo split: the pseudo-held-out classes' descriptions are as unseen as the
    held-out ones' (only the aligned space; the free-text query encoder is not needed here)."""
    from myosem_core.scoring import prototypes_for
    from myosem_core.text.stage1 import load_or_train_stage1

    s1 = stage1 or replace(preset_section(cfg.preset, "stage1"), seed=cfg.seed)
    return prototypes_for(load_or_train_stage1(ws, pseudo, s1, runs, progress, query=False), ws.class_keys)


def choose_class_penalty(cfg, ws: WindowSet, split: Split, stage1=None, stage2=None, stage3=None, runs=None,
                         progress: bool = True) -> dict:
    """Train (or reuse) Stages 1-3 without the pseudo-held-out classes and choose the penalty on their windows."""
    from myosem_core.training import train_myosem_stages
    from myosem_core.training.common import training_seconds

    ps, pseudo = pseudo_split(ws, split)
    P = pseudo_prototypes(cfg, ws, ps, runs, progress, stage1)
    stage2 = (stage2 or preset_section(cfg.preset, "stage2")).for_protocol(split.config.name)
    stage3 = (stage3 or preset_section(cfg.preset, "stage3")).for_protocol(split.config.name)
    s2, s3 = train_myosem_stages(ws.subset(ps.train), ws.subset(ps.val), P, stage2, stage3, cfg.seed, runs, progress)
    seen_rows, unseen_rows = choice_windows(ws, split, ps, pseudo)
    trained = ~np.isin(np.asarray(ws.class_keys), split.heldout_classes + pseudo)
    choice = choose_penalty(window_cosines(s3.embed(ws.X[seen_rows]), P), ws.y[seen_rows],
                            window_cosines(s3.embed(ws.X[unseen_rows]), P), ws.y[unseen_rows], trained)
    return {**choice, "pseudo_heldout": pseudo, "n_seen_windows": len(seen_rows),
            "n_unseen_windows": len(unseen_rows), "stage3_run": s3.folder.name,
            "train_seconds": training_seconds(s2, s3)}


def calibrated_stacking_result(cfg, ws: WindowSet, split: Split, prototypes, retriever, stage1=None, stage2=None,
                               stage3=None, runs=None, progress: bool = True) -> dict:
    """The chosen penalty and the fitted ``retriever``'s test metrics under it (both directions, held-out, seen);
    ``prototypes`` are the ones ``retriever`` was aligned to."""
    choice = choose_class_penalty(cfg, ws, split, stage1, stage2, stage3, runs, progress)
    trained = ~np.isin(np.asarray(ws.class_keys), split.heldout_classes)
    scored = evaluate_retriever("calibrated", ws, split, prototypes, cfg.seed,
                                retriever=PenalisedRetriever(retriever, prototypes, trained, choice["gamma"]))
    metrics = {k: scored[k] for k in ("emg_to_text", "text_to_emg", "heldout", "seen")}
    return {"rule": CHOICE_RULE, "choice": choice, **metrics}


METRIC_PATHS = {"held-out R@1": ("heldout", "emg_to_text_all_candidates", "R@1"),
                "held-out R@3": ("heldout", "emg_to_text_all_candidates", "R@3"),
                "seen R@1": ("seen", "emg_to_text_all_candidates", "R@1"),
                "T→E held-out R@1": ("heldout", "text_to_emg_heldout", "R@1")}
#: the table's metrics, in order (each raw, then calibrated); harmonic = of held-out and seen R@1
TABLE_COLUMNS = ("held-out R@1", "held-out R@3", "seen R@1", "harmonic", "T→E held-out R@1")


def _metric(node: dict, path: tuple[str, ...]) -> float:
    for key in path:
        node = node[key]
    return 100 * float(node)


def calibrated_stacking_table(results: list[dict]):
    """One row per seed (and their mean) of the ``class`` results that carry calibrated stacking: the chosen
    penalty and, raw -> calibrated, EMG->text on held-out windows (over every candidate) and on seen windows,
    the harmonic mean of the two R@1, and text->EMG in held-out episodes. Percent."""
    import pandas as pd

    rows = []
    for r in sorted((r for r in results if "calibrated_stacking" in r), key=lambda r: r["seed"]):
        values = {}
        for tag, src in (("raw", r), ("calibrated", r["calibrated_stacking"])):
            values[tag] = {name: _metric(src, path) for name, path in METRIC_PATHS.items()}
            values[tag]["harmonic"] = harmonic_mean(values[tag]["held-out R@1"], values[tag]["seen R@1"])
        rows.append({"seed": r["seed"], "penalty": r["calibrated_stacking"]["choice"]["gamma"],
                     **{f"{name} {tag}": values[tag][name] for name in TABLE_COLUMNS for tag in values}})
    if not rows:
        return pd.DataFrame()
    table = pd.DataFrame(rows).set_index("seed")
    if len(table) > 1:
        table.loc["mean"] = table.mean()
    return table.round({c: (2 if c == "penalty" else 1) for c in table.columns})
