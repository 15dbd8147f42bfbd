"""Per-subject gain calibration: divide each subject's channels by that subject's own typical level.

Electrode placement, skin and anatomy give every user per-channel gains that
differ by 10x or more on NinaPro DB1. A model trained on other people sees a
new user's whole input shifted. Calibration divides every channel of a subject
by the median absolute value of that channel over all of the subject's windows,
then multiplies by the pooled median so the values keep their usual scale.

It reads no labels, but it reads the new user's unlabeled windows (their test
windows included): the setting of a device that records a short calibration
session before use. It is therefore an option (``Config.extra["subject_calibration"]``),
applied to every model's windows alike, never a silent default.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import DataError
from .windows import WindowSet


def subject_gains(ws: WindowSet) -> dict[str, np.ndarray]:
    """Per subject, the median |x| of each channel over all its windows and samples, (C,)."""
    gains = {}
    for subject in np.unique(ws.subject):
        x = np.abs(ws.X[ws.subject == subject])
        g = np.median(x.reshape(-1, x.shape[-1]), axis=0)
        if not np.all(np.isfinite(g)) or np.any(g <= 0):
            bad = [ws.channel_names[i] for i in np.flatnonzero(~np.isfinite(g) | (g <= 0))]
            raise DataError("<windows>", "X", f"subject {subject}: channels {bad} have no positive median level; "
                            "a dead channel cannot be calibrated")
        gains[str(subject)] = g.astype(np.float32)
    return gains


def calibrate_subjects(ws: WindowSet) -> WindowSet:
    """A copy of ``ws`` whose channels are divided by each subject's gain and scaled back by the pooled median."""
    gains = subject_gains(ws)
    pooled = np.median(np.stack(list(gains.values())), axis=0)
    X = np.empty_like(ws.X)
    for subject, g in gains.items():
        rows = ws.subject == subject
        X[rows] = ws.X[rows] / g * pooled
    return replace(ws, X=X, meta={**ws.meta, "subject_calibration": True})
