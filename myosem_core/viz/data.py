"""Figures of the data chapter: split counts, pose trajectories, activation topology, example windows."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..data.catalog import class_name
from ..data.sensors import sensor_map
from ..data.windows import WindowSet
from . import tag  # noqa: F401  (notebooks call vdata.tag)


def plot_split_counts(counts: pd.DataFrame, title: str, ax=None):
    """Stacked bars: windows per class and split."""
    ax = ax or plt.subplots(figsize=(9, 3.5))[1]
    counts.plot.bar(stacked=True, ax=ax, width=0.8, color={"train": "#4c72b0", "val": "#dd8452", "test": "#55a868", "unused": "#cccccc"})
    ax.set_ylabel("windows")
    ax.set_title(title)
    ax.legend(title="split", fontsize=8)
    ax.tick_params(axis="x", labelrotation=60, labelsize=8)
    return ax


def plot_activation_topology(topo: pd.DataFrame, title: str, ax=None):
    """Heatmap of per-channel-normalised RMS activation (class x channel)."""
    ax = ax or plt.subplots(figsize=(7, 5))[1]
    sns.heatmap(topo, cmap="rocket_r", vmin=0, vmax=1, ax=ax, cbar_kws={"label": "RMS / channel max"})
    ax.set_title(title)
    ax.set_xlabel("EMG channel")
    return ax


def plot_pose_trajectories(traj: dict[str, np.ndarray], pose_kind: str, title: str, n_sensors: int = 4, ncols: int = 4):
    """One panel per class: the ``n_sensors`` sensors that move most, over normalised time."""
    sensors = sensor_map(pose_kind)
    keys = list(traj)
    nrows = int(np.ceil(len(keys) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.3 * nrows), sharex=True, squeeze=False)
    for ax, key in zip(axes.flat, keys):
        t = traj[key]
        top = np.argsort(-np.abs(t - t[:5].mean(0)).max(0))[:n_sensors]
        x = np.linspace(0, 1, len(t))
        for j in top:
            s = sensors[j]
            ax.plot(x, t[:, j], label=f"{s.finger} {s.joint}")
        ax.set_title(class_name(key), fontsize=9)
        ax.legend(fontsize=6, loc="upper right")
    for ax in axes.flat[len(keys):]:
        ax.axis("off")
    fig.supxlabel("time through the repetition (rest lead-in, movement)")
    fig.supylabel("sensor, z-score vs rest")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_example_windows(ws: WindowSet, per_class: int = 1, classes=None, ncols: int = 4, seed: int = 0):
    """EMG of one window per class, channels stacked."""
    rng = np.random.default_rng(seed)
    classes = range(ws.n_classes) if classes is None else classes
    classes = list(classes)
    nrows = int(np.ceil(len(classes) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.2 * nrows), sharex=True, squeeze=False)
    t = np.arange(ws.X.shape[1]) / ws.fs
    for ax, k in zip(axes.flat, classes):
        i = rng.choice(np.flatnonzero(ws.y == k), per_class)[0]
        x = ws.X[i]
        scale = np.abs(x).max() + 1e-9
        for c in range(x.shape[1]):
            ax.plot(t, x[:, c] / scale + c, lw=0.7)
        ax.set_title(f"{class_name(ws.class_keys[k])} ({ws.subject[i]}, rep {ws.repetition[i]})", fontsize=8)
        ax.set_yticks([])
    for ax in axes.flat[len(classes):]:
        ax.axis("off")
    fig.supxlabel("seconds")
    fig.tight_layout()
    return fig
