"""Synthetic recordings of other devices, written in the layouts :mod:`.own_recordings` reads.

A prompt-based session: the screen shows "thumb, index and middle closed"
and the user closes those fingers. :func:`device_recording` simulates one with
the synthetic forward model (:mod:`.synthetic`) for any channel count and
sampling rate, labelled with five-finger states; :func:`write_recording_files`
writes it as CSV (``timestamp, exg_1 ...``) + sidecar + prompt file, as NPY +
sidecar + prompt file, as EDF+ with the prompts as annotations, as an OpenBCI
export (``exg.csv`` with millisecond timestamps, ``prompt.csv`` with five 0/1
finger columns ``thumb, index, middle, ring, pinky``, a sidecar saying ``time_unit:
ms``), or as BrainFlow's own file of a board (no sidecar; a prompt file on its
Unix clock). Results on these files are synthetic.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..errors import ConfigError
from ..io import atomic_path, write_text
from . import finger_states as fs_
from .session import Recording
from .synthetic import SyntheticConfig, generate_subject, gesture_names

#: Synthetic gestures that are a set of closed fingers (thumb, index, middle, ring, little).
FINGER_GESTURES: dict[str, tuple[int, ...]] = {
    "thumb flexion": (1, 0, 0, 0, 0), "index flexion": (0, 1, 0, 0, 0), "middle flexion": (0, 0, 1, 0, 0),
    "ring flexion": (0, 0, 0, 1, 0), "little finger flexion": (0, 0, 0, 0, 1), "pinch": (1, 1, 0, 0, 0),
    "point": (1, 0, 1, 1, 1), "fist": (1, 1, 1, 1, 1),
}


@dataclass(frozen=True)
class Device:
    """A recording device: channel count, sampling rate, signal kind ("raw" or "rms", RMS only at 100 Hz)."""

    name: str
    n_channels: int
    fs: float
    signal: str = "raw"


#: The devices the book reports on: an OpenBCI-like board, a high-density sleeve, and DB1's own layout.
DEVICES = (Device("openbci8-250Hz", 8, 250.0), Device("sleeve16-2kHz", 16, 2000.0),
           Device("db1-layout10-100Hz-rms", 10, 100.0, "rms"))


def device_recording(device: Device, subject: int = 1, n_repetitions: int = 4, seed: int = 0) -> Recording:
    """A synthetic session of ``device``: every finger gesture ``n_repetitions`` times, labels = finger states."""
    if device.signal == "rms" and device.fs != 100.0:
        raise ConfigError(f"device {device.name!r}: the synthetic RMS output is 100 Hz, got {device.fs:g}")
    syn = SyntheticConfig(n_subjects=1, n_repetitions=n_repetitions, n_channels=device.n_channels,
                          output=device.signal, raw_fs=device.fs, gestures=tuple(FINGER_GESTURES), seed=seed)
    rec = generate_subject(syn, subject)
    names = gesture_names()
    number = np.zeros(max(names) + 1, dtype=np.int64)
    for n, name in names.items():
        number[n] = fs_.bits(FINGER_GESTURES[name]) if name in FINGER_GESTURES else 0
    label = number[rec.label]
    keys = sorted({f"{fs_.PREFIX}/{n}" for n in np.unique(label) if n})
    return Recording(
        emg=rec.emg, fs=rec.fs, label=label, repetition=rec.repetition, subject=f"S{subject}",
        dataset=f"synthetic/{device.name}", exercise="prompts", class_prefix=fs_.PREFIX, signal_kind=device.signal,
        channel_names=tuple(f"exg_{i + 1}" for i in range(device.n_channels)),
        source=f"<synthetic device {device.name} seed={seed} subject={subject}>",
        meta={"synthetic": True, "device": device.name,
              "descriptions": {k: fs_.describe(fs_.from_bits(int(k.split("/")[1]))) for k in keys},
              "label_names": {k: fs_.label_name(fs_.from_bits(int(k.split("/")[1]))) for k in keys}},
    )


def prompt_events(rec: Recording, t0: float = 0.0) -> pd.DataFrame:
    """One row per label change: ``time`` (s from ``t0``) and the ``prompt`` shown ("index closed", "rest")."""
    change = np.flatnonzero(np.r_[True, np.diff(rec.label) != 0])
    prompts = ["rest" if rec.label[i] == 0 else fs_.label_name(fs_.from_bits(rec.label[i])) for i in change]
    return pd.DataFrame({"time": np.round(t0 + change / rec.fs, 6), "prompt": prompts})


def write_recording_files(folder: str | Path, rec: Recording, layout: str = "csv", stem: str = "session1",
                          t0: float = 1_700_000_000.0, board: str = "cyton") -> Path:
    """Write ``rec`` as ``<stem>.csv|.npy|.edf`` with its sidecar (and prompt file); returns the data file.

    CSV timestamps are Unix seconds from ``t0`` (as BrainFlow writes them; ``openbci``: milliseconds), so
    the prompt file uses the same clock; NPY and EDF carry no time column and their prompts count from 0 s.
    ``brainflow`` writes ``board``'s file (read it with ``read_recording(path, board=board, events=...)``).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    sidecar = {"sampling_rate": float(rec.fs), "channels": list(rec.channel_names), "signal": rec.signal_kind,
               "units": "uV" if rec.signal_kind == "raw" else "a.u.", "subject": rec.subject,
               "device": rec.meta.get("device", "")}
    if layout == "csv":
        data = folder / f"{stem}.csv"
        df = pd.DataFrame(rec.emg, columns=list(rec.channel_names))
        df.insert(0, "timestamp", t0 + np.arange(rec.n_samples) / rec.fs)
        with atomic_path(data, ".csv") as tmp:
            df.to_csv(tmp, index=False, float_format="%.6f")
        prompt_events(rec, t0).to_csv(folder / f"{stem}_prompts.csv", index=False)
        sidecar.update(time_column="timestamp", time_unit="s", events=f"{stem}_prompts.csv")
    elif layout == "npy":
        data = folder / f"{stem}.npy"
        with atomic_path(data, ".npy") as tmp:
            np.save(tmp, rec.emg.astype(np.float32))
        prompt_events(rec).to_csv(folder / f"{stem}_prompts.tsv", sep="\t", index=False)
        sidecar.update(events=f"{stem}_prompts.tsv")
    elif layout == "edf":
        data = folder / f"{stem}.edf"
        _write_edf(data, rec)
    elif layout == "openbci":  # milliseconds, finger columns under OpenBCI's names
        data = folder / f"{stem}.csv"
        df = pd.DataFrame(rec.emg, columns=list(rec.channel_names))
        df.insert(0, "timestamp", np.round(1e3 * t0 + np.arange(rec.n_samples) * 1e3 / rec.fs, 3))
        with atomic_path(data, ".csv") as tmp:
            df.to_csv(tmp, index=False, float_format="%.6f")
        change = np.flatnonzero(np.r_[True, np.diff(rec.label) != 0])
        states = np.array([fs_.from_bits(int(rec.label[i])) for i in change])
        prompts = pd.DataFrame(states, columns=["thumb", "index", "middle", "ring", "pinky"])
        prompts.insert(0, "timestamp", np.round(1e3 * t0 + change * 1e3 / rec.fs, 3))
        prompts.to_csv(folder / f"{stem}_prompt.csv", index=False)
        sidecar.update(time_column="timestamp", time_unit="ms", events=f"{stem}_prompt.csv")
    elif layout == "brainflow":  # BrainFlow's own file of a board with this rate and channel count: no sidecar
        from .brainflow_files import write_brainflow_file

        data = write_brainflow_file(folder / f"{stem}.csv", rec, board, t0=t0)
        prompt_events(rec, t0).to_csv(folder / f"{stem}_prompts.csv", index=False)
        return data
    else:
        raise ConfigError(f"unknown layout {layout!r}; expected csv, npy, edf, openbci or brainflow")
    write_text(folder / f"{stem}.yaml", yaml.safe_dump(sidecar, sort_keys=False))
    return data


def _write_edf(path: Path, rec: Recording) -> None:
    import edfio

    signals = []
    for c, name in enumerate(rec.channel_names):
        x = rec.emg[:, c].astype(np.float64)
        lo, hi = float(x.min()), float(x.max())
        pad = 0.01 * (hi - lo) + 1e-6
        signals.append(edfio.EdfSignal(x, sampling_frequency=float(rec.fs), label=name, physical_dimension="uV",
                                       physical_range=(lo - pad, hi + pad)))
    ev = prompt_events(rec)
    ann = [edfio.EdfAnnotation(float(t), None, str(p)) for t, p in zip(ev["time"], ev["prompt"])]
    n_records = rec.n_samples / rec.fs
    edf = edfio.Edf(signals, annotations=ann, data_record_duration=1.0 if n_records == int(n_records) else None)
    with atomic_path(path, ".edf") as tmp:
        edf.write(tmp)
