"""Per-subject input calibration: bring each subject's channels to the population's level (and spread).

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

**Log standardisation** (``{"method": "log-standardise"}``) goes one step further: per
subject and channel it z-scores the log envelope, ``log1p(x / eps)``, with that subject's
own mean and spread, and maps it onto the training subjects' average mean and spread
(:func:`standardise_subjects`). A gain only shifts the log envelope; people also differ in how
much their envelope swings around its level, which a gain cannot undo. It needs the split
(:func:`calibrate_split`): each subject's statistics come from the windows a model may read,
its training and validation windows, and a new user's only from the adaptation windows of a
new-user setting (``nothing`` has none, so it cannot be calibrated). Under plain ``user`` the
test users have no such window and their own test windows are read (transductive, as ``true``).
The population is the subjects with training windows, so a new user never changes training.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import ConfigError, DataError
from .protocols import Split
from .windows import WindowSet

#: the methods of ``DataConfig.subject_calibration``: median channel gains, or log standardisation
METHODS = ("gain", "log-standardise")


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


def calibration_method(option) -> tuple[str, list[int] | None]:
    """``(method, repetitions)`` of a ``subject_calibration`` option (repetitions None: all readable windows)."""
    if option is True:
        return "gain", None
    if isinstance(option, dict) and option and set(option) <= {"method", "repetitions"}:
        method, reps = option.get("method", "gain"), option.get("repetitions")
        reps_ok = "repetitions" not in option or (isinstance(reps, list) and len(reps) > 0 and all(
            isinstance(r, int) and not isinstance(r, bool) for r in reps))
        if method in METHODS and reps_ok:
            return method, (list(reps) if reps else None)
    raise DataError("<config>", "data.subject_calibration",
                    f"expected true, {{'repetitions': [1, ...]}} (a non-empty list of repetition numbers) or "
                    f"{{'method': one of {list(METHODS)}[, 'repetitions': [...]]}}, got {option!r}")


def calibration_repetitions(option) -> list[int] | None:
    """The repetitions a median-gain ``subject_calibration`` option estimates gains from (None: all windows)."""
    method, reps = calibration_method(option)
    if method != "gain":
        raise DataError("<config>", "data.subject_calibration", f"{option!r} is not a median-gain calibration")
    return reps


def needs_split(option) -> bool:
    """Whether a ``subject_calibration`` option can only be applied with the protocol's split."""
    return bool(option) and calibration_method(option)[0] == "log-standardise"


def log_floor(X: np.ndarray, quantile: float = 0.1) -> float:
    """The floor ``eps`` of ``log1p(x / eps)``: a low quantile of the positive values (as the models' input)."""
    pos = X[X > 0]
    return float(max(np.quantile(pos, quantile), 1e-8)) if pos.size else 1.0


def standardise_subjects(ws: WindowSet, reference: np.ndarray, population: list[str],
                         eps_quantile: float = 0.1) -> WindowSet:
    """A copy of ``ws`` whose log envelopes are z-scored per subject and channel and mapped onto the population's.

    ``reference`` (bool, one per window): the windows each subject's mean and spread come from.
    ``population``: the subjects whose average mean and spread every subject is mapped onto (their
    reference windows also set ``eps``). Values that would fall below the floor become 0.
    """
    reference = np.asarray(reference, dtype=bool)
    in_population = np.isin(ws.subject, population) & reference
    if not in_population.any():
        raise DataError("<windows>", "subject", f"no reference window of the population subjects {population}")
    eps = log_floor(ws.X[in_population], eps_quantile)
    stats = {}
    for subject in np.unique(ws.subject):
        rows = (ws.subject == subject) & reference
        if not rows.any():
            continue
        L = np.log1p(np.maximum(ws.X[rows], 0) / eps).reshape(-1, ws.X.shape[2]).astype(np.float64)
        sd = L.std(0)
        if np.any(sd <= 1e-8):
            bad = [ws.channel_names[i] for i in np.flatnonzero(sd <= 1e-8)]
            raise DataError("<windows>", "X", f"subject {subject}: channels {bad} do not vary; a dead channel "
                            "cannot be standardised")
        stats[str(subject)] = (L.mean(0), sd)
    pop = [stats[s] for s in population if s in stats]
    mu_pop, sd_pop = np.mean([m for m, _ in pop], axis=0), np.mean([s for _, s in pop], axis=0)
    X = ws.X.copy()
    for subject, (mu, sd) in stats.items():
        rows = ws.subject == subject
        L = np.log1p(np.maximum(ws.X[rows], 0) / eps)
        X[rows] = (eps * np.expm1(np.maximum((L - mu) / sd * sd_pop + mu_pop, 0.0))).astype(ws.X.dtype)
    return replace(ws, X=X, meta={**ws.meta, "subject_calibration": {"method": "log-standardise"}})


def readable_windows(split: Split) -> np.ndarray:
    """(N,) bool: the windows a calibration may read under ``split``: training, validation and adaptation
    windows; under plain ``user`` (no new-user setting) also the test users' test windows, their only ones."""
    m = split.manifest
    rows = m["split"].isin(["train", "val", "adapt"]).to_numpy()
    if split.config.name == "user" and split.new_user is None:
        rows |= (m["split"] == "test").to_numpy()
    return rows


def calibrate_split(ws: WindowSet, split: Split, option) -> WindowSet:
    """``ws`` calibrated under ``option`` as ``split`` allows: median gains (which pool every subject, so
    they are refused under a new-user setting) or log standardisation (:func:`standardise_subjects`)."""
    if not option:
        return ws
    method, reps = calibration_method(option)
    if method == "gain":
        if split.new_user is not None:
            raise ConfigError(f"data.subject_calibration={option!r} pools every subject's gains, a new user's among "
                              "them, into the training windows; under a new-user setting use "
                              "{'method': 'log-standardise'}")
        return calibrate_subjects(ws, reps)
    reference = readable_windows(split)
    if reps:
        reference &= np.isin(ws.repetition, reps)
    m = split.manifest
    population = sorted(set(m.loc[m["split"].isin(["train", "val"]), "subject"]))
    missing = sorted(set(ws.subject[m["split"].to_numpy() == "test"]) - set(ws.subject[reference]))
    if missing:
        raise DataError("<windows>", "subject", f"protocol {split.config.label!r}: the test users {missing} have no "
                        f"window a calibration may read (new-user setting {split.new_user!r}); "
                        "data.subject_calibration needs adaptation windows")
    out = standardise_subjects(ws, reference, population)
    return replace(out, meta={**out.meta, "subject_calibration": option})
