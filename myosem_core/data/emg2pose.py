"""Reader for emg2pose HDF5 session files (Salter et al. 2024, Meta).

Each file holds one hand in one stage (~1 min): group ``emg2pose`` with the
compound dataset ``timeseries`` (fields ``time``, ``emg`` (T x 16, raw 2 kHz),
``joint_angles`` (T x 20, radians, see ``sensors.JOINT_ANGLES20``)) and the
session attributes; ``metadata.csv`` beside the files lists every file with its
user, stage, side and official split.

The class of a recording is its stage: key ``emg2pose/stage/<n>``, ``n`` the
1-based position of the stage in ``emg2pose_stages.yaml``. emg2pose has no
repetitions, so each session is cut into ``n_pseudo_repetitions`` (default 10)
equal contiguous time chunks numbered 1..n: a split by repetition (the ``rand``
protocol) then keeps neighbouring windows of a chunk together instead of
scattering overlapping windows over train and test. The raw EMG gets the same
band-pass and notch as NinaPro's raw databases (:class:`FilterConfig`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import yaml

from ..errors import DataError
from .catalog import EXTRA_NAMES
from .ninapro import FilterConfig, filter_raw_emg
from .session import Recording

CLASS_PREFIX = "emg2pose/stage"
GROUP = "emg2pose"
TIMESERIES = "timeseries"
FIELDS = {"time": None, "emg": 16, "joint_angles": 20}  # field -> expected columns
#: Group attributes the reader needs; other attributes (start, end, dataset, ...) are kept in meta.
REQUIRED_ATTRS = ("session", "side", "stage", "user", "sample_rate", "num_channels")
#: metadata.csv columns the reader needs (the real file also has ``moving_hand``).
METADATA_COLUMNS = ("filename", "user", "session", "stage", "side", "split",
                    "held_out_user", "held_out_stage", "generalization")
METADATA_FILE = "metadata.csv"
_STAGES_FILE = Path(__file__).with_name("emg2pose_stages.yaml")


@lru_cache(maxsize=1)
def stage_names() -> tuple[str, ...]:
    """The emg2pose stages in their fixed order (position + 1 = class number)."""
    return tuple(str(s) for s in yaml.safe_load(_STAGES_FILE.read_text()))


def stage_number(stage: str, source: object = "<stage>") -> int:
    """1-based class number of ``stage``; a ``_left``/``_right``/``_both`` suffix is ignored."""
    names = stage_names()
    for candidate in (stage, stage.rsplit("_", 1)[0]):
        if candidate in names:
            return names.index(candidate) + 1
    raise DataError(source, "stage", f"unknown emg2pose stage {stage!r}; expected one of the "
                    f"{len(names)} names in {_STAGES_FILE.name}")


def register_stage_names() -> None:
    """Make :func:`catalog.class_name` know ``emg2pose/stage/<n>``."""
    EXTRA_NAMES[CLASS_PREFIX] = {str(i + 1): name for i, name in enumerate(stage_names())}


register_stage_names()


def read_metadata(data_dir: str | Path) -> pd.DataFrame:
    """``metadata.csv`` of an emg2pose data folder, checked for the needed columns."""
    path = Path(data_dir) / METADATA_FILE
    if not path.is_file():
        raise DataError(path, None, "file not found (emg2pose data folders hold metadata.csv beside the .hdf5 files)")
    try:
        df = pd.read_csv(path, dtype={"user": str, "session": str, "filename": str})
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise DataError(path, None, f"not a readable CSV file ({exc})") from exc
    for col in METADATA_COLUMNS:
        if col not in df.columns:
            raise DataError(path, col, f"missing column; metadata.csv needs {', '.join(METADATA_COLUMNS)}")
    return df


def _attr(value):
    """HDF5 attribute -> plain Python value."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _read_h5(path: Path) -> tuple[np.ndarray, dict]:
    if not path.is_file():
        raise DataError(path, None, "file not found (expected an emg2pose .hdf5 session file)")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(path, None, f"not a readable HDF5 file ({exc})") from exc
    with f:
        if GROUP not in f or not isinstance(f[GROUP], h5py.Group):
            raise DataError(path, GROUP, "missing group; an emg2pose file holds group 'emg2pose' with dataset 'timeseries'")
        group = f[GROUP]
        if TIMESERIES not in group or not isinstance(group[TIMESERIES], h5py.Dataset):
            raise DataError(path, f"{GROUP}/{TIMESERIES}", "missing dataset; expected a compound dataset with fields "
                            + ", ".join(FIELDS))
        ds = group[TIMESERIES]
        names = ds.dtype.names or ()
        for name in FIELDS:
            if name not in names:
                raise DataError(path, f"{TIMESERIES}.{name}", f"missing field; the compound dataset has {list(names)}, "
                                f"expected {list(FIELDS)}")
        attrs = {k: _attr(v) for k, v in group.attrs.items()}
        for name in REQUIRED_ATTRS:
            if name not in attrs:
                raise DataError(path, f"{GROUP}.attrs['{name}']", f"missing attribute; expected {list(REQUIRED_ATTRS)}")
        try:
            data = ds[()]
        except OSError as exc:
            raise DataError(path, f"{GROUP}/{TIMESERIES}", f"unreadable data ({exc})") from exc
    return data, attrs


