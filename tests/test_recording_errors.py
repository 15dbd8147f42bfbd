"""Bad input to the recording reader: one DataError naming the file, the field and what was expected."""

from __future__ import annotations

import edfio
import numpy as np
import pandas as pd
import pytest
import yaml

from myosem_core.data.own_recordings import read_recording
from myosem_core.errors import DataError

FS, CHANNELS = 250.0, ["exg_1", "exg_2", "exg_3"]


def write(folder, t=None, columns=CHANNELS, n=500, sidecar=None, rows=None, events=None):
    x = np.random.default_rng(0).normal(size=(n, len(columns)))
    df = pd.DataFrame(x, columns=columns)
    df.insert(0, "timestamp", np.arange(n) / FS if t is None else t)
    if rows:
        df = df.astype(object)
        for (i, col), v in rows.items():
            df.loc[i, col] = v
    df.to_csv(folder / "s.csv", index=False)
    sc = {"sampling_rate": FS, "channels": CHANNELS, "signal": "raw", "time_column": "timestamp", **(sidecar or {})}
    if events is not None:
        events.to_csv(folder / "s_events.csv", index=False)
        sc["events"] = "s_events.csv"
    (folder / "s.yaml").write_text(yaml.safe_dump(sc))
    return folder / "s.csv"


def error(path) -> DataError:
    with pytest.raises(DataError) as exc:
        read_recording(path)
    return exc.value


def test_sidecar_rate_disagrees_with_timestamps(tmp_path):
    e = error(write(tmp_path, t=np.arange(500) / 200.0))
    assert e.source.endswith("s.csv") and e.field == "sampling_rate"
    assert "250 Hz" in e.problem and "200 Hz" in e.problem


def test_non_monotonic_timestamps(tmp_path):
    t = np.arange(500) / FS
    t[100], t[101] = t[101], t[100]
    e = error(write(tmp_path, t=t))
    assert e.source.endswith("s.csv") and e.field == "timestamp"
    assert "non-monotonic" in e.problem and "row 102" in e.problem and "increasing" in e.problem


def test_duplicated_timestamps(tmp_path):
    t = np.arange(500) / FS
    t[51] = t[50]
    e = error(write(tmp_path, t=t))
    assert e.field == "timestamp" and "duplicated at data row 52" in e.problem


def test_missing_channel(tmp_path):
    e = error(write(tmp_path, columns=CHANNELS[:2]))
    assert e.source.endswith("s.csv") and e.field == "channels" and "exg_3" in e.problem


def test_extra_channel(tmp_path):
    e = error(write(tmp_path, columns=CHANNELS + ["exg_4"]))
    assert e.field == "channels" and "exg_4" in e.problem and "ignore_columns" in e.problem


def test_npy_with_the_wrong_channel_count(tmp_path):
    np.save(tmp_path / "s.npy", np.zeros((100, 4)))
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({"sampling_rate": FS, "channels": CHANNELS}))
    e = error(tmp_path / "s.npy")
    assert e.source.endswith("s.npy") and e.field == "channels" and "expected 3 columns" in e.problem


def test_edf_signal_missing_from_sidecar(tmp_path):
    sig = [edfio.EdfSignal(np.zeros(500), sampling_frequency=FS, label=c) for c in ("exg_1", "exg_2")]
    edfio.Edf(sig).write(tmp_path / "s.edf")
    (tmp_path / "s.yaml").write_text(yaml.safe_dump({"sampling_rate": FS, "channels": CHANNELS}))
    e = error(tmp_path / "s.edf")
    assert e.source.endswith("s.edf") and e.field == "channels" and "exg_3" in e.problem


def test_event_outside_the_recording(tmp_path):
    events = pd.DataFrame({"time": [0.5, 9.0], "prompt": ["index closed", "rest"]})
    e = error(write(tmp_path, events=events))
    assert e.source.endswith("s_events.csv") and e.field == "time"
    assert "event 2 at t=9 s" in e.problem and "outside the recording" in e.problem


def test_text_in_a_numeric_column(tmp_path):
    e = error(write(tmp_path, rows={(7, "exg_2"): "n/a-railed"}))
    assert e.source.endswith("s.csv") and e.field == "exg_2"
    assert "expected numbers" in e.problem and "row 8" in e.problem and "n/a-railed" in e.problem


def test_text_in_an_event_time(tmp_path):
    events = pd.DataFrame({"time": ["0.5", "soon"], "prompt": ["index closed", "rest"]})
    e = error(write(tmp_path, events=events))
    assert e.source.endswith("s_events.csv") and e.field == "time" and "'soon'" in e.problem


@pytest.mark.parametrize("fields, field, needle", [
    ({"sampling_rate": "fast"}, "sampling_rate", "positive number"),
    ({"signal": "emg"}, "signal", "raw"),
    ({"channels": []}, "channels", "non-empty"),
    ({"rate": 250}, "rate", "unknown field"),
    ({"events": "missing.csv"}, "events", "does not exist"),
    ({"time_column": "time"}, "time", "time_column"),
])
def test_bad_sidecar_fields(tmp_path, fields, field, needle):
    e = error(write(tmp_path, sidecar=fields))
    assert e.field == field and needle in e.problem


def test_missing_sidecar(tmp_path):
    path = write(tmp_path)
    (tmp_path / "s.yaml").unlink()
    e = error(path)
    assert e.source.endswith("s.csv") and e.field == "sidecar" and "s.yaml" in e.problem
