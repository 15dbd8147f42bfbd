"""Which windows EMBridge trains and evaluates on: normalizers, paired-data subsampling, evaluation sets.

Evaluation sets: protocol ``class`` gives ``seen`` (probe-train = training windows, evaluation = the seen
gestures' test repetitions) and ``unseen`` (the held-out gestures: probe-train = their non-test repetitions,
evaluation = their test repetitions); protocol ``user`` gives ``users`` (probe-train = training users,
evaluation = the unseen test users).
"""

from __future__ import annotations

import numpy as np

from ...data.normalize import ChannelNormalizer
from ...data.protocols import Split
from ...data.windows import WindowSet
from ...errors import ConfigError, DataError


def require_pose(ws: WindowSet) -> None:
    """A clear error when ``ws`` has no paired pose stream."""
    if ws.pose is None:
        raise DataError(ws.meta.get("data_dir") or "<windows>", "pose",
                        "EMBridge needs paired pose windows (CyberGlove or joint angles); this dataset has none")


def fit_normalizers(train: WindowSet, pose_normalization: str = "global") -> tuple[ChannelNormalizer, ChannelNormalizer]:
    """EMG (log1p first when the signal is an RMS envelope) and pose z-scores fitted on training windows."""
    require_pose(train)
    if pose_normalization != "global":
        raise ConfigError(f"pose_normalization must be 'global', got {pose_normalization!r}")
    emg = ChannelNormalizer(log=train.signal_kind == "rms").fit(train.X)
    pose = ChannelNormalizer().fit(train.pose)
    return emg, pose


def subsample_training(ws: WindowSet, idx: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Keep ``fraction`` of the (subject, repetition) units of every class in ``idx`` (at least one per class)."""
    if fraction >= 1.0:
        return idx
    if not 0 < fraction < 1:
        raise ConfigError(f"data_fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(ws.y[idx]):
        sel = idx[ws.y[idx] == c]
        key = np.unique(ws.subject[sel], return_inverse=True)[1] * 1000 + ws.repetition[sel]  # one id per unit
        units = np.unique(key)
        chosen = rng.permutation(units)[:max(1, int(round(fraction * len(units))))]
        keep.append(sel[np.isin(key, chosen)])
    return np.sort(np.concatenate(keep))


def evaluation_sets(ws: WindowSet, split: Split) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Name -> (probe-train indices, evaluation indices) for the split's protocol (see module docstring)."""
    name = split.config.name
    if name == "class":
        held = np.isin(ws.labels, split.heldout_classes)
        test = np.zeros(len(ws), bool)
        test[split.test] = True
        in_test_reps = np.isin(ws.repetition, list(split.config.test_repetitions))
        return {"seen": (split.train, np.flatnonzero(test & ~held)),
                "unseen": (np.flatnonzero(held & ~in_test_reps), np.flatnonzero(held & in_test_reps))}
    if name in ("user", "rand", "cross-dataset"):
        return {"users" if name == "user" else "test": (split.train, split.test)}
    raise ConfigError(f"no EMBridge evaluation sets for protocol {name!r}")
