"""Descriptive statistics of a dataset that the data chapter plots."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .catalog import class_name
from .session import Recording
from .windows import WindowSet, segments


def window_rms(X: np.ndarray) -> np.ndarray:
    """(N, C) root-mean-square of each window and channel."""
    return np.sqrt(np.mean(np.square(X, dtype=np.float64), axis=1))


def activation_topology(ws: WindowSet) -> pd.DataFrame:
    """Class x channel activation, normalised per channel (MyoSem appendix, eq. 21).

    A[c, ch] = mean RMS of class c's windows on channel ch, divided by the
    largest class mean on that channel, so each column peaks at 1.
    """
    rms = window_rms(ws.X)
    means = np.stack([rms[ws.y == k].mean(0) for k in range(ws.n_classes)])
    norm = means / np.maximum(means.max(0, keepdims=True), 1e-12)
    return pd.DataFrame(norm, index=[class_name(k) for k in ws.class_keys], columns=list(ws.channel_names))


def split_counts(manifest: pd.DataFrame) -> pd.DataFrame:
    """Windows per class (rows, in class order) and split (columns)."""
    t = pd.crosstab(manifest["class_key"], manifest["split"])
    order = sorted(t.index, key=lambda k: (k.rpartition("/")[0], int(k.rpartition("/")[2])))
    t = t.loc[order]
    t.index = [class_name(k) for k in t.index]
    cols = [c for c in ("train", "val", "test", "unused") if c in t.columns]
    return t[cols]


def pose_trajectories(recordings: list[Recording], n_points: int = 100, lead_s: float = 0.5) -> dict[str, np.ndarray]:
    """Mean pose trajectory per class: class key -> (n_points, P).

    Each movement repetition (with ``lead_s`` of the rest before it) is resampled
    to ``n_points``; every sensor is standardised per recording (rest mean,
    recording std) so uncalibrated glove values from different subjects average.
    """
    acc: dict[str, list[np.ndarray]] = {}
    for r in recordings:
        if r.pose is None:
            continue
        rest = r.pose[r.label == 0]
        base = rest.mean(0) if len(rest) else r.pose.mean(0)
        z = (r.pose - base) / (r.pose.std(0) + 1e-6)
        lead = int(lead_s * r.fs)
        for a, b, lab, _ in segments(r):
            a0 = max(0, a - lead)
            grid = np.linspace(a0, b - 1, n_points)
            seg = np.stack([np.interp(grid, np.arange(a0, b), z[a0:b, j]) for j in range(z.shape[1])], axis=1)
            acc.setdefault(r.class_key(lab), []).append(seg)
    return {k: np.mean(v, axis=0) for k, v in sorted(acc.items(), key=lambda kv: (kv[0].rpartition("/")[0], int(kv[0].rpartition("/")[2])))}
