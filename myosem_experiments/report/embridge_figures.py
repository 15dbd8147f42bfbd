"""Figures of the EMBridge chapter (notebook 07): grids, sensitivity, confusion matrix, UMAPs, soft targets."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from myosem_core.data.catalog import class_name


def plot_grid(long: pd.DataFrame, param: str, title: str, xlabel: str | None = None, log_x: bool = False):
    """One panel per evaluation set: balanced accuracy against ``param``, a line per model and metric (LP / ZS)."""
    sets = list(dict.fromkeys(long["set"]))
    fig, axes = plt.subplots(1, len(sets), figsize=(4.2 * len(sets), 3.3), squeeze=False)
    for ax, s in zip(axes[0], sets):
        d = long[long["set"] == s]
        for (model, metric), g in d.groupby(["model", "metric"], sort=False):
            g = g.sort_values(param)
            ax.plot(g[param], g["balanced_accuracy"], marker="o", ls="-" if metric == "ZS" else "--", label=f"{model} {metric}")
        ax.set_title(s)
        ax.set_xlabel(xlabel or param)
        ax.set_ylabel("balanced accuracy")
        if log_x:
            ax.set_xscale("log")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_sensitivity(long: pd.DataFrame, title: str):
    """tau_s and k_c sweeps of EMBridge: one panel per hyper-parameter, a line per evaluation set and metric."""
    params = list(dict.fromkeys(long["param"]))
    fig, axes = plt.subplots(1, len(params), figsize=(4.5 * len(params), 3.3), squeeze=False)
    for ax, p in zip(axes[0], params):
        d = long[long["param"] == p]
        for (s, metric), g in d.groupby(["set", "metric"], sort=False):
            g = g.sort_values("value")
            ax.plot(g["value"], g["balanced_accuracy"], marker="o", ls="-" if metric == "ZS" else "--",
                    label=f"{s} {metric}")
        ax.set_xlabel({"tau_s": "soft-target temperature τ_s", "k_c": "top-k_c communities"}.get(p, p))
        ax.set_ylabel("balanced accuracy")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_confusion(y_true: np.ndarray, y_pred: np.ndarray, class_keys, title: str, ax=None):
    """Row-normalised confusion matrix with per-class F1 beside the row labels."""
    classes = np.unique(y_true)
    idx = {c: i for i, c in enumerate(classes)}
    M = np.zeros((len(classes), len(classes)))
    for t, p in zip(y_true, y_pred):
        if p in idx:
            M[idx[t], idx[p]] += 1
    rec = M / M.sum(1, keepdims=True).clip(1)
    prec = np.diag(M) / M.sum(0).clip(1)
    f1 = 2 * prec * np.diag(rec) / (prec + np.diag(rec)).clip(1e-12)
    names = [class_name(class_keys[c]) for c in classes]
    ax = ax or plt.subplots(figsize=(1.3 * len(classes) + 2.5, 1.1 * len(classes) + 1))[1]
    sns.heatmap(rec, annot=True, fmt=".2f", cmap="Blues", vmin=0, vmax=1, ax=ax, cbar=False,
                xticklabels=names, yticklabels=[f"{n} (F1 {f:.2f})" for n, f in zip(names, f1)])
    ax.set_xlabel("predicted (10-NN vote over the pose corpus)")
    ax.set_ylabel("true gesture")
    ax.set_title(title)
    return ax


def plot_umaps(coords: dict[str, np.ndarray], labels: np.ndarray, class_keys, title: str):
    """Side-by-side 2-D embeddings (e.g. EMG before / after alignment, pose anchor), coloured by gesture."""
    fig, axes = plt.subplots(1, len(coords), figsize=(4.6 * len(coords), 4.2), squeeze=False)
    classes = np.unique(labels)
    palette = sns.color_palette("tab20", len(classes))
    for ax, (name, Y) in zip(axes[0], coords.items()):
        for c, col in zip(classes, palette):
            sel = labels == c
            ax.scatter(Y[sel, 0], Y[sel, 1], s=4, color=col, label=class_name(class_keys[c]), alpha=0.7)
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][-1].legend(fontsize=7, markerscale=3, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_soft_targets(targets: dict[str, np.ndarray], title: str):
    """Heatmaps of soft-target matrices (rows = EMG windows, columns = poses of one batch)."""
    fig, axes = plt.subplots(1, len(targets), figsize=(3.4 * len(targets), 3.2), squeeze=False)
    for ax, (name, T) in zip(axes[0], targets.items()):
        ax.imshow(T, cmap="magma", interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(title)
    fig.tight_layout()
    return fig
