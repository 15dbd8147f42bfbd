"""A retrieval model evaluated on a split: both directions' metrics from a score matrix, and one result file.

- :func:`evaluate_scores`: EMG->text (R@1/3/5, MRR, bootstrap std) and text->EMG
  (100 balanced episodes: R@1/3, MRR, standard error) from a (windows x classes)
  score matrix; under the ``class`` protocol also the held-out figures.
- :func:`evaluate_retriever`: fit a registry entry, score the test split, write
  ``<dataset>__<protocol>__<model>__seed<seed>.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..baselines.registry import make_retriever
from ..data.protocols import Split
from ..data.windows import WindowSet
from ..io import write_json
from ..metrics import emg_to_text, text_to_emg
from ..scoring import retriever_scores


def evaluate_scores(scores: np.ndarray, y: np.ndarray, class_keys, heldout_classes=(), n_episodes: int = 100,
                    seed: int = 0) -> dict:
    """Both directions from scores (N test windows, K classes); held-out breakdown when classes are held out."""
    scores, y = np.asarray(scores), np.asarray(y)
    out = {"emg_to_text": emg_to_text(scores, y, seed=seed),
           "text_to_emg": text_to_emg(scores, y, n_episodes=n_episodes, seed=seed)}
    held = np.array([class_keys.index(k) for k in heldout_classes], dtype=np.int64)
    if held.size:
        is_held = np.isin(y, held)
        local = {c: i for i, c in enumerate(held)}
        out["heldout"] = {
            "classes": list(heldout_classes),
            "emg_to_text_all_candidates": emg_to_text(scores[is_held], y[is_held], seed=seed),
            "emg_to_text_heldout_candidates": emg_to_text(scores[is_held][:, held],
                                                          np.array([local[c] for c in y[is_held]]), seed=seed),
            "text_to_emg_heldout": text_to_emg(scores, y, classes=held, n_episodes=n_episodes, seed=seed),
        }
        seen = ~is_held
        out["seen"] = {"emg_to_text_all_candidates": emg_to_text(scores[seen], y[seen], seed=seed)}
    return out


def result_path(folder: str | Path, dataset: str, protocol: str, model: str, seed: int) -> Path:
    return Path(folder) / f"{dataset}__{protocol}__{model}__seed{seed}.json"


def save_result(folder: str | Path, result: dict) -> Path:
    """Write one result (it carries dataset, protocol, model, seed) atomically; returns its path."""
    path = result_path(folder, result["dataset"], result["protocol"], result["model"], result["seed"])
    write_json(path, result)
    return path


def evaluate_retriever(name: str, ws: WindowSet, split: Split, prototypes: np.ndarray, seed: int = 0,
                       folder: str | Path | None = None, retriever=None, adaptation=None, **options) -> dict:
    """Fit registry entry ``name`` (or use the fitted ``retriever``), evaluate on the test split, save the JSON.

    Under a new-user setting of ``user`` the retriever is first adapted to each test user as the setting
    allows (:func:`myosem_core.adaptation.new_user_scores`, ``adaptation``: a
    :class:`~myosem_core.adaptation.NewUserAdaptation`, default its defaults); the result's protocol is the
    setting's label (``user-unlabeled`` ...).
    """
    if retriever is None:
        retriever = make_retriever(name, seed=seed, **options)
        retriever.fit(ws.subset(split.train), ws.subset(split.val), prototypes)
    test = ws.subset(split.test)
    extra = {}
    if split.new_user is not None:
        from ..adaptation import NewUserAdaptation, new_user_scores

        adaptation = adaptation or NewUserAdaptation()
        S = new_user_scores(retriever, ws, split, prototypes, adaptation, seed)
        extra = {"new_user": split.new_user, "adaptation": adaptation.describe(split.new_user)}
    else:
        S = retriever_scores(retriever, test, prototypes)
    result = {"dataset": str(ws.meta.get("dataset") or test.dataset[0]), "protocol": split.config.label,
              "model": name, "seed": int(seed), "synthetic": bool(test.is_synthetic), "class_keys": list(ws.class_keys),
              "n_test": int(len(test)), **extra,
              **evaluate_scores(S, test.y, list(ws.class_keys), split.heldout_classes, seed=seed)}
    run = getattr(retriever, "run", None)
    if run is not None and getattr(run, "folder", None) is not None:
        result["run_folder"] = Path(run.folder).name
    if folder is not None:
        result["path"] = save_result(folder, result).name
    return result


def results_table(results: list[dict], keys=(("emg_to_text", "R@1"), ("emg_to_text", "R@3"), ("emg_to_text", "MRR"),
                                              ("text_to_emg", "R@1"), ("text_to_emg", "R@3"),
                                              ("text_to_emg", "MRR"))) -> pd.DataFrame:
    """One row per (dataset, protocol, model, seed), columns ``direction metric`` (fractions)."""
    rows = []
    for r in results:
        row = {"dataset": r["dataset"], "protocol": r["protocol"], "model": r["model"], "seed": r["seed"]}
        for d, m in keys:
            row[f"{d} {m}"] = r[d][m]
        rows.append(row)
    return pd.DataFrame(rows)
