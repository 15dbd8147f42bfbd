"""Event files and per-sample labels, shared by every recording reader (sidecar files, BrainFlow files).

- :func:`read_events`: a CSV/TSV of event times (``time`` / ``onset`` / ``timestamp`` / ``t``) with a
  ``label`` / ``prompt`` column, or five 0/1 finger columns under any of their common names
  (:func:`~.finger_states.finger_of`: ``pinky`` = little, ``pointer`` = index, ...), times and durations
  in a given unit (s, ms, us);
- :func:`labels_from_events`: each event's label from its time until the next (or its duration);
- :func:`encode_labels`: label strings -> integer labels, class prefix, names and descriptions
  (finger states become the shared ``fingers/<bits>`` classes);
- :func:`check_timestamps` and :func:`repetitions`.

Every problem is one :class:`~myosem_core.errors.DataError` naming the file, field and expectation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from . import finger_states as fs_
from .catalog import EXTRA_NAMES

TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
RATE_TOLERANCE = 0.02  # timestamps may differ from the sidecar's rate by 2 % (clock drift, jitter)
_EVENT_TIME = ("time", "onset", "timestamp", "t")
_EVENT_LABEL = ("label", "prompt", "event", "description")
_REST = ("", "rest", "none", "nan")


def delimiter(path: Path) -> str:
    """Tab, semicolon or comma: whichever splits the header line (OpenBCI exports use tabs or commas)."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    with open(path, errors="replace") as f:
        header = next((line for line in f if not line.startswith("%")), "")
    return max(("\t", ";", ","), key=header.count) if any(d in header for d in "\t;,") else ","


def numeric(col: pd.Series, path: Path, name: str) -> np.ndarray:
    values = pd.to_numeric(col, errors="coerce")
    bad = values.isna() & col.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(path, name, f"expected numbers; data row {row + 1} (line {row + 2}) holds {col.iloc[row]!r}")
    if values.isna().any():
        row = int(np.flatnonzero(values.isna().to_numpy())[0])
        raise DataError(path, name, f"expected a number in every row; data row {row + 1} (line {row + 2}) is empty")
    return values.to_numpy(dtype=np.float64)


