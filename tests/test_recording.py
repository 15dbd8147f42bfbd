"""Generic recordings: small files in each real layout (CSV + prompt file, TSV label column, NPY, EDF+), read back."""

from __future__ import annotations

import json

import edfio
import numpy as np
import pandas as pd
import pytest
import yaml

from myosem_core.data import finger_states as fs_
from myosem_core.data.catalog import class_name
from myosem_core.data.own_recordings import read_recording, read_sidecar
from myosem_core.data.windows import make_windows

FS, C = 250.0, 8
CHANNELS = [f"exg_{i + 1}" for i in range(C)]
T0 = 1_700_000_000.0  # BrainFlow writes Unix seconds


def emg(n: int = 2000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 20, size=(n, C)).round(3)


def sidecar(folder, stem, **fields):
    base = {"sampling_rate": FS, "channels": CHANNELS, "signal": "raw", "units": "uV"}
    (folder / f"{stem}.yaml").write_text(yaml.safe_dump({**base, **fields}))


def openbci_csv(folder, x, stem="session1"):
    df = pd.DataFrame(x, columns=CHANNELS)
    df.insert(0, "timestamp", T0 + np.arange(len(x)) / FS)
    df.to_csv(folder / f"{stem}.csv", index=False)
    return folder / f"{stem}.csv"


def test_csv_with_a_separate_prompt_file(tmp_path):
    x = emg()
    path = openbci_csv(tmp_path, x)
    pd.DataFrame({"time": T0 + np.array([0.0, 1.0, 3.0, 4.0, 5.0, 7.0]),
                  "prompt": ["rest", "thumb, index and middle closed", "rest", "index closed", "1,1,1,0,0", "rest"]}
                 ).to_csv(tmp_path / "prompts.csv", index=False)
    sidecar(tmp_path, "session1", time_column="timestamp", events="prompts.csv", subject="P07")
    rec = read_recording(path)
    np.testing.assert_allclose(rec.emg, x, rtol=1e-6)
    assert rec.fs == FS and rec.channel_names == tuple(CHANNELS) and rec.signal_kind == "raw" and rec.subject == "P07"
    t = np.arange(len(x)) / FS
    three, index = fs_.bits((1, 1, 1, 0, 0)), fs_.bits((0, 1, 0, 0, 0))
    expect = np.select([(t >= 1) & (t < 3), (t >= 4) & (t < 5), (t >= 5) & (t < 7)], [three, index, three], 0)
    np.testing.assert_array_equal(rec.label, expect)
    assert rec.repetition[int(1.5 * FS)] == 1 and rec.repetition[int(5.5 * FS)] == 2  # second time the prompt shows
    key = f"fingers/{three}"
    assert rec.meta["descriptions"][key] == "close the thumb, index and middle fingers"
    assert class_name(key) == "thumb, index and middle closed" and rec.meta["t0"] == pytest.approx(T0)
    ws = make_windows([rec])
    assert set(ws.class_keys) == {key, f"fingers/{index}"} and ws.X.shape[1:] == (250, C)


def test_tsv_with_a_label_column_and_json_sidecar(tmp_path):
    x = emg(1000)
    df = pd.DataFrame(x, columns=CHANNELS)
    df.insert(0, "t_ms", np.arange(len(x)) * 4.0)
    df["prompt"] = np.where(np.arange(len(x)) < 500, "rest", "wave hello")
    df["battery"] = 3.7
    df.to_csv(tmp_path / "s.tsv", sep="\t", index=False)
    (tmp_path / "s.json").write_text(json.dumps({"sampling_rate": 250, "channels": CHANNELS, "signal": "raw",
                                                 "time_column": "t_ms", "time_unit": "ms", "label_column": "prompt",
                                                 "ignore_columns": ["battery"]}))
    rec = read_recording(tmp_path / "s.tsv")
    assert rec.class_prefix == "recording/s" and set(rec.label.tolist()) == {0, 1}
    assert rec.meta["descriptions"] == {"recording/s/1": "wave hello"} and class_name("recording/s/1") == "wave hello"


def test_npy_with_five_finger_event_columns(tmp_path):
    x = emg(1500).astype(np.float32)
    np.save(tmp_path / "rec.npy", x)
    pd.DataFrame({"onset": [1.0, 3.0], "duration": [1.0, 2.0], "thumb": [0, 1], "index": [1, 1], "middle": [0, 1],
                  "ring": [0, 1], "little": [0, 1]}).to_csv(tmp_path / "ev.tsv", sep="\t", index=False)
    sidecar(tmp_path, "rec", events="ev.tsv", channels=CHANNELS)
    rec = read_recording(tmp_path / "rec.npy")
    np.testing.assert_array_equal(rec.emg, x)
    t = np.arange(len(x)) / FS
    np.testing.assert_array_equal(rec.label, np.select([(t >= 1) & (t < 2), (t >= 3) & (t < 5)], [8, 31], 0))
    assert rec.meta["descriptions"]["fingers/31"] == "close every finger and the thumb into a fist"


def test_edf_plus_with_annotations(tmp_path):
    x = emg(2500)
    signals = [edfio.EdfSignal(x[:, c], sampling_frequency=FS, label=name, physical_dimension="uV",
                               physical_range=(-200.0, 200.0)) for c, name in enumerate(CHANNELS)]
    ann = [edfio.EdfAnnotation(2.0, 2.0, "middle closed"), edfio.EdfAnnotation(6.0, None, "thumb and index closed")]
    edfio.Edf(signals, annotations=ann).write(tmp_path / "lab.edf")
    sidecar(tmp_path, "lab")
    rec = read_recording(tmp_path / "lab.edf")
    np.testing.assert_allclose(rec.emg, x, atol=400 / 65535 * 1.01)  # 16-bit quantisation of +-200 uV
    t = np.arange(len(x)) / FS
    np.testing.assert_array_equal(rec.label, np.select([(t >= 2) & (t < 4), t >= 6], [4, 24], 0))
    assert rec.meta["descriptions"]["fingers/24"] == "close the thumb and index fingers"


def test_an_unlabelled_recording_reads_as_rest(tmp_path):
    np.save(tmp_path / "free.npy", emg(600))
    sidecar(tmp_path, "free", channels=8)
    rec = read_recording(tmp_path / "free.npy")
    assert rec.channel_names == tuple(f"ch{i}" for i in range(1, 9)) and not rec.label.any()
    assert read_sidecar(tmp_path / "free.yaml").events is None


@pytest.mark.parametrize("text, states", [
    ("thumb, index and middle closed", (1, 1, 1, 0, 0)), ("11100", (1, 1, 1, 0, 0)), ("[0, 1, 0, 0, 0]", (0, 1, 0, 0, 0)),
    ("1 0 0 0 1", (1, 0, 0, 0, 1)), ("pinky flexed", (0, 0, 0, 0, 1)), ("all fingers closed", (1, 1, 1, 1, 1)),
    ("ring and little open", (1, 1, 1, 0, 0)), ("thumb up", None), ("wave hello", None), ("index", None),
])
def test_finger_state_forms(text, states):
    assert fs_.parse_finger_states(text) == states


def test_finger_state_descriptions():
    assert fs_.describe((1, 1, 1, 0, 0)) == "close the thumb, index and middle fingers"
    assert fs_.describe((0, 1, 0, 0, 0)) == "close the index finger"
    assert fs_.bits((1, 1, 1, 0, 0)) == 28 and fs_.from_bits(28) == (1, 1, 1, 0, 0)
    assert len({fs_.describe(fs_.from_bits(n)) for n in range(32)}) == 32  # every state its own sentence
