"""Read a generic recording (CSV/TSV, NumPy ``.npy``, EDF/EDF+) described by a small sidecar file.

The sidecar (YAML or JSON, beside the data file as ``<stem>.yaml``, ``.yml`` or
``.json``) says what the numbers are::

    sampling_rate: 250          # Hz
    channels: [exg_1, exg_2, exg_3, exg_4, exg_5, exg_6, exg_7, exg_8]
    signal: raw                 # raw surface EMG, or rms (a device envelope such as NinaPro DB1's)
    units: uV
    time_column: timestamp      # CSV/TSV: the time column (optional; without it time = row / rate)
    time_unit: s                # s, ms or us
    label_column: null          # CSV/TSV: a per-row label column, or
    events: session1_events.csv # a file of timestamps and labels (path relative to the sidecar)
    ignore_columns: []          # CSV/TSV columns that are neither time, channel nor label
    subject: P01

Labels come from ``label_column`` or from the events file (CSV/TSV with a time
column ``time`` / ``onset`` / ``timestamp`` and a ``label`` / ``prompt`` column,
or five columns ``thumb, index, middle, ring, little`` of 0/1, under any of their
common names: ``pinky`` / ``pinkie`` / ``small`` for little, ``pointer`` /
``forefinger`` for index; an optional ``duration`` ends the label early, else it
holds until the next event). An EDF+ file's annotations are its events when the
sidecar names none. Event times use the recording's clock and the sidecar's
``time_unit``: the time column's values for CSV/TSV (an OpenBCI export in
milliseconds has its prompt file in milliseconds too), time from the start for
NPY/EDF. Labels naming finger states ("thumb, index and middle
closed", ``11100``) become shared ``fingers/<bits>`` classes
(:mod:`.finger_states`); any other label is a class of its own whose
description is the label text. ``rest`` (or all fingers open) is label 0.

    rec = read_recording("session1.csv")            # finds session1.yaml beside it
    rec.meta["descriptions"]                         # class key -> sentence for the text space

Every problem raises :class:`~myosem_core.errors.DataError` naming the file,
the field and what was expected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..errors import DataError
from .events import (RATE_TOLERANCE, TIME_UNITS, check_timestamps, delimiter, encode_labels, labels_from_events,
                     numeric, read_events, repetitions)
from .session import SIGNAL_KINDS, Recording

SIDECAR_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class Sidecar:
    """What the columns of a recording mean (see the module docstring for the file)."""

    sampling_rate: float
    channels: tuple[str, ...]
    signal: str = "raw"
    units: str = ""
    time_column: str | None = None
    time_unit: str = "s"
    label_column: str | None = None
    events: Path | None = None
    ignore_columns: tuple[str, ...] = ()
    subject: str = "P1"
    device: str = ""
    path: Path | None = field(default=None, compare=False)


def find_sidecar(data: str | Path) -> Path:
    """``<stem>.yaml`` / ``.yml`` / ``.json`` beside ``data``."""
    data = Path(data)
    for suffix in SIDECAR_SUFFIXES:
        p = data.with_suffix(suffix)
        if p.is_file() and p != data:
            return p
    raise DataError(data, "sidecar", f"expected a sidecar file {data.stem}.yaml (or .yml / .json) beside the "
                                     "recording with sampling_rate, channels and signal")


def read_sidecar(path: str | Path) -> Sidecar:
    """Parse and check a sidecar file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "sidecar file does not exist")
    try:
        raw = json.loads(path.read_text()) if path.suffix == ".json" else yaml.safe_load(path.read_text())
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise DataError(path, None, f"expected a YAML or JSON mapping ({exc})") from exc
    if not isinstance(raw, dict):
        raise DataError(path, None, f"expected a mapping of fields, got {type(raw).__name__}")
    known = set(Sidecar.__dataclass_fields__) - {"path"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise DataError(path, unknown[0], f"unknown field; expected some of {sorted(known)}")
    for name in ("sampling_rate", "channels"):
        if raw.get(name) is None:
            raise DataError(path, name, "required field is missing")
    try:
        rate = float(raw["sampling_rate"])
    except (TypeError, ValueError):
        rate = float("nan")
    if not (np.isfinite(rate) and rate > 0):
        raise DataError(path, "sampling_rate", f"expected a positive number of Hz, got {raw['sampling_rate']!r}")
    chans = raw["channels"]
    if isinstance(chans, int):  # a channel count: names ch1..chN
        chans = [f"ch{i + 1}" for i in range(chans)]
    if not isinstance(chans, list) or not chans or len(set(map(str, chans))) != len(chans):
        raise DataError(path, "channels", f"expected a non-empty list of distinct channel names, got {chans!r}")
    signal = str(raw.get("signal", "raw")).lower()
    if signal not in SIGNAL_KINDS:
        raise DataError(path, "signal", f"expected one of {SIGNAL_KINDS}, got {raw.get('signal')!r}")
    unit = str(raw.get("time_unit", "s"))
    if unit not in TIME_UNITS:
        raise DataError(path, "time_unit", f"expected one of {sorted(TIME_UNITS)}, got {unit!r}")
    events = raw.get("events")
    if events is not None:
        events = (path.parent / str(events)).resolve()
        if not events.is_file():
            raise DataError(path, "events", f"expected an existing events file, {events} does not exist")
    if events is not None and raw.get("label_column"):
        raise DataError(path, "events", "expected labels from either label_column or events, not both")
    return Sidecar(sampling_rate=rate, channels=tuple(map(str, chans)), signal=signal, units=str(raw.get("units", "")),
                   time_column=raw.get("time_column"), time_unit=unit, label_column=raw.get("label_column"),
                   events=events, ignore_columns=tuple(map(str, raw.get("ignore_columns") or ())),
                   subject=str(raw.get("subject", "P1")), device=str(raw.get("device", "")), path=path)


def read_recording(path: str | Path, sidecar: str | Path | Sidecar | None = None, board=None,
                   events: str | Path | None = None) -> Recording:
    """A :class:`Recording` of a CSV/TSV, ``.npy`` or EDF/EDF+ file and its sidecar.

    With ``board`` (a BrainFlow board id or name) the file is BrainFlow's own
    (:func:`.brainflow_files.read_brainflow_file`): no sidecar, labelled by ``events`` or its markers.
    ``rec.meta`` holds ``descriptions`` (class key -> sentence), ``label_names``,
    ``t0`` (the first timestamp), ``units`` and the sidecar's path.
    """
    path = Path(path)
    if board is not None:
        if sidecar is not None:
            raise DataError(path, "sidecar", "a BrainFlow file is described by its board id; expected a sidecar "
                                             "or a board, not both")
        from .brainflow_files import read_brainflow_file

        return read_brainflow_file(path, board, events)
    if events is not None:
        raise DataError(path, "events", "name the events file in the sidecar (field 'events')")
    if not path.is_file():
        raise DataError(path, None, "recording file does not exist")
    sc = sidecar if isinstance(sidecar, Sidecar) else read_sidecar(sidecar or find_sidecar(path))
    suffix = path.suffix.lower()
    annotations = None
    if suffix in (".csv", ".tsv", ".txt"):
        emg, t, labels = _read_table(path, sc)
    elif suffix == ".npy":
        emg, t, labels = _read_npy(path, sc)
    elif suffix in (".edf", ".bdf"):
        emg, t, labels, annotations = _read_edf(path, sc)
    else:
        raise DataError(path, "format", f"expected a .csv, .tsv, .npy, .edf or .bdf file, got {suffix!r}")
    t0 = float(t[0])
    if sc.events is not None:
        labels = labels_from_events(read_events(sc.events, sc.time_unit), t, sc.events)
    elif labels is None and annotations is not None and len(annotations):
        labels = labels_from_events(annotations, t, path)
    if labels is None:  # unlabelled: every sample is "rest"; windows can still be slid over it
        label, prefix, names, descriptions = np.zeros(len(emg), np.int64), f"recording/{path.stem}", {}, {}
    else:
        label, prefix, names, descriptions = encode_labels(labels, path)
    return Recording(
        emg=emg, fs=sc.sampling_rate, label=label, repetition=repetitions(label), subject=sc.subject,
        dataset="recording", exercise=path.stem, class_prefix=prefix, signal_kind=sc.signal,
        channel_names=sc.channels, source=str(path),
        meta={"descriptions": descriptions, "label_names": names, "t0": t0, "units": sc.units,
              "sidecar": str(sc.path) if sc.path else None, "events": str(sc.events) if sc.events else None,
              "device": sc.device, "labelled": labels is not None},
    )


# ------------------------------------------------------------------ formats

def _read_table(path: Path, sc: Sidecar):
    try:
        df = pd.read_csv(path, sep=delimiter(path), skipinitialspace=True, comment="%")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(path, None, f"expected a delimited text table with a header row ({exc})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    special = {c for c in (sc.time_column, sc.label_column) if c}
    for c in sorted(special):
        if c not in df.columns:
            field_name = "time_column" if c == sc.time_column else "label_column"
            raise DataError(path, c, f"the sidecar's {field_name} names column {c!r}, but the header has "
                                     f"{list(df.columns)}")
    missing = [c for c in sc.channels if c not in df.columns]
    if missing:
        raise DataError(path, "channels", f"the sidecar lists {missing} but the file has no such column; "
                                          f"expected all of {list(sc.channels)} in the header {list(df.columns)}")
    extra = [c for c in df.columns if c not in sc.channels and c not in special and c not in sc.ignore_columns]
    if extra:
        raise DataError(path, "channels", f"columns {extra} are not in the sidecar's channels {list(sc.channels)}; "
                                          "expected them listed there, or in ignore_columns")
    emg = np.column_stack([numeric(df[c], path, c) for c in sc.channels])
    if sc.time_column:
        t = numeric(df[sc.time_column], path, sc.time_column) * TIME_UNITS[sc.time_unit]
        check_timestamps(t, sc.sampling_rate, path, sc.time_column)
    else:
        t = np.arange(len(df)) / sc.sampling_rate
    labels = df[sc.label_column].to_numpy(dtype=object) if sc.label_column else None
    return emg, t, labels


def _read_npy(path: Path, sc: Sidecar):
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(path, None, f"expected a NumPy .npy array of numbers ({exc})") from exc
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(path, "dtype", f"expected a numeric array, got dtype {x.dtype}")
    if x.ndim != 2:
        raise DataError(path, "shape", f"expected a (samples, channels) array, got shape {x.shape}")
    if x.shape[1] != len(sc.channels):
        raise DataError(path, "channels", f"expected {len(sc.channels)} columns, one per sidecar channel "
                                          f"{list(sc.channels)}, got {x.shape[1]}")
    return x.astype(np.float64), np.arange(len(x)) / sc.sampling_rate, None


def _read_edf(path: Path, sc: Sidecar):
    import edfio

    try:
        edf = edfio.read_bdf(path) if path.suffix.lower() == ".bdf" else edfio.read_edf(path)
    except Exception as exc:  # edfio raises ValueError / EdfError subclasses on a malformed header
        raise DataError(path, None, f"expected a valid EDF/EDF+ file ({type(exc).__name__}: {exc})") from exc
    signals = {s.label.strip(): s for s in edf.signals}
    missing = [c for c in sc.channels if c not in signals]
    if missing:
        raise DataError(path, "channels", f"the sidecar lists {missing} but the file's signals are {list(signals)}")
    extra = [c for c in signals if c not in sc.channels and c not in sc.ignore_columns]
    if extra:
        raise DataError(path, "channels", f"signals {extra} are not in the sidecar's channels {list(sc.channels)}; "
                                          "expected them listed there, or in ignore_columns")
    for c in sc.channels:
        rate = float(signals[c].sampling_frequency)
        if abs(rate - sc.sampling_rate) > RATE_TOLERANCE * sc.sampling_rate:
            raise DataError(path, "sampling_rate", f"the sidecar says {sc.sampling_rate:g} Hz but signal {c!r} is "
                                                   f"stored at {rate:g} Hz; expected them to agree")
    n = min(len(signals[c].data) for c in sc.channels)
    emg = np.column_stack([np.asarray(signals[c].data[:n], dtype=np.float64) for c in sc.channels])
    ann = pd.DataFrame([(float(a.onset), np.nan if a.duration is None else float(a.duration), a.text)
                        for a in edf.annotations],
                       columns=["time", "duration", "label"]) if edf.annotations else None
    return emg, np.arange(n) / sc.sampling_rate, None, ann
