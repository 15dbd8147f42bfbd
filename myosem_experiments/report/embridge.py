"""Tables of notebook 07 built from the results JSON written by
:func:`myosem_experiments.evaluation.embridge.run_embridge_experiments`.

Every number shown comes from that file; nothing here trains or evaluates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import torch

#: evaluation set -> column prefix in the tables
SET_NAMES = {"seen": "Seen gestures", "unseen": "Unseen gestures", "users": "Unseen users", "test": "Test"}


def _rows(res: dict, table: str, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    rows = []
    for r in res[table]:
        for set_name, m in r["metrics"].items():
            for metric in ("lp", "zs"):
                if metric in m:
                    rows.append({"protocol": r["protocol"], "model": r["model"], **{k: r.get(k) for k in extra},
                                 "set": SET_NAMES.get(set_name, set_name), "metric": metric.upper(),
                                 "balanced_accuracy": m[metric]})
    return pd.DataFrame(rows)


def _wide(df: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    order = [s for s in SET_NAMES.values() if s in set(df["set"])]
    wide = df.pivot_table(index=index, columns=["set", "metric"], values="balanced_accuracy", aggfunc="first", sort=False)
    cols = [(s, m) for s in order for m in ("LP", "ZS") if (s, m) in wide.columns]
    return wide[cols]


def main_table(res: dict) -> pd.DataFrame:
    """Rows = models (upper bound, EMG-MAE, multi-modal models); columns = (evaluation set, LP/ZS) balanced accuracy."""
    df = _rows(res, "main")
    order = list(dict.fromkeys(df["model"]))
    wide = _wide(df, ["model"]).reindex(order)
    wide.index.name = None
    return wide


def paired_query_table(res: dict) -> pd.DataFrame:
    """Zero-shot of each multi-query main-table model two ways, per evaluation set: ``ZS`` (the pose corpus
    scored by the best of the queries: what retrieval can do) and ``ZS, paired query`` (each window's query
    picked by its own paired pose, the training rule: a diagnostic that reads the answer)."""
    rows = [(r["protocol"], r["model"], SET_NAMES.get(set_name, set_name), m["zs"], m["zs_paired_query"])
            for r in res["main"] for set_name, m in r["metrics"].items() if "zs_paired_query" in m]
    return pd.DataFrame(rows, columns=["protocol", "model", "set", "ZS", "ZS, paired query"])


def ablation_table(res: dict) -> pd.DataFrame:
    """EMBridge and its ablations on the class protocol (seen / unseen gestures)."""
    base = [r for r in res["main"] if r["protocol"] == "class" and r["model"] == "EMBridge"]
    df = _rows({"t": base + res["ablations"]}, "t")
    wide = _wide(df, ["model"]).reindex(list(dict.fromkeys(df["model"])))
    wide.index.name = None
    return wide


def grid_table(res: dict, table: str, param: str) -> pd.DataFrame:
    """Long table of one grid (``batch_size``, ``data_efficiency``): model, ``param``, set, metric, balanced_accuracy."""
    return _rows(res, table, (param,))


def sensitivity_table(res: dict) -> pd.DataFrame:
    """Long table of the tau_s / k_c sweeps: param, value, set, metric, balanced_accuracy."""
    return _rows(res, "sensitivity", ("param", "value"))


def run_times(res: dict) -> pd.DataFrame:
    """Training time of every distinct run (wall clock on the shared machine and CPU seconds)."""
    df = pd.DataFrame(res["timing"])
    keys = [c for c in ("protocol", "model", "batch_size", "data_fraction", "param", "value") if c in df.columns]
    return df.drop_duplicates(subset=["protocol", "model", "train_seconds"]).reset_index(drop=True)[
        keys + [c for c in ("n_train_windows", "train_seconds", "train_cpu_seconds") if c in df.columns]]


def zero_shot_predictions(res: dict, model: str, set_name: str = "unseen", protocol: str = "class"):
    """(y_true, y_pred) of a main-table model's zero-shot kNN on one evaluation set (class-index arrays)."""
    for r in res["main"]:
        if r["model"] == model and r["protocol"] == protocol and "zs_pred" in r["metrics"].get(set_name, {}):
            m = r["metrics"][set_name]
            return np.asarray(m["y_true"]), np.asarray(m["zs_pred"])
    raise KeyError(f"no zero-shot predictions of {model!r} on {protocol}/{set_name} in these results")


def soft_target_examples(run, train_ws, batch_pose: "torch.Tensor", seed: int = 0) -> dict[str, np.ndarray]:
    """CASCLe targets of one batch at the run's (tau_s, k_c), a 5x sharper / softer tau_s and a larger k_c,
    and the instance-level SoftCLIP targets; communities are fitted on ``train_ws``'s pose embeddings."""
    import torch

    from myosem_core.models.embridge import (
        cascle_targets,
        fit_communities,
        instance_soft_targets,
    )

    cfg = run.config
    C = torch.from_numpy(fit_communities(run.pose.embed(train_ws), cfg.n_clusters, seed))
    k_big = min(4 * cfg.k_c, C.shape[0])
    out = {f"CASCLe τ_s={cfg.tau_s:g}, k_c={cfg.k_c}": cascle_targets(batch_pose, C, cfg.k_c, cfg.tau_s),
           f"CASCLe τ_s={cfg.tau_s / 5:g}, k_c={cfg.k_c}": cascle_targets(batch_pose, C, cfg.k_c, cfg.tau_s / 5),
           f"CASCLe τ_s={cfg.tau_s * 5:g}, k_c={cfg.k_c}": cascle_targets(batch_pose, C, cfg.k_c, cfg.tau_s * 5),
           f"CASCLe τ_s={cfg.tau_s:g}, k_c={k_big}": cascle_targets(batch_pose, C, k_big, cfg.tau_s),
           f"SoftCLIP τ_s={cfg.tau_s:g}": instance_soft_targets(batch_pose, cfg.tau_s)}
    return {k: v.numpy() for k, v in out.items()}