def check_timestamps(t: np.ndarray, rate: float, path, column: str) -> None:
    """Strictly increasing timestamps whose median step matches ``rate`` within :data:`RATE_TOLERANCE`."""
    if len(t) < 2:
        raise DataError(path, column, f"expected at least two samples, got {len(t)}")
    step = np.diff(t)
    bad = np.flatnonzero(step <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        kind = "duplicated" if step[i - 1] == 0 else "non-monotonic"
        raise DataError(path, column, f"expected strictly increasing timestamps; {kind} at data row {i + 1} "
                                      f"(t={t[i]:.6g} after t={t[i - 1]:.6g})")
    measured = 1.0 / float(np.median(step))
    if abs(measured - rate) > RATE_TOLERANCE * rate:
        raise DataError(path, "sampling_rate", f"the sidecar says {rate:g} Hz but the timestamps in column "
                                               f"{column!r} are {measured:.4g} Hz apart (median step "
                                               f"{1e3 / measured:.4g} ms); expected them to agree within "
                                               f"{100 * RATE_TOLERANCE:g} %")


def read_events(path: str | Path, time_unit: str = "s") -> pd.DataFrame:
    """Events as a frame ``time`` (s, recording clock), ``label`` and optional ``duration``.

    ``time_unit`` (s, ms or us) is the unit of the file's times and durations, the sidecar's ``time_unit``.
    """
    path = Path(path)
    if time_unit not in TIME_UNITS:
        raise DataError(path, "time_unit", f"expected one of {sorted(TIME_UNITS)}, got {time_unit!r}")
    scale = TIME_UNITS[time_unit]
    try:
        df = pd.read_csv(path, sep=delimiter(path), skipinitialspace=True, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(path, None, f"expected a table of event times and labels ({exc})") from exc
    df.columns = [str(c).strip().lower() for c in df.columns]
    tcol = next((c for c in _EVENT_TIME if c in df.columns), None)
    if tcol is None:
        raise DataError(path, "time", f"expected a time column named one of {_EVENT_TIME}; header is {list(df.columns)}")
    out = pd.DataFrame({"time": numeric(df[tcol].replace("", np.nan), path, tcol) * scale})
    fingers = _finger_columns(df.columns, path)
    lcol = next((c for c in _EVENT_LABEL if c in df.columns), None)
    if len(fingers) == 5:
        states = np.column_stack([numeric(df[fingers[f]].replace("", np.nan), path, fingers[f]) for f in fs_.FINGERS])
        if not np.isin(states, (0, 1)).all():
            raise DataError(path, ", ".join(fingers.values()), "expected finger states of 0 (open) or 1 (closed)")
        out["label"] = ["".join(str(int(v)) for v in row) for row in states]
    elif lcol is not None:
        out["label"] = df[lcol].astype(str).str.strip().to_numpy()
    else:
        found = f"; finger columns found: {fingers}, missing {[f for f in fs_.FINGERS if f not in fingers]}" \
            if fingers else ""
        raise DataError(path, "label", f"expected a label column ({_EVENT_LABEL}) or five finger columns "
                                       f"{fs_.FINGERS} (pinky/pinkie/small = little, pointer/forefinger = index); "
                                       f"header is {list(df.columns)}{found}")
    if "duration" in df.columns:
        out["duration"] = numeric(df["duration"].replace("", np.nan), path, "duration") * scale
    if len(out) and np.any(np.diff(out["time"].to_numpy()) < 0):
        raise DataError(path, tcol, "expected event times in increasing order")
    out.attrs["time_column"] = tcol
    return out


def _finger_columns(columns, path: Path) -> dict[str, str]:
    """Finger -> the column that holds it (``pinky`` for little, ...); two columns of one finger is an error."""
    found: dict[str, str] = {}
    for c in columns:
        finger = fs_.finger_of(c)
        if finger is None:
            continue
        if finger in found:
            raise DataError(path, c, f"columns {found[finger]!r} and {c!r} both name the {finger} finger; "
                                     "expected one column per finger")
        found[finger] = c
    return found


def labels_from_events(events: pd.DataFrame, t: np.ndarray, path) -> np.ndarray:
    """Per-sample label strings: each event's label from its time until the next event (or its duration)."""
    tcol = events.attrs.get("time_column", "time")
    lo, hi = float(t[0]), float(t[-1])
    for i, ev in enumerate(events["time"].to_numpy()):
        if not (lo <= ev <= hi):
            hint = next((f" (times {factor:g}x as large would fit: is the sidecar's time_unit right?)"
                         for factor in (1e-3, 1e3, 1e-6, 1e6) if lo <= ev * factor <= hi), "")
            raise DataError(path, tcol, f"event {i + 1} at t={ev:.6g} s lies outside the recording "
                                        f"({lo:.6g} .. {hi:.6g} s); expected event times on the recording's clock"
                                        + hint)
    labels = np.full(len(t), "rest", dtype=object)
    times = events["time"].to_numpy()
    dur = events["duration"].to_numpy() if "duration" in events.columns else np.full(len(events), np.nan)
    for i, (start, text) in enumerate(zip(times, events["label"].to_numpy())):
        stop = times[i + 1] if i + 1 < len(times) else np.inf
        if np.isfinite(dur[i]) and dur[i] > 0:
            stop = min(stop, start + dur[i])
        labels[(t >= start) & (t < stop)] = text
    return labels


def encode_labels(labels, path: Path):
    """Integer labels (0 = rest), the class prefix, label names and descriptions per class key."""
    text = np.array([("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()) for v in labels],
                    dtype=object)
    uniq = [u for u in dict.fromkeys(text.tolist()) if u.lower() not in _REST]
    states = {u: fs_.parse_finger_states(u) for u in uniq}
    if uniq and all(s is not None for s in states.values()):
        number = {u: fs_.bits(s) for u, s in states.items()}
        label = np.array([number.get(v, 0) for v in text], dtype=np.int64)
        present = sorted(set(label.tolist()) - {0})
        names = {f"{fs_.PREFIX}/{n}": fs_.label_name(fs_.from_bits(n)) for n in present}
        desc = {f"{fs_.PREFIX}/{n}": fs_.describe(fs_.from_bits(n)) for n in present}
        return label, fs_.PREFIX, names, desc
    prefix = f"recording/{path.stem}"
    number = {u: i + 1 for i, u in enumerate(uniq)}
    EXTRA_NAMES[prefix] = {str(i): u for u, i in number.items()}
    label = np.array([number.get(v, 0) for v in text], dtype=np.int64)
    names = {f"{prefix}/{i}": u for u, i in number.items()}
    return label, prefix, names, dict(names)


def repetitions(label: np.ndarray) -> np.ndarray:
    """Each run of a non-rest label is the next repetition of that label (1, 2, ...)."""
    rep = np.zeros(len(label), dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, np.diff(label) != 0])
    ends = np.r_[starts[1:], len(label)]
    count: dict[int, int] = {}
    for a, b in zip(starts, ends):
        if label[a] != 0:
            count[int(label[a])] = count.get(int(label[a]), 0) + 1
            rep[a:b] = count[int(label[a])]
    return rep
