"""Reader for the NinaPro .mat family (DB1, DB2, DB3, DB4, DB5, DB7).

DB1 EMG is already RMS-rectified by the Otto Bock electrodes at 100 Hz and is
never band-passed. DB2/DB3/DB7 hold raw 2 kHz Delsys EMG, DB4 raw 2 kHz Cometa
EMG and DB5 raw 200 Hz EMG of two Myo armbands; raw EMG gets a configurable
band-pass and mains notch (:class:`FilterConfig`). Layouts: ``movements.yaml``.
Labels come from ``restimulus`` / ``rerepetition``, realigned to the movement.
"""

from __future__ import annotations

import re
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io
import scipy.signal
from scipy.io.matlab import MatReadError

from ..errors import DataError
from .catalog import database_info, exercise_letter, label_offset, movement_names, ninapro_databases
from .session import Recording

REQUIRED_FIELDS = ("emg", "restimulus", "rerepetition")


@dataclass(frozen=True)
class FilterConfig:
    """Filters applied to raw NinaPro EMG (the band's top is kept below Nyquist); ignored for RMS data such as DB1."""

    bandpass_hz: tuple[float, float] | None = (20.0, 450.0)
    notch_hz: float | None = 50.0
    notch_q: float = 30.0
    order: int = 4


def filter_raw_emg(emg: np.ndarray, fs: float, cfg: FilterConfig) -> np.ndarray:
    """Zero-phase band-pass and notch filtering of raw EMG (samples x channels)."""
    out = np.asarray(emg, dtype=np.float64)
    if cfg.bandpass_hz is not None:
        lo, hi = cfg.bandpass_hz
        hi = min(hi, 0.45 * fs)
        sos = scipy.signal.butter(cfg.order, [lo, hi], btype="bandpass", fs=fs, output="sos")
        out = scipy.signal.sosfiltfilt(sos, out, axis=0)
    if cfg.notch_hz is not None and cfg.notch_hz < fs / 2:
        b, a = scipy.signal.iirnotch(cfg.notch_hz, cfg.notch_q, fs=fs)
        out = scipy.signal.filtfilt(b, a, out, axis=0)
    return out.astype(np.float32)


def guess_database(path: str | Path) -> str:
    """DB1 files are named ``S1_A1_E1.mat``; DB2/3/4/5/7 ``S1_E1_A1.mat`` (DB2 assumed: pass the database for the
    others)."""
    name = Path(path).name
    if re.match(r"S\d+_A\d+_E\d+\.mat$", name, re.I):
        return "ninapro-db1"
    if re.match(r"S\d+_E\d+_A\d+\.mat$", name, re.I):
        return "ninapro-db2"
    raise DataError(path, None, "cannot tell the NinaPro database from the file name; pass database=")


def _load_mat(path: Path) -> dict:
    if not path.is_file():
        raise DataError(path, None, "file not found (expected a NinaPro MATLAB v5 .mat file)")
    try:
        return scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError, NotImplementedError, zlib.error, EOFError, IndexError, MatReadError) as exc:
        raise DataError(path, None, f"not a readable MATLAB v5 .mat file ({exc})") from exc


def _column(mat: dict, path: Path, field: str, n: int | None = None) -> np.ndarray:
    if field not in mat:
        raise DataError(path, field, "missing; a NinaPro file holds " + ", ".join(REQUIRED_FIELDS) + ", glove, subject, exercise")
    arr = np.asarray(mat[field])
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise DataError(path, field, f"expected a vector (T x 1), got shape {arr.shape}")
    return arr


def _scalar(mat: dict, field: str, default):
    if field not in mat:
        return default
    arr = np.asarray(mat[field]).ravel()
    return arr[0].item() if arr.size else default


