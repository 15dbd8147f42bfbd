"""NinaPro reader on the real DB1 files, DB2-, DB4- and DB5-style fixtures, and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.io
from conftest import DB1_SUBJECTS
from fixtures import write_ninapro_db2

from myosem_core.cross_device import labelled_windows, to_layout
from myosem_core.data import (
    WindowConfig,
    load_recordings,
    make_split,
    make_windows,
    read_ninapro,
)
from myosem_core.data.catalog import class_name
from myosem_core.data.ninapro import FilterConfig, filter_raw_emg
from myosem_core.data.windows import concat_windows
from myosem_core.errors import ConfigError, DataError

DB2_C_LABELS = tuple(range(18, 41))  # DB2 exercise 2 (NinaPro exercise C) in DB2's global numbering


# ---- real DB1 ----

def test_db1_all_18_subjects_read(db1_recordings):
    assert [r.subject for r in db1_recordings] == DB1_SUBJECTS


def test_db1_layout(db1_recordings):
    for r in db1_recordings:
        assert r.dataset == "ninapro-db1" and r.fs == 100.0 and r.signal_kind == "rms"
        assert r.n_channels == 10
        assert r.pose_kind == "cyberglove22" and r.pose.shape == (r.n_samples, 22)
        assert set(np.unique(r.label)) == set(range(13)), r.subject
        assert set(np.unique(r.repetition)) == set(range(11)), r.subject
        assert r.class_prefix == "ninapro/A" and r.exercise == "1"
        assert r.n_samples > 100 * 60 * 3  # several minutes of data


def test_db1_is_not_filtered(db1_dir, db1_recordings):
    rec = db1_recordings[0]
    mat = scipy.io.loadmat(str(db1_dir / "S1_A1_E1.mat"))
    n = rec.n_samples
    np.testing.assert_array_equal(rec.emg, mat["emg"][:n].astype(np.float32))
    np.testing.assert_array_equal(rec.pose, mat["glove"][:n].astype(np.float32))
    np.testing.assert_array_equal(rec.label, mat["restimulus"].ravel()[:n])
    np.testing.assert_array_equal(rec.repetition, mat["rerepetition"].ravel()[:n])


# ---- DB2-style fixture ----

def test_db2_fixture_filtered_with_exercise_offset(tmp_path):
    path = write_ninapro_db2(tmp_path / "S3_E2_A1.mat", n=24000, subject=3, labels=DB2_C_LABELS, n_reps=1)
    raw = scipy.io.loadmat(str(path))["emg"]
    rec = read_ninapro(path)
    assert rec.dataset == "ninapro-db2" and rec.subject == "S3" and rec.fs == 2000.0 and rec.signal_kind == "raw"
    assert rec.n_channels == 12 and rec.class_prefix == "ninapro/C"
    assert set(np.unique(rec.label)) == set(range(24))  # 18..40 -> 1..23, plus rest
    np.testing.assert_allclose(rec.emg, filter_raw_emg(raw, 2000.0, FilterConfig()), rtol=1e-5, atol=1e-12)
    unfiltered = read_ninapro(path, filters=FilterConfig(bandpass_hz=None, notch_hz=None))
    np.testing.assert_allclose(unfiltered.emg, raw.astype(np.float32))


def test_db2_slightly_short_labels_are_trimmed_with_warning(tmp_path):
    path = write_ninapro_db2(tmp_path / "S1_E2_A1.mat", n=24000, labels=DB2_C_LABELS, n_reps=1, label_shortfall=7)
    with pytest.warns(UserWarning, match="trimmed"):
        rec = read_ninapro(path)
    assert rec.n_samples == 24000 - 7 and rec.pose.shape[0] == rec.n_samples


def test_db2_far_shorter_labels_are_an_error(tmp_path):
    path = write_ninapro_db2(tmp_path / "S1_E2_A1.mat", n=24000, labels=DB2_C_LABELS, n_reps=1, label_shortfall=2000)
    with pytest.raises(DataError) as e:
        read_ninapro(path)
    assert str(path) in str(e.value) and "'restimulus'" in str(e.value)


def test_equal_lengths_give_no_warning(tmp_path):
    path = write_ninapro_db2(tmp_path / "S1_E2_A1.mat", n=24000, labels=DB2_C_LABELS, n_reps=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        read_ninapro(path)


# ---- DB4 and DB5 (exercise A: DB1 exercise 1's movements on other electrodes) ----

def _amplitude_at(x: np.ndarray, fs: float, hz: float) -> float:
    """Mean spectral amplitude of the channels of ``x`` (samples x channels) at ``hz``."""
    spectrum = np.abs(np.fft.rfft(x - x.mean(0), axis=0))
    return float(spectrum[int(round(hz * len(x) / fs))].mean())


def test_db5_reads_myo_emg_at_200_hz_with_the_hum_and_offset_filtered_out(tmp_path):
    fs, n = 200.0, 200 * 60
    t = np.arange(n) / fs
    rng = np.random.default_rng(1)
    raw = 3.0 + rng.normal(0, 1, (n, 16)) + 20 * np.sin(2 * np.pi * 50 * t)[:, None]  # offset, noise, mains hum
    write_ninapro_db2(tmp_path / "S4_E1_A1.mat", n=n, exercise=1, subject=4, labels=range(1, 13), n_reps=2,
                      n_channels=16, fs=fs, emg=raw)
    (rec,) = load_recordings("ninapro-db5", tmp_path, progress=False)
    assert rec.dataset == "ninapro-db5" and rec.subject == "S4" and rec.fs == fs and rec.signal_kind == "raw"
    assert rec.n_channels == 16 and rec.pose_kind == "cyberglove22" and rec.class_prefix == "ninapro/A"
    assert set(np.unique(rec.label)) == set(range(13)) and set(np.unique(rec.repetition)) == {0, 1, 2}
    assert class_name(f"{rec.class_prefix}/1") == "index flexion"  # NinaPro's exercise A, as in DB1
    assert _amplitude_at(rec.emg, fs, 50) < _amplitude_at(raw, fs, 50) / 100  # notch at 50 Hz, below Nyquist
    assert abs(float(rec.emg.mean())) < 0.05  # the band-pass removed the offset of 3
    assert _amplitude_at(rec.emg, fs, 30) > 0.5 * _amplitude_at(raw, fs, 30)  # in-band signal kept


@pytest.mark.parametrize("labels", [range(1, 18), range(13, 30)], ids=["own numbering", "numbering across exercises"])
def test_db5_exercise_b_gets_its_movements_numbered_from_one(tmp_path, labels):
    path = write_ninapro_db2(tmp_path / "S1_E2_A1.mat", n=200 * 80, exercise=2, labels=labels, n_reps=1,
                             n_channels=16, fs=200.0)
    rec = read_ninapro(path, "ninapro-db5")
    assert rec.class_prefix == "ninapro/B" and set(np.unique(rec.label)) == set(range(18))


def test_db5_windows_in_db1s_layout_pool_with_db1s_windows(tmp_path, db1_recordings):
    """The route to more training users: a DB5 recording brought to DB1's layout (10-channel envelope at 100 Hz)
    gives windows of DB1's shape and class keys, which pool with DB1's."""
    path = write_ninapro_db2(tmp_path / "S1_E1_A1.mat", n=200 * 120, exercise=1, labels=range(1, 13), n_reps=2,
                             n_channels=16, fs=200.0)
    db5 = labelled_windows(to_layout(read_ninapro(path, "ninapro-db5")))
    db1 = labelled_windows(db1_recordings[0])
    assert db5.X.shape[1:] == db1.X.shape[1:] == (100, 10) and db5.class_keys == db1.class_keys
    pooled = concat_windows([db1, db5])
    assert len(pooled) == len(db1) + len(db5) and set(np.unique(db5.y)) == set(range(12))


def test_db4_reads_12_cometa_channels_without_a_glove(tmp_path):
    write_ninapro_db2(tmp_path / "S2_E1_A1.mat", n=24000, exercise=1, subject=2, labels=range(1, 13), n_reps=1,
                      drop=("glove",))
    (rec,) = load_recordings("ninapro-db4", tmp_path, progress=False)
    assert rec.dataset == "ninapro-db4" and rec.fs == 2000.0 and rec.n_channels == 12
    assert rec.pose is None and rec.pose_kind == "none" and rec.class_prefix == "ninapro/A"
    assert set(np.unique(rec.label)) == set(range(13))


def test_a_db5_file_read_by_its_name_alone_says_which_database_to_pass(tmp_path):
    path = write_ninapro_db2(tmp_path / "S1_E1_A1.mat", n=200 * 60, exercise=1, labels=range(1, 13), n_reps=1,
                             n_channels=16, fs=200.0)
    with pytest.raises(DataError) as e:
        read_ninapro(path)  # the name is DB2's too, and DB2 has 12 channels
    _check(e, path, "emg")
    assert "expected 12 channels for ninapro-db2" in str(e.value) and "ninapro-db5" in str(e.value)
    with pytest.raises(DataError) as e:  # named explicitly, the wrong database gets no hint
        read_ninapro(path, "ninapro-db4")
    assert "expected 12 channels for ninapro-db4, got 16" in str(e.value)


# ---- bad input: one DataError naming the file and field ----

def _check(exc_info, path, field=None):
    msg = str(exc_info.value)
    assert str(path) in msg, msg
    if field:
        assert f"'{field}'" in msg, msg


def test_missing_file(tmp_path):
    with pytest.raises(DataError) as e:
        read_ninapro(tmp_path / "S1_A1_E1.mat")
    _check(e, tmp_path / "S1_A1_E1.mat")
    assert "not found" in str(e.value)


@pytest.mark.parametrize("content", ["random", "truncated", "empty"])
def test_corrupt_file(tmp_path, db1_dir, content):
    path = tmp_path / "S1_A1_E1.mat"
    data = {"random": np.random.default_rng(0).bytes(4096),
            "truncated": (db1_dir / "S1_A1_E1.mat").read_bytes()[:100],
            "empty": b""}[content]
    path.write_bytes(data)
    with pytest.raises(DataError) as e:
        read_ninapro(path)
    _check(e, path)
    assert "not a readable" in str(e.value)


@pytest.mark.parametrize("field", ["emg", "restimulus", "rerepetition"])
def test_missing_field(tmp_path, field):
    path = write_ninapro_db2(tmp_path / "S1_E2_A1.mat", labels=DB2_C_LABELS, n=24000, n_reps=1, drop=(field,))
    with pytest.raises(DataError) as e:
        read_ninapro(path)
    _check(e, path, field)
    assert "missing" in str(e.value)


def test_wrong_channel_count(tmp_path):
    path = write_ninapro_db2(tmp_path / "S1_E2_A1.mat", labels=DB2_C_LABELS, n=24000, n_reps=1, n_channels=8)
    with pytest.raises(DataError) as e:
        read_ninapro(path)
    _check(e, path, "emg")
    assert "12 channels" in str(e.value) and "got 8" in str(e.value)


def test_nan_in_emg(tmp_path):
    emg = np.random.default_rng(0).normal(size=(24000, 12))
    emg[500, 3] = np.nan
    path = write_ninapro_db2(tmp_path / "S1_E2_A1.mat", labels=DB2_C_LABELS, n=24000, n_reps=1, emg=emg)
    with pytest.raises(DataError) as e:
        read_ninapro(path)
    _check(e, path, "emg")
    assert "sample 500" in str(e.value)


def test_unknown_dataset_name():
    with pytest.raises(ConfigError, match="unknown dataset 'ninapro-db99'"):
        load_recordings("ninapro-db99", "/nowhere")


def test_unknown_protocol_name(db1_recordings):
    ws = make_windows(db1_recordings[:1], WindowConfig())
    with pytest.raises(ConfigError, match="unknown protocol 'random'"):
        make_split(ws, "random")
