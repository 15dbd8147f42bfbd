"""Per-subject gain calibration: divide each subject's channels by that subject's own typical level.

Electrode placement, skin and anatomy give every user per-channel gains that
differ by 10x or more on NinaPro DB1. A model trained on other people sees a
new user's whole input shifted. Calibration divides every channel of a subject
by the median absolute value of that channel over all of the subject's windows,
then multiplies by the pooled median so the values keep their usual scale.

It reads no labels, but it reads the new user's unlabeled windows (their test
windows included): the setting of a device that records a short calibration
session before use. It is therefore an option (``DataConfig.subject_calibration``),
applied to every model's windows alike, never a silent default. The option
``{"repetitions": [1]}`` instead of ``True`` estimates each subject's gains from
those repetitions' windows only (one round of the movements, as a calibration
session would record) and applies them to all of that subject's windows.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import DataError
from .windows import WindowSet


def subject_gains(ws: WindowSet, repetitions=None) -> dict[str, np.ndarray]:
    """Per subject, the median |x| of each channel over its windows (of ``repetitions`` if given), (C,)."""
    gains = {}
    for subject in np.unique(ws.subject):
        rows = ws.subject == subject
        if repetitions is not None:
            rows &= np.isin(ws.repetition, list(repetitions))
            if not rows.any():
                raise DataError("<windows>", "repetition", f"subject {subject} has no window of the calibration "
                                f"repetitions {list(repetitions)}")
        x = np.abs(ws.X[rows])
        g = np.median(x.reshape(-1, x.shape[-1]), axis=0)
        if not np.all(np.isfinite(g)) or np.any(g <= 0):
            bad = [ws.channel_names[i] for i in np.flatnonzero(~np.isfinite(g) | (g <= 0))]
            raise DataError("<windows>", "X", f"subject {subject}: channels {bad} have no positive median level; "
                            "a dead channel cannot be calibrated")
        gains[str(subject)] = g.astype(np.float32)
    return gains


def calibrate_subjects(ws: WindowSet, repetitions=None) -> WindowSet:
    """A copy of ``ws`` whose channels are divided by each subject's gain and scaled back by the pooled median.

    ``repetitions``: estimate the gains from these repetitions' windows only (None: every window).
    """
    gains = subject_gains(ws, repetitions)
    pooled = np.median(np.stack(list(gains.values())), axis=0)
    X = np.empty_like(ws.X)
    for subject, g in gains.items():
        rows = ws.subject == subject
        X[rows] = ws.X[rows] / g * pooled
    return replace(ws, X=X, meta={**ws.meta, "subject_calibration": True if repetitions is None
                                  else {"repetitions": [int(r) for r in repetitions]}})


def calibration_repetitions(option) -> list[int] | None:
    """The repetitions a ``subject_calibration`` option estimates gains from (None: all windows)."""
    if option is True:
        return None
    if isinstance(option, dict) and set(option) == {"repetitions"} and option["repetitions"] and \
            all(isinstance(r, int) and not isinstance(r, bool) for r in option["repetitions"]):
        return list(option["repetitions"])
    raise DataError("<config>", "data.subject_calibration",
                    f"expected true or {{'repetitions': [1, ...]}} (a non-empty list of repetition numbers), "
                    f"got {option!r}")
