"""Cut recordings into fixed-length windows that never cross a repetition boundary."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, fields

import numpy as np

from ..errors import DataError
from .session import Recording


@dataclass(frozen=True)
class WindowConfig:
    """Window length and hop in seconds; rest (label 0) is excluded unless asked for."""

    length_s: float = 1.0
    hop_s: float = 0.25
    include_rest: bool = False


@dataclass
class WindowSet:
    """Windows of one or more recordings, with everything a protocol needs per window.

    ``y`` indexes ``class_keys``; ``class_keys`` are catalog keys such as
    ``"ninapro/A/5"`` (DB1 exercise 1, ring flexion).
    """

    X: np.ndarray  # (N, L, C) float32 EMG
    y: np.ndarray  # (N,) int64 into class_keys
    class_keys: tuple[str, ...]
    subject: np.ndarray  # (N,) str
    repetition: np.ndarray  # (N,) int64
    dataset: np.ndarray  # (N,) str
    start: np.ndarray  # (N,) int64 sample index inside its recording
    recording: np.ndarray  # (N,) int64 index of the source recording
    fs: float
    signal_kind: str
    channel_names: tuple[str, ...]
    pose: np.ndarray | None = None  # (N, L, P) float32
    pose_kind: str = "none"
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_classes(self) -> int:
        return len(self.class_keys)

    @property
    def labels(self) -> np.ndarray:
        """Per-window class key (str)."""
        return np.asarray(self.class_keys, dtype=object)[self.y]

    @property
    def is_synthetic(self) -> bool:
        return bool(np.any(self.dataset == "synthetic"))

    def subset(self, idx: np.ndarray) -> "WindowSet":
        """Windows at ``idx`` (bool mask or integer indices); class keys are kept."""
        idx = np.asarray(idx)
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = v[idx] if isinstance(v, np.ndarray) else v
        return WindowSet(**out)

    def counts(self) -> dict[str, int]:
        keys, n = np.unique(self.labels, return_counts=True)
        return dict(zip(keys.tolist(), n.tolist()))

    @property
    def dataset_name(self) -> str:
        """The dataset(s) these windows come from, ``+``-joined (a run folder's label)."""
        return "+".join(sorted({str(d) for d in np.unique(self.dataset)})) or "windows"


def concat_windows(parts: list[WindowSet]) -> WindowSet:
    """The windows of ``parts`` one after another (class keys, rate and channels of the first; pose only when
    every part has one). Empty parts are skipped."""
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        raise DataError("<windows>", None, "nothing to concatenate")
    first = parts[0]
    for p in parts[1:]:
        if p.class_keys != first.class_keys or p.X.shape[1:] != first.X.shape[1:]:
            raise DataError("<windows>", "X", f"cannot concatenate windows of shape {p.X.shape[1:]} and classes "
                            f"{p.class_keys[:2]}... with {first.X.shape[1:]} and {first.class_keys[:2]}...")
    no_pose = any(p.pose is None for p in parts)
    out = {}
    for f in fields(first):
        v = getattr(first, f.name)
        if f.name == "pose" and no_pose:
            out["pose"], out["pose_kind"] = None, "none"
        elif f.name != "pose_kind" or not no_pose:
            out[f.name] = np.concatenate([getattr(p, f.name) for p in parts]) if isinstance(v, np.ndarray) else v
    return WindowSet(**out)


def segments(rec: Recording, include_rest: bool = False) -> list[tuple[int, int, int, int]]:
    """Runs of constant (label, repetition): (start, stop, label, repetition).

    Rest runs (label 0) take the repetition number of the movement before them,
    so a split by repetition keeps rest beside its movement.
    """
    lab, rep = rec.label, rec.repetition.copy()
    if include_rest:
        last = 0
        for i in np.flatnonzero(np.r_[True, np.diff(lab) != 0]):
            if lab[i] == 0:
                stop = i + np.argmax(lab[i:] != 0) if np.any(lab[i:] != 0) else len(lab)
                rep[i:stop] = last
            else:
                last = rep[i]
    change = np.flatnonzero((np.diff(lab) != 0) | (np.diff(rep) != 0)) + 1
    bounds = np.r_[0, change, len(lab)]
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        if lab[a] == 0 and not include_rest:
            continue
        out.append((int(a), int(b), int(lab[a]), int(rep[a])))
    return out


def make_windows(recordings: list[Recording], cfg: WindowConfig = WindowConfig()) -> WindowSet:
    """Windows of every recording; each lies inside one movement repetition."""
    if not recordings:
        raise DataError("<recordings>", None, "expected at least one recording")
    fs = recordings[0].fs
    for r in recordings:
        if r.fs != fs or r.n_channels != recordings[0].n_channels:
            raise DataError(r.source, "emg", f"expected {recordings[0].n_channels} channels at {fs:g} Hz like "
                            f"{recordings[0].source}, got {r.n_channels} at {r.fs:g} Hz; resample first")
    L, H = int(round(cfg.length_s * fs)), int(round(cfg.hop_s * fs))
    if L < 1 or H < 1:
        raise DataError("<window config>", "length_s/hop_s", f"expected at least one sample at {fs:g} Hz")
    has_pose = all(r.pose is not None for r in recordings)
    if has_pose and len({r.pose_kind for r in recordings}) > 1:  # e.g. glove + joint angles: no common pose
        warnings.warn(f"pose streams of different kinds {sorted({r.pose_kind for r in recordings})}; windows carry no pose",
                      stacklevel=2)
        has_pose = False
    keys = sorted({r.class_key(l) for r in recordings for l in np.unique(r.label) if include(l, cfg)},
                  key=_natural)
    key_index = {k: i for i, k in enumerate(keys)}
    cols: dict[str, list] = {k: [] for k in ("X", "P", "y", "subject", "rep", "dataset", "start", "rec")}
    for ri, r in enumerate(recordings):
        for a, b, lab, rep in segments(r, cfg.include_rest):
            starts = np.arange(a, b - L + 1, H)
            if starts.size == 0:
                continue
            idx = starts[:, None] + np.arange(L)[None, :]
            cols["X"].append(r.emg[idx])
            if has_pose:
                cols["P"].append(r.pose[idx])
            n = starts.size
            cols["y"].append(np.full(n, key_index[r.class_key(lab)]))
            cols["subject"].append(np.full(n, r.subject, dtype=object))
            cols["rep"].append(np.full(n, rep))
            cols["dataset"].append(np.full(n, r.dataset, dtype=object))
            cols["start"].append(starts)
            cols["rec"].append(np.full(n, ri))
    if not cols["X"]:
        raise DataError(recordings[0].source, "restimulus", f"no movement segment is at least {cfg.length_s} s long")
    return WindowSet(
        X=np.concatenate(cols["X"]).astype(np.float32),
        y=np.concatenate(cols["y"]).astype(np.int64),
        class_keys=tuple(keys),
        subject=np.concatenate(cols["subject"]).astype(str),
        repetition=np.concatenate(cols["rep"]).astype(np.int64),
        dataset=np.concatenate(cols["dataset"]).astype(str),
        start=np.concatenate(cols["start"]).astype(np.int64),
        recording=np.concatenate(cols["rec"]).astype(np.int64),
        fs=fs,
        signal_kind=recordings[0].signal_kind,
        channel_names=recordings[0].channel_names,
        pose=np.concatenate(cols["P"]).astype(np.float32) if has_pose else None,
        pose_kind=recordings[0].pose_kind if has_pose else "none",
        meta={"window": cfg.__dict__.copy()},
    )


def include(label: int, cfg: WindowConfig) -> bool:
    return cfg.include_rest or int(label) != 0


def _natural(key: str):
    prefix, _, last = key.rpartition("/")
    return (prefix, int(last)) if last.isdigit() else (prefix, 0, last)


def contiguous_segments(ws: WindowSet) -> np.ndarray:
    """(N,) id of the contiguous stretch of movement each window lies in, read from the windows' timing only.

    Windows of one recording whose starts follow each other at the hop (``meta["window"]["hop_s"]``, else the
    smallest step between starts) form one segment: one repetition of one movement, since windows never
    cross a repetition boundary and rest is left out. No label is read, so an unlabeled new user's windows
    can be grouped by the movement they belong to (which movement stays unknown).
    """
    hop_s = (ws.meta.get("window") or {}).get("hop_s")
    order = np.lexsort((ws.start, ws.recording))
    rec, start = ws.recording[order], ws.start[order]
    step = np.diff(start)
    if hop_s is not None:
        hop = int(round(hop_s * ws.fs))
    else:
        same = (np.diff(rec) == 0) & (step > 0)
        hop = int(step[same].min()) if same.any() else 1
    new = np.ones(len(ws), dtype=bool)
    new[1:] = (np.diff(rec) != 0) | (step > hop)
    out = np.empty(len(ws), dtype=np.int64)
    out[order] = np.cumsum(new) - 1
    return out
