"""The in-memory record of one recording session, whatever the dataset."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError

#: Kinds of pose stream a recording may carry.
POSE_KINDS = ("cyberglove22", "joint_angles20", "none")
#: Kinds of EMG signal: raw surface EMG, or a device-rectified RMS envelope.
SIGNAL_KINDS = ("raw", "rms")


@dataclass
class Recording:
    """One session: EMG, pose stream, per-sample labels and identity.

    ``label`` is the dataset's own movement number per sample (0 = rest) and
    ``class_prefix`` turns it into a dataset-independent class key
    (``f"{class_prefix}/{label}"``) used by the description catalogs.
    """

    emg: np.ndarray  # (T, C) float32
    fs: float  # sampling rate of emg, pose and labels, Hz
    label: np.ndarray  # (T,) int, 0 = rest
    repetition: np.ndarray  # (T,) int, 0 = rest / none
    subject: str
    dataset: str  # e.g. "ninapro-db1", "emg2pose", "synthetic"
    exercise: str  # dataset's exercise / stage identifier
    class_prefix: str  # e.g. "ninapro/A"; class key = f"{class_prefix}/{label}"
    signal_kind: str = "raw"  # "raw" or "rms"
    pose: np.ndarray | None = None  # (T, P) float32
    pose_kind: str = "none"
    channel_names: tuple[str, ...] = ()
    source: str = "<memory>"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.emg = np.asarray(self.emg, dtype=np.float32)
        self.label = np.asarray(self.label).astype(np.int64).ravel()
        self.repetition = np.asarray(self.repetition).astype(np.int64).ravel()
        if self.pose is not None:
            self.pose = np.asarray(self.pose, dtype=np.float32)
        if not self.channel_names:
            self.channel_names = tuple(f"ch{i + 1}" for i in range(self.n_channels))
        self.validate()

    @property
    def n_samples(self) -> int:
        return int(self.emg.shape[0])

    @property
    def n_channels(self) -> int:
        return int(self.emg.shape[1]) if self.emg.ndim == 2 else 0

    @property
    def duration_s(self) -> float:
        return self.n_samples / self.fs

    def class_key(self, label: int) -> str:
        return f"{self.class_prefix}/{int(label)}"

    def between(self, start_s: float, stop_s: float) -> "Recording":
        """The part of the session from ``start_s`` to ``stop_s`` (seconds from its start), a new Recording."""
        from dataclasses import replace

        a, b = max(0, int(round(start_s * self.fs))), min(self.n_samples, int(round(stop_s * self.fs)))
        if b <= a:
            raise DataError(self.source, "emg", f"no samples between {start_s:g} s and {stop_s:g} s of a "
                                                f"{self.duration_s:.3g} s recording")
        return replace(self, emg=self.emg[a:b], label=self.label[a:b], repetition=self.repetition[a:b],
                       pose=None if self.pose is None else self.pose[a:b], meta=dict(self.meta))

    def validate(self) -> None:
        """Raise :class:`DataError` naming the field if anything is inconsistent."""
        src = self.source
        if self.emg.ndim != 2 or self.emg.shape[0] == 0 or self.emg.shape[1] == 0:
            raise DataError(src, "emg", f"expected a non-empty 2-D array (samples x channels), got shape {self.emg.shape}")
        if not np.all(np.isfinite(self.emg)):
            bad = int(np.argwhere(~np.isfinite(self.emg))[0][0])
            raise DataError(src, "emg", f"expected finite samples, found NaN/Inf (first at sample {bad})")
        if not (self.fs > 0):
            raise DataError(src, "fs", f"expected a positive sampling rate, got {self.fs}")
        for name in ("label", "repetition"):
            arr = getattr(self, name)
            if arr.shape[0] != self.n_samples:
                raise DataError(src, name, f"expected {self.n_samples} samples like 'emg', got {arr.shape[0]}")
        if self.pose is not None:
            if self.pose.ndim != 2 or self.pose.shape[0] != self.n_samples:
                raise DataError(src, "pose", f"expected shape ({self.n_samples}, P), got {self.pose.shape}")
            if not np.all(np.isfinite(self.pose)):
                raise DataError(src, "pose", "expected finite samples, found NaN/Inf")
        if self.pose_kind not in POSE_KINDS:
            raise DataError(src, "pose_kind", f"expected one of {POSE_KINDS}, got {self.pose_kind!r}")
        if self.signal_kind not in SIGNAL_KINDS:
            raise DataError(src, "signal_kind", f"expected one of {SIGNAL_KINDS}, got {self.signal_kind!r}")
        if len(self.channel_names) != self.n_channels:
            raise DataError(src, "channel_names", f"expected {self.n_channels} names, got {len(self.channel_names)}")

    def __repr__(self) -> str:  # short: arrays would flood a notebook
        return (
            f"Recording(dataset={self.dataset!r}, subject={self.subject!r}, exercise={self.exercise!r}, "
            f"emg={self.emg.shape}, fs={self.fs:g}, signal={self.signal_kind}, pose={self.pose_kind}, "
            f"classes={sorted(set(self.label.tolist()) - {0})})"
        )