def read_ninapro(
    path: str | Path,
    database: str | None = None,
    filters: FilterConfig = FilterConfig(),
    max_label_mismatch_s: float = 0.05,
) -> Recording:
    """Read one NinaPro session file into a :class:`Recording`.

    A label vector that differs from ``emg`` by at most ``max_label_mismatch_s``
    seconds (a known DB2 quirk) is trimmed to the shorter length with a warning;
    a larger difference is an error.
    """
    path = Path(path)
    guessed = database is None
    database = database or guess_database(path)
    info = database_info(database)
    fs = float(info["fs"])
    mat = _load_mat(path)

    if "emg" not in mat:
        raise DataError(path, "emg", "missing; expected a T x C array of EMG samples")
    emg = np.asarray(mat["emg"], dtype=np.float64)
    if emg.ndim != 2 or emg.shape[0] < 2:
        raise DataError(path, "emg", f"expected a 2-D array (samples x {info['channels']} channels), got shape {emg.shape}")
    if emg.shape[1] != info["channels"]:
        alike = [db for db in ninapro_databases() if database_info(db)["channels"] == emg.shape[1]
                 and database_info(db)["file"] == info["file"]]
        hint = (f" (guessed from the file name; a {emg.shape[1]}-channel file of this name is {' or '.join(alike)}: "
                "name the database, database= or --dataset)" if guessed and alike else "")
        raise DataError(path, "emg", f"expected {info['channels']} channels for {database}{hint}, got {emg.shape[1]}")
    if not np.all(np.isfinite(emg)):
        first = int(np.argwhere(~np.isfinite(emg))[0][0])
        raise DataError(path, "emg", f"expected finite samples, found NaN/Inf (first at sample {first})")

    label = _column(mat, path, "restimulus")
    rep = _column(mat, path, "rerepetition")
    n = emg.shape[0]
    tol = int(round(max_label_mismatch_s * fs))
    for field, arr in (("restimulus", label), ("rerepetition", rep)):
        if abs(arr.shape[0] - n) > tol:
            raise DataError(path, field, f"has {arr.shape[0]} samples but 'emg' has {n}; expected equal lengths (at most {tol} apart)")
    length = min(n, label.shape[0], rep.shape[0])
    if length != n or label.shape[0] != rep.shape[0]:
        warnings.warn(f"{path}: label and EMG lengths differ by a few samples; trimmed to {length}", stacklevel=2)

    pose, pose_kind = None, "none"
    if "glove" in mat:
        glove = np.asarray(mat["glove"], dtype=np.float64)
        if glove.ndim != 2 or glove.shape[1] != 22 or abs(glove.shape[0] - n) > tol:
            raise DataError(path, "glove", f"expected shape ({n}, 22) (CyberGlove II), got {glove.shape}")
        if not np.all(np.isfinite(glove)):
            raise DataError(path, "glove", "expected finite samples, found NaN/Inf")
        length = min(length, glove.shape[0])
        pose, pose_kind = glove[:length], "cyberglove22"

    exercise = int(_scalar(mat, "exercise", _exercise_from_name(path)))
    letter = exercise_letter(database, exercise)
    n_moves = len(movement_names(letter))
    label = label[:length].astype(np.int64)
    moving = label[label > 0]
    if moving.size and moving.max() > n_moves:  # DB2-style numbering continues across exercises
        offset = label_offset(database, exercise)
        label = np.where(label > 0, label - offset, 0)
    if label.min() < 0 or label.max() > n_moves:
        raise DataError(path, "restimulus", f"expected movement numbers 0..{n_moves} for exercise {letter}, got {label.min()}..{label.max()}")

    emg = emg[:length]
    if info["signal"] == "raw":
        emg = filter_raw_emg(emg, fs, filters)
    subject = _scalar(mat, "subject", None)
    subject = f"S{int(subject)}" if subject is not None else _subject_from_name(path)
    return Recording(
        emg=emg,
        fs=fs,
        label=label,
        repetition=rep[:length],
        subject=subject,
        dataset=database,
        exercise=str(exercise),
        class_prefix=f"ninapro/{letter}",
        signal_kind=info["signal"],
        pose=pose,
        pose_kind=pose_kind,
        channel_names=tuple(f"emg{i + 1}" for i in range(emg.shape[1])),
        source=str(path),
    )


def _exercise_from_name(path: Path) -> int:
    m = re.search(r"_E(\d+)", path.name, re.I)
    if not m:
        raise DataError(path, "exercise", "missing from the file and not in its name (expected ..._E<k>...)")
    return int(m.group(1))


def _subject_from_name(path: Path) -> str:
    m = re.match(r"S(\d+)_", path.name, re.I)
    if not m:
        raise DataError(path, "subject", "missing from the file and not in its name (expected S<k>_...)")
    return f"S{int(m.group(1))}"


def ninapro_files(data_dir: str | Path, database: str, exercise: int = 1, subjects=None) -> list[Path]:
    """The session files of ``database``/``exercise`` in ``data_dir``, sorted by subject number."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(data_dir, None, "data folder not found")
    pattern = database_info(database)["file"].format(subject="*", exercise=exercise)
    files = sorted(data_dir.glob(pattern), key=lambda p: int(re.match(r"S(\d+)", p.name).group(1)))
    if subjects is not None:
        wanted = {s if str(s).startswith("S") else f"S{int(s)}" for s in subjects}
        files = [f for f in files if _subject_from_name(f) in wanted]
        missing = wanted - {_subject_from_name(f) for f in files}
        if missing:
            raise DataError(data_dir, None, f"no {pattern} file for subjects {sorted(missing)}")
    if not files:
        raise DataError(data_dir, None, f"no files matching {pattern} (expected NinaPro {database} exercise {exercise})")
    return files
