"""Tables and figures of the AEMG chapter, read from the study's results (:mod:`myosem_experiments.evaluation.aemg`)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from myosem_core.viz import tag


def loso_table(results: dict, synthetic: bool = False) -> pd.DataFrame:
    """Rows: encoder · classifier; columns: zero-shot and headline few-shot balanced accuracy, mean ± std (%)."""
    loso = results["loso"] if "loso" in results else results
    head = f"{loso['headline_fraction']:g}"
    rows = []
    for name, z in loso["zero_shot"].items():
        few = loso["few_shot"].get(name, {}).get("fractions", {}).get(head)
        rows.append({"encoder · classifier": name,
                     "zero-shot LOSO": f"{100 * z['mean']:.1f} ± {100 * z['std']:.1f}",
                     f"few-shot {100 * float(head):g} %": f"{100 * few['mean']:.1f} ± {100 * few['std']:.1f}" if few else "—"})
    df = pd.DataFrame(rows).set_index("encoder · classifier")
    df.columns.name = tag("balanced accuracy (%)", synthetic)
    return df


def per_subject_table(results: dict, kind: str = "zero_shot", fraction: str | None = None) -> pd.DataFrame:
    """Balanced accuracy (%) per target subject (columns) and row."""
    loso = results["loso"] if "loso" in results else results
    data = {}
    for name, v in loso[kind].items():
        d = v if kind == "zero_shot" else v["fractions"][fraction or f"{loso['headline_fraction']:g}"]
        data[name] = {s: round(100 * a, 1) for s, a in d["per_subject"].items()}
    return pd.DataFrame(data).T


def plot_fewshot_curve(results: dict, title: str, ax=None):
    """Balanced accuracy (mean ± std over targets) against the share of the target's windows; 0 % = zero-shot."""
    loso = results["loso"] if "loso" in results else results
    ax = ax or plt.subplots(figsize=(7, 4.2))[1]
    for i, (name, v) in enumerate(loso["few_shot"].items()):
        fr = sorted(v["fractions"], key=float)
        x = [0.0] + [100 * float(f) for f in fr]
        z = loso["zero_shot"][name]
        m = np.array([z["mean"]] + [v["fractions"][f]["mean"] for f in fr])
        s = np.array([z["std"]] + [v["fractions"][f]["std"] for f in fr])
        line = ax.plot(x, 100 * m, marker="o", label=name)[0]
        ax.fill_between(x, 100 * (m - s), 100 * (m + s), color=line.get_color(), alpha=0.12)
    n_classes = len(results.get("class_keys", [])) or None
    if n_classes:
        ax.axhline(100 / n_classes, color="0.5", ls=":", lw=1, label="chance")
    ax.axvline(100 * loso["headline_fraction"], color="0.7", lw=1)
    ax.set_xlabel("share of the target subject's windows used for adaptation (%)")
    ax.set_ylabel("balanced accuracy (%)")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return ax


def plot_pretraining_curves(curves_by_run: dict[str, list[dict]], title: str, ax=None):
    """Masked-word accuracy (train and held-out windows) per epoch of each pretraining run."""
    ax = ax or plt.subplots(figsize=(6, 3.5))[1]
    for name, curves in curves_by_run.items():
        ep = [r["epoch"] for r in curves]
        line = ax.plot(ep, [r["val_masked_acc"] for r in curves], marker="o", label=f"{name} (held-out)")[0]
        ax.plot(ep, [r["train_masked_acc"] for r in curves], ls="--", color=line.get_color(), label=f"{name} (train)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("masked-word accuracy")
    ax.set_title(title)
    ax.legend(fontsize=7)
    return ax