def _checked_field(data: np.ndarray, path: Path, name: str) -> np.ndarray:
    arr = np.asarray(data[name], dtype=np.float64)
    cols = FIELDS[name]
    if cols is None:
        if arr.ndim != 1:
            raise DataError(path, f"{TIMESERIES}.{name}", f"expected one value per sample, got shape {arr.shape}")
    elif arr.ndim != 2 or arr.shape[1] != cols:
        raise DataError(path, f"{TIMESERIES}.{name}", f"expected {cols} columns per sample, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        first = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise DataError(path, f"{TIMESERIES}.{name}", f"expected finite samples, found NaN/Inf (first at sample {first})")
    return arr


def pseudo_repetitions(n_samples: int, n_chunks: int = 10) -> np.ndarray:
    """Chunk number 1..n_chunks of each sample: equal contiguous time chunks of a session."""
    if n_chunks < 1:
        raise ValueError(f"n_chunks must be at least 1, got {n_chunks}")
    return 1 + (np.arange(n_samples, dtype=np.int64) * n_chunks) // max(n_samples, 1)


def read_emg2pose(
    path: str | Path,
    metadata: dict | pd.Series | None = None,
    filters: FilterConfig = FilterConfig(),
    n_pseudo_repetitions: int = 10,
) -> Recording:
    """Read one emg2pose session file into a :class:`Recording` (class = stage).

    ``metadata`` is the file's ``metadata.csv`` row (kept in ``Recording.meta``;
    its ``stage`` and ``user`` win over the file's attributes when given).
    """
    path = Path(path)
    data, attrs = _read_h5(path)
    if data.ndim != 1 or data.shape[0] < 2:
        raise DataError(path, f"{GROUP}/{TIMESERIES}", f"expected a 1-D table of at least 2 samples, got shape {data.shape}")
    time = _checked_field(data, path, "time")
    emg = _checked_field(data, path, "emg")
    pose = _checked_field(data, path, "joint_angles")
    if int(attrs["num_channels"]) != emg.shape[1]:
        raise DataError(path, f"{GROUP}.attrs['num_channels']",
                        f"says {attrs['num_channels']} channels but '{TIMESERIES}.emg' has {emg.shape[1]}")
    if np.any(np.diff(time) < 0):
        raise DataError(path, f"{TIMESERIES}.time", "expected non-decreasing timestamps")
    fs = float(attrs["sample_rate"])
    if not fs > 0:
        raise DataError(path, f"{GROUP}.attrs['sample_rate']", f"expected a positive sampling rate, got {fs}")

    row = {k: _attr(v) for k, v in dict(metadata).items()} if metadata is not None else {}
    stage = str(row.get("stage", attrs["stage"]))
    label = np.full(emg.shape[0], stage_number(stage, path), dtype=np.int64)
    ik_failed = np.all(pose == 0.0, axis=1)  # emg2pose marks inverse-kinematics failures as all-zero angles
    return Recording(
        emg=filter_raw_emg(emg, fs, filters),
        fs=fs,
        label=label,
        repetition=pseudo_repetitions(emg.shape[0], n_pseudo_repetitions),
        subject=str(row.get("user", attrs["user"])),
        dataset="emg2pose",
        exercise=stage_names()[label[0] - 1],
        class_prefix=CLASS_PREFIX,
        signal_kind="raw",
        pose=pose,
        pose_kind="joint_angles20",
        channel_names=tuple(f"emg{i + 1}" for i in range(emg.shape[1])),
        source=str(path),
        meta={
            "metadata": row,
            "attrs": attrs,
            "side": str(row.get("side", attrs["side"])),
            "session": str(row.get("session", attrs["session"])),
            "repetition": f"pseudo: {n_pseudo_repetitions} equal contiguous time chunks of the session",
            "ik_failure_fraction": float(ik_failed.mean()),
        },
    )


def emg2pose_files(data_dir: str | Path, subjects=None, split: str | None = None, stages=None,
                   sides=None) -> list[tuple[Path, dict]]:
    """(file, metadata row) of the sessions in ``data_dir`` matching the filters, sorted."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(data_dir, None, "data folder not found")
    df = read_metadata(data_dir)
    keep = np.ones(len(df), dtype=bool)
    for col, wanted in (("user", subjects), ("split", [split] if split else None), ("stage", stages), ("side", sides)):
        if wanted is not None:
            keep &= df[col].astype(str).isin([str(w) for w in wanted]).to_numpy()
    df = df[keep].sort_values(["user", "session", "stage", "side"], kind="stable")
    if df.empty:
        raise DataError(data_dir / METADATA_FILE, None, f"no session matches subjects={subjects}, split={split}, "
                        f"stages={stages}, sides={sides}")
    out = []
    for row in df.to_dict("records"):
        name = str(row["filename"])
        path = data_dir / (name if name.endswith(".hdf5") else f"{name}.hdf5")
        if not path.is_file():
            raise DataError(path, None, f"file listed in {METADATA_FILE} not found")
        out.append((path, row))
    return out
