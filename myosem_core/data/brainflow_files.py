"""Read and write BrainFlow's own files (``DataFilter.write_file``) given only the board's id.

BrainFlow saves a stream as a tab-separated text file without a header: one
line per sample, one number per row of the board's sample layout (a Cyton
line holds 24 numbers: a package counter, 8 EXG rows, accelerometer, ..., the
timestamp in Unix seconds, the marker). Which numbers are EMG, which is the
clock and what the rate is follow from the board id (:mod:`.boards`), so no
sidecar is needed::

    rec = read_brainflow_file("OpenBCI-RAW-2024.csv", "cyton")                  # unlabelled
    rec = read_brainflow_file("cyton.csv", "cyton", events="cyton_prompts.csv")  # prompts on the same clock

Labels come from an events file (the format of :func:`.events.read_events`,
times on the file's Unix clock in ``time_unit``), or else from the board's
marker row (``insert_marker``): each non-zero marker starts the label
``marker <value>``, which holds until the next marker. Sample times are the
first timestamp plus the sample count over the board's rate (BrainFlow stamps
packets on arrival, so single timestamps jitter); the timestamps must agree
with that rate overall, which also catches a file read with the wrong board's id.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..io import atomic_path
from .boards import Board, board as describe_board, brainflow
from .events import RATE_TOLERANCE, encode_labels, labels_from_events, read_events, repetitions
from .session import SIGNAL_KINDS, Recording


def read_brainflow_table(path: str | Path, b: Board) -> np.ndarray:
    """The file's samples as BrainFlow holds them: (num_rows, samples) float64, row count checked."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "BrainFlow file does not exist")
    try:
        df = pd.read_csv(path, sep="\t", header=None, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(path, None, f"expected BrainFlow's tab-separated samples, {b.num_rows} numbers a line "
                                    f"for board {b.name!r} ({exc})") from exc
    if df.shape[1] != b.num_rows:
        raise DataError(path, "rows", f"expected {b.num_rows} tab-separated numbers per line, the sample layout of "
                                      f"board {b.name!r} (id {b.id}), got {df.shape[1]}; is the board id right?")
    values = df.apply(pd.to_numeric, errors="coerce")
    bad = values.isna().to_numpy()
    if bad.any():
        line, col = (int(v) for v in np.argwhere(bad)[0])
        raise DataError(path, f"row {col}", f"expected a number; line {line + 1} holds {df.iat[line, col]!r}")
    if len(values) < 2:
        raise DataError(path, None, f"expected at least two samples, got {len(values)}")
    return values.to_numpy(np.float64).T


def read_brainflow_file(path: str | Path, board, events: str | Path | None = None, time_unit: str = "s",
                        signal: str = "raw", subject: str = "P1") -> Recording:
    """A :class:`Recording` of a BrainFlow file of ``board`` (id or name), labelled by ``events`` or its markers."""
    path = Path(path)
    b = board if isinstance(board, Board) else describe_board(board)
    if signal not in SIGNAL_KINDS:
        raise DataError(path, "signal", f"expected one of {SIGNAL_KINDS}, got {signal!r}")
    data = read_brainflow_table(path, b)
    n = data.shape[1]
    emg = data[list(b.emg_rows)].T
    t0 = 0.0
    if b.timestamp_row is not None:
        stamps = data[b.timestamp_row]
        t0 = float(stamps[0])
        measured = (n - 1) / (stamps[-1] - stamps[0]) if stamps[-1] > stamps[0] else float("nan")
        if not (abs(measured - b.sampling_rate) <= RATE_TOLERANCE * b.sampling_rate):
            raise DataError(path, f"row {b.timestamp_row}", f"board {b.name!r} samples at {b.sampling_rate:g} Hz "
                            f"but the file's timestamps give {measured:.4g} Hz over {n} samples; expected them to "
                            f"agree within {100 * RATE_TOLERANCE:g} % (is the board id right?)")
    t = t0 + np.arange(n) / b.sampling_rate
    labels = None
    if events is not None:
        labels = labels_from_events(read_events(events, time_unit), t, events)
    elif b.marker_row is not None and np.any(data[b.marker_row] != 0):
        marks = np.flatnonzero(data[b.marker_row] != 0)
        ev = pd.DataFrame({"time": t[marks], "label": [f"marker {v:g}" for v in data[b.marker_row, marks]]})
        labels = labels_from_events(ev, t, path)
    if labels is None:
        label, prefix, names, descriptions = np.zeros(n, np.int64), f"recording/{path.stem}", {}, {}
    else:
        label, prefix, names, descriptions = encode_labels(labels, path)
    return Recording(
        emg=emg, fs=b.sampling_rate, label=label, repetition=repetitions(label), subject=subject,
        dataset="recording", exercise=path.stem, class_prefix=prefix, signal_kind=signal,
        channel_names=b.channel_names, source=str(path),
        meta={"descriptions": descriptions, "label_names": names, "t0": t0, "units": "uV", "sidecar": None,
              "device": b.name, "board_id": b.id, "labelled": labels is not None},
    )


def write_brainflow_file(path: str | Path, rec: Recording, board, t0: float = 1_700_000_000.0,
                         markers: dict[int, float] | None = None) -> Path:
    """Write ``rec``'s EMG as BrainFlow would record it from ``board`` (``DataFilter.write_file``), atomically.

    Rows other than EMG, clock and markers are zero; ``markers`` maps sample index -> marker value.
    """
    b = board if isinstance(board, Board) else describe_board(board)
    if rec.fs != b.sampling_rate:
        raise DataError(rec.source, "fs", f"board {b.name!r} samples at {b.sampling_rate:g} Hz, the recording at "
                                          f"{rec.fs:g} Hz; expected them to match")
    if rec.n_channels != len(b.emg_rows):
        raise DataError(rec.source, "emg", f"board {b.name!r} records {len(b.emg_rows)} EMG rows, the recording "
                                           f"has {rec.n_channels} channels; expected them to match")
    data = np.zeros((b.num_rows, rec.n_samples), dtype=np.float64)
    data[list(b.emg_rows)] = rec.emg.T
    if b.timestamp_row is not None:
        data[b.timestamp_row] = t0 + np.arange(rec.n_samples) / rec.fs
    for i, v in (markers or {}).items():
        data[b.marker_row, i] = v
    path = Path(path)
    with atomic_path(path, ".csv") as tmp:
        brainflow().DataFilter.write_file(data, str(tmp), "w")
    return path
