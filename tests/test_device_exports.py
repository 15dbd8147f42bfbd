"""Board exports read exactly as the devices write them: OpenBCI Cyton CSV + prompt file, BrainFlow's own files."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from myosem_core.data import finger_states as fs_
from myosem_core.data.boards import board, board_id, brainflow
from myosem_core.data.brainflow_files import read_brainflow_file, write_brainflow_file
from myosem_core.data.own_recordings import read_recording
from myosem_core.data.session import Recording
from myosem_core.errors import ConfigError, DataError

FS, C = 250.0, 8
T0_MS = 199_968_000.0  # an OpenBCI session clock in milliseconds


def cyton_export(folder, seconds: float = 31.0, jitter_ms: float = 0.3, seed: int = 0,
                 finger_names=("thumb", "index", "middle", "ring", "pinky")):
    """exg.csv (timestamp in ms, exg_1..exg_8), prompt.csv (timestamp + five 0/1 fingers every 5 s), exg.yaml."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    t_ms = T0_MS + np.arange(n) * 4.0 + rng.uniform(-jitter_ms, jitter_ms, n)
    t_ms[0] = T0_MS
    x = rng.normal(0, 25, size=(n, C)).round(3)
    exg = pd.DataFrame(x, columns=[f"exg_{i + 1}" for i in range(C)])
    exg.insert(0, "timestamp", t_ms.round(3))
    exg.to_csv(folder / "exg.csv", index=False)
    n_prompts = int(seconds // 5)
    states = rng.integers(0, 2, size=(n_prompts, 5))
    states[0] = (0, 1, 0, 0, 1)  # index and little: the little finger under the column name the device uses
    prompt = pd.DataFrame(states, columns=list(finger_names))
    prompt.insert(0, "timestamp", T0_MS + 5000.0 * np.arange(n_prompts))
    prompt.to_csv(folder / "prompt.csv", index=False)
    (folder / "exg.yaml").write_text(yaml.safe_dump({
        "sampling_rate": 250, "channels": [f"exg_{i + 1}" for i in range(C)], "signal": "raw",
        "time_column": "timestamp", "time_unit": "ms", "events": "prompt.csv"}))
    return folder / "exg.csv", x, t_ms, prompt


def expected_labels(t_ms: np.ndarray, prompt: pd.DataFrame) -> np.ndarray:
    """Hand reference: each sample takes the last prompt row at or before it (bits, thumb highest)."""
    row = np.searchsorted(prompt["timestamp"].to_numpy(), t_ms, side="right") - 1
    weights = np.array([16, 8, 4, 2, 1])
    bits = prompt.iloc[:, 1:].to_numpy() @ weights
    return np.where(row >= 0, bits[np.maximum(row, 0)], 0)


def test_openbci_cyton_export_reads_as_exported(tmp_path):
    path, x, t_ms, prompt = cyton_export(tmp_path)
    rec = read_recording(path)
    np.testing.assert_allclose(rec.emg, x, rtol=1e-6)
    assert rec.fs == FS and rec.n_channels == C and rec.meta["t0"] == pytest.approx(T0_MS / 1000)
    np.testing.assert_array_equal(rec.label, expected_labels(t_ms, prompt))
    assert rec.label[0] == 0b01001 == 9  # index + little, read from the "pinky" column
    assert rec.meta["descriptions"]["fingers/9"] == "close the index and little fingers"


@pytest.mark.parametrize("little, index", [("pinkie", "index"), ("small", "pointer"), ("Little_Finger", "forefinger"),
                                           ("PINKY", "Index")])
def test_every_spelling_of_a_finger_column_reads(tmp_path, little, index):
    path, _, t_ms, prompt = cyton_export(tmp_path, finger_names=("thumb", index, "middle", "ring", little))
    np.testing.assert_array_equal(read_recording(path).label, expected_labels(t_ms, prompt))


def test_two_columns_for_one_finger_are_one_error(tmp_path):
    path, *_ = cyton_export(tmp_path)
    p = pd.read_csv(tmp_path / "prompt.csv")
    p["little"] = p["pinky"]
    p.to_csv(tmp_path / "prompt.csv", index=False)
    with pytest.raises(DataError, match=r"prompt.csv: field 'little': columns 'pinky' and 'little' both name"):
        read_recording(path)


def test_prompt_times_in_the_wrong_unit_say_so(tmp_path):
    path, *_ = cyton_export(tmp_path)
    sc = yaml.safe_load((tmp_path / "exg.yaml").read_text())
    p = pd.read_csv(tmp_path / "prompt.csv")
    p["timestamp"] = p["timestamp"] * 1000  # microseconds while the data are in milliseconds
    p.to_csv(tmp_path / "prompt.csv", index=False)
    (tmp_path / "exg.yaml").write_text(yaml.safe_dump(sc))
    with pytest.raises(DataError, match=r"lies outside the recording .* 0.001x as large would fit"):
        read_recording(path)


def test_event_times_follow_the_sidecar_unit_for_npy_too(tmp_path):
    x = np.random.default_rng(1).normal(size=(2500, 4)).astype(np.float32)
    np.save(tmp_path / "r.npy", x)
    pd.DataFrame({"onset": [1500.0, 6000.0], "duration": [1000.0, 2000.0], "label": ["index closed", "fist"]}
                 ).to_csv(tmp_path / "ev.csv", index=False)
    (tmp_path / "r.yaml").write_text(yaml.safe_dump({"sampling_rate": 250, "channels": 4, "time_unit": "ms",
                                                     "events": "ev.csv"}))
    t = np.arange(len(x)) / FS
    expect = np.select([(t >= 1.5) & (t < 2.5), (t >= 6) & (t < 8)], [fs_.bits((0, 1, 0, 0, 0)), 31], 0)
    np.testing.assert_array_equal(read_recording(tmp_path / "r.npy").label, expect)


# ------------------------------------------------------------------ BrainFlow files


def brainflow_recording(n: int = 2000, channels: int = 8, seed: int = 0) -> Recording:
    x = np.random.default_rng(seed).normal(0, 30, size=(n, channels)).round(4)
    return Recording(emg=x, fs=FS, label=np.zeros(n), repetition=np.zeros(n), subject="P1", dataset="test",
                     exercise="e", class_prefix="fingers")


def test_board_names_and_ids_resolve_through_brainflow():
    BoardIds, BoardShim = brainflow().BoardIds, brainflow().BoardShim

    assert board_id("cyton") == board_id("CYTON_BOARD") == board_id(0) == board_id("0") == BoardIds.CYTON_BOARD.value
    b = board("cyton")
    assert b.emg_rows == tuple(BoardShim.get_emg_channels(0)) and b.sampling_rate == BoardShim.get_sampling_rate(0)
    assert b.timestamp_row == BoardShim.get_timestamp_channel(0) and b.num_rows == BoardShim.get_num_rows(0)
    assert board("synthetic").num_rows == BoardShim.get_num_rows(-1)


@pytest.mark.parametrize("value, needle", [(9999, "unknown BrainFlow board id 9999"), ("nosuchboard", "nosuchboard"),
                                           ("playback", "master")])
def test_an_unknown_board_is_one_config_error(value, needle):
    with pytest.raises(ConfigError, match=needle):
        board(value)


def test_a_brainflow_file_reads_with_the_board_id_alone(tmp_path):
    DataFilter = brainflow().DataFilter
    rec = brainflow_recording()
    path = write_brainflow_file(tmp_path / "cyton.csv", rec, "cyton", t0=1_700_000_000.0)
    raw = DataFilter.read_file(str(path))  # BrainFlow's own reader: (rows, samples)
    assert raw.shape == (24, rec.n_samples)
    back = read_recording(path, board="cyton")
    np.testing.assert_allclose(back.emg, raw[1:9].T, atol=1e-6)  # rows 1..8 are the Cyton's EXG
    np.testing.assert_allclose(back.emg, rec.emg, atol=1e-5)
    assert back.fs == 250.0 and back.channel_names == tuple(f"exg_{i}" for i in range(1, 9))
    assert back.meta["t0"] == pytest.approx(1_700_000_000.0) and not back.meta["labelled"]


def test_a_brainflow_file_takes_prompts_on_its_clock_or_its_markers(tmp_path):
    rec = brainflow_recording(2500)
    path = write_brainflow_file(tmp_path / "cyton.csv", rec, 0, t0=1_700_000_000.0, markers={500: 3.0, 1500: 7.0})
    marked = read_recording(path, board="cyton")
    assert (marked.label[:500] == 0).all() and len(set(marked.label[500:1500])) == 1
    assert set(marked.meta["label_names"].values()) == {"marker 3", "marker 7"}
    pd.DataFrame({"timestamp": [1_700_000_002.0, 1_700_000_006.0], "thumb": [1, 0], "index": [1, 0],
                  "middle": [0, 0], "ring": [0, 0], "pinky": [0, 1]}).to_csv(tmp_path / "p.csv", index=False)
    prompted = read_brainflow_file(path, "cyton", events=tmp_path / "p.csv")
    t = np.arange(rec.n_samples) / FS
    np.testing.assert_array_equal(prompted.label, np.select([(t >= 2) & (t < 6), t >= 6], [24, 1], 0))


def test_a_brainflow_file_with_the_wrong_row_count_is_one_error(tmp_path):
    path = write_brainflow_file(tmp_path / "synthetic.csv", brainflow_recording(channels=16), "synthetic")
    with pytest.raises(DataError, match=r"synthetic.csv: field 'rows': expected 24 tab-separated numbers per line, "
                                        r"the sample layout of board 'Cyton' \(id 0\), got 32"):
        read_recording(path, board="cyton")


def test_a_brainflow_file_of_another_rate_is_one_error(tmp_path):
    path = write_brainflow_file(tmp_path / "cyton.csv", brainflow_recording(), "cyton")
    # Cyton and Cyton-WiFi share the 24-row layout; the WiFi shield streams at 1 kHz
    wifi = board("CYTON_WIFI_BOARD")
    assert wifi.num_rows == 24 and wifi.sampling_rate != 250
    with pytest.raises(DataError, match=r"cyton.csv: field 'row 22': board .* samples at 1000 Hz but the file's "
                                        r"timestamps give 250 Hz"):
        read_recording(path, board="CYTON_WIFI_BOARD")


def test_a_damaged_brainflow_line_is_named(tmp_path):
    path = write_brainflow_file(tmp_path / "cyton.csv", brainflow_recording(), "cyton")
    lines = path.read_text().splitlines()
    lines[41] = lines[41].replace("\t", "\tabc", 1)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"field 'row 1': expected a number; line 42 holds 'abc"):
        read_recording(path, board="cyton")


@pytest.mark.parametrize("layout", ["openbci", "brainflow"])
def test_simulated_sessions_written_as_boards_export_them_read_back(tmp_path, layout):
    from myosem_core.data.device_files import Device, device_recording, write_recording_files

    rec = device_recording(Device("cyton-like", 8, 250.0), n_repetitions=1).between(0.0, 16.0)
    path = write_recording_files(tmp_path, rec, layout)
    back = read_recording(path) if layout == "openbci" else \
        read_recording(path, board="cyton", events=tmp_path / "session1_prompts.csv")
    np.testing.assert_array_equal(back.label, rec.label)
    np.testing.assert_allclose(back.emg, rec.emg, atol=1e-5)
    if layout == "openbci":
        assert pd.read_csv(tmp_path / "session1_prompt.csv").columns.tolist() == \
            ["timestamp", "thumb", "index", "middle", "ring", "pinky"]
