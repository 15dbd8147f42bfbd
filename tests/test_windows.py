"""Windows: inside one (label, repetition) segment, counts, rest, cache round-trip, mismatches."""

from __future__ import annotations

import dataclasses
from dataclasses import fields

import numpy as np
import pytest
from fixtures import write_emg2pose_dir

import myosem_core.data.loading as loading
from myosem_core.data import WindowConfig, load_recordings, load_windows, make_windows
from myosem_core.data.synthetic import SyntheticConfig, generate
from myosem_core.data.windows import segments
from myosem_core.errors import DataError

SMALL = SyntheticConfig(n_subjects=2, n_repetitions=3)


def _assert_inside_segments(ws, recordings, cfg):
    """Every window's samples share one (label, repetition), and it is the window's own."""
    L = int(round(cfg.length_s * ws.fs))
    for ri, rec in enumerate(recordings):
        rep = rec.repetition.copy()
        if cfg.include_rest:  # rest takes the repetition of the movement before it
            for a, b, lab, r in segments(rec, include_rest=True):
                rep[a:b] = r
        change = np.r_[0, np.cumsum((np.diff(rec.label) != 0) | (np.diff(rep) != 0))]
        sel = np.flatnonzero(ws.recording == ri)
        starts = ws.start[sel]
        assert np.all(change[starts] == change[starts + L - 1]), rec.source
        keys = np.array([rec.class_key(l) for l in rec.label[starts]])
        assert np.all(keys == ws.labels[sel])
        np.testing.assert_array_equal(rep[starts], ws.repetition[sel])
        np.testing.assert_array_equal(ws.X[sel[:50]], np.stack([rec.emg[s:s + L] for s in starts[:50]]))


def _brute_force_count(recordings, cfg, fs):
    """Windows counted by walking every sample: a run is a stretch of constant (label, repetition) (rest runs only
    with ``include_rest``); a window starts at the run's first sample and every hop after it while it fits."""
    L, H = int(round(cfg.length_s * fs)), int(round(cfg.hop_s * fs))
    n = 0
    for rec in recordings:
        start = 0
        for t in range(1, len(rec.label) + 1):
            if t == len(rec.label) or (rec.label[t], rec.repetition[t]) != (rec.label[start], rec.repetition[start]):
                if rec.label[start] != 0 or cfg.include_rest:
                    s = start
                    while s + L <= t:
                        n, s = n + 1, s + H
                start = t
    return n


def test_real_db1_windows_lie_inside_one_segment(db1_recordings, db1_windows):
    _assert_inside_segments(db1_windows, db1_recordings, WindowConfig())
    assert db1_windows.X.shape[1:] == (100, 10) and db1_windows.pose.shape[1:] == (100, 22)
    assert len(db1_windows.class_keys) == 12 and "ninapro/A/0" not in db1_windows.class_keys


def test_db1_window_count_matches_formula(db1_recordings, db1_windows):
    assert len(db1_windows) == _brute_force_count(db1_recordings, WindowConfig(), 100.0)


def test_segment_windows_count_by_hand():
    """A 250-sample movement with L=100, H=25 gives (250 - 100) // 25 + 1 = 7 windows."""
    from myosem_core.data import Recording

    label = np.r_[np.zeros(50), np.ones(250), np.zeros(50)].astype(int)
    rec = Recording(emg=np.ones((350, 2)), fs=100.0, label=label, repetition=label, subject="S1",
                    dataset="synthetic", exercise="S", class_prefix="synthetic/S")
    ws = make_windows([rec], WindowConfig(length_s=1.0, hop_s=0.25))
    assert len(ws) == 7 and list(ws.start) == [50 + 25 * i for i in range(7)]


@pytest.mark.parametrize("cfg", [WindowConfig(1.0, 0.25), WindowConfig(0.5, 0.5), WindowConfig(0.3, 0.1, include_rest=True)])
def test_synthetic_windows_inside_segments_and_counted(cfg):
    recs = generate(SMALL)
    ws = make_windows(recs, cfg)
    _assert_inside_segments(ws, recs, cfg)
    assert len(ws) == _brute_force_count(recs, cfg, 100.0)


def test_include_rest_adds_rest_windows_next_to_their_movement():
    recs = generate(SMALL)
    without = make_windows(recs, WindowConfig(1.0, 0.25))
    with_rest = make_windows(recs, WindowConfig(1.0, 0.25, include_rest=True))
    assert "synthetic/S/0" in with_rest.class_keys and "synthetic/S/0" not in without.class_keys
    is_rest = with_rest.labels == "synthetic/S/0"
    assert len(with_rest) == len(without) + is_rest.sum()
    # rest after repetition r carries r; only the lead-in rest before the first movement carries 0
    assert set(with_rest.repetition[is_rest].tolist()) == {0, 1, 2, 3}
    rec = recs[0]
    first_move = int(np.argmax(rec.label != 0))
    lead_in = is_rest & (with_rest.recording == 0) & (with_rest.start < first_move)
    assert lead_in.any() and np.all(with_rest.repetition[lead_in] == 0)


def test_cache_round_trip_gives_identical_arrays(tmp_path, monkeypatch):
    cfg = WindowConfig(0.5, 0.25)
    first = load_windows("synthetic", window=cfg, cache_dir=tmp_path, synthetic=SMALL, progress=False)
    files = list(tmp_path.glob("windows-synthetic-*.npz"))
    assert len(files) == 1

    def no_reading(*a, **k):
        raise AssertionError("the second load must come from the cache")

    monkeypatch.setattr(loading, "load_recordings", no_reading)
    second = load_windows("synthetic", window=cfg, cache_dir=tmp_path, synthetic=SMALL, progress=False)
    for f in fields(first):
        a, b = getattr(first, f.name), getattr(second, f.name)
        if isinstance(a, np.ndarray):
            assert a.dtype.kind == b.dtype.kind, f.name
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        elif f.name == "meta":
            assert a["window"] == b["window"] and a["dataset"] == b["dataset"]
        else:
            assert a == b, f.name


def test_cache_key_changes_with_options(tmp_path):
    load_windows("synthetic", window=WindowConfig(0.5, 0.25), cache_dir=tmp_path, synthetic=SMALL, progress=False)
    load_windows("synthetic", window=WindowConfig(0.5, 0.5), cache_dir=tmp_path, synthetic=SMALL, progress=False)
    other = SyntheticConfig(n_subjects=2, n_repetitions=3, seed=5)
    load_windows("synthetic", window=WindowConfig(0.5, 0.5), cache_dir=tmp_path, synthetic=other, progress=False)
    assert len(list(tmp_path.glob("windows-synthetic-*.npz"))) == 3


def test_corrupt_cache_is_a_data_error(tmp_path):
    load_windows("synthetic", window=WindowConfig(0.5, 0.25), cache_dir=tmp_path, synthetic=SMALL, progress=False)
    path = next(tmp_path.glob("windows-*.npz"))
    path.write_bytes(b"not an npz")
    with pytest.raises(DataError) as e:
        load_windows("synthetic", window=WindowConfig(0.5, 0.25), cache_dir=tmp_path, synthetic=SMALL, progress=False)
    assert str(path) in str(e.value)


def test_mismatched_channel_counts_raise():
    a = generate(SyntheticConfig(n_subjects=1, n_repetitions=2, n_channels=10))
    b = generate(SyntheticConfig(n_subjects=1, n_repetitions=2, n_channels=8))
    with pytest.raises(DataError, match="expected 10 channels"):
        make_windows(a + b, WindowConfig())


def test_mismatched_sampling_rates_raise():
    a = generate(SyntheticConfig(n_subjects=1, n_repetitions=1, gestures=("fist",)))
    b = generate(SyntheticConfig(n_subjects=1, n_repetitions=1, gestures=("fist",), output="raw"))
    with pytest.raises(DataError, match="resample first"):
        make_windows(a + b, WindowConfig())


def test_mixed_pose_kinds_drop_the_pose_with_a_warning(tmp_path):
    folder = write_emg2pose_dir(tmp_path, [dict(stage="FingerFreeform", n=8000)])
    e2p = load_recordings("emg2pose", folder, progress=False)
    syn = generate(SyntheticConfig(n_subjects=1, n_repetitions=1, gestures=("fist",), output="raw", n_channels=16))
    with pytest.warns(UserWarning, match="pose streams of different kinds"):
        ws = make_windows(e2p + syn, WindowConfig(0.2, 0.1))
    assert ws.pose is None and ws.pose_kind == "none"
    assert set(ws.dataset.tolist()) == {"emg2pose", "synthetic"}


def test_empty_input_and_too_long_windows_raise():
    with pytest.raises(DataError):
        make_windows([], WindowConfig())
    with pytest.raises(DataError, match="at least 10"):
        make_windows(generate(SyntheticConfig(n_subjects=1, n_repetitions=1)), WindowConfig(length_s=10.0))


def test_subject_calibration_removes_per_subject_channel_gains(db1_windows):
    from myosem_core.data.calibration import calibrate_subjects, subject_gains

    ws = db1_windows.subset(np.isin(db1_windows.subject, ["S1", "S2"]))
    boosted = ws.X.copy()
    boosted[ws.subject == "S2"] *= np.linspace(2.0, 20.0, ws.X.shape[2], dtype=np.float32)  # a new user's gains
    a = calibrate_subjects(ws)
    b = calibrate_subjects(dataclasses.replace(ws, X=boosted))
    s1, s2 = ws.subject == "S1", ws.subject == "S2"
    with np.errstate(divide="ignore", invalid="ignore"):
        r1, r2 = b.X[s1] / a.X[s1], b.X[s2] / a.X[s2]
    # the gains are undone: both subjects change by the same per-channel factor (the pooled level's)
    np.testing.assert_allclose(np.nanmedian(r2, axis=(0, 1)), np.nanmedian(r1, axis=(0, 1)), rtol=1e-4)
    np.testing.assert_allclose(np.nanstd(r2 / np.nanmedian(r2, axis=(0, 1)), axis=(0, 1)), 0, atol=1e-4)
    g = subject_gains(a)
    np.testing.assert_allclose(g["S1"], g["S2"], rtol=1e-4)  # every subject at the pooled level afterwards
    assert a.meta["subject_calibration"] and not ws.meta.get("subject_calibration")


def test_subject_calibration_names_a_dead_channel(db1_windows):
    from myosem_core.data.calibration import calibrate_subjects

    ws = db1_windows.subset(db1_windows.subject == "S1")
    X = ws.X.copy()
    X[..., 3] = 0.0
    with pytest.raises(DataError, match=r"S1: channels \['" + ws.channel_names[3]):
        calibrate_subjects(dataclasses.replace(ws, X=X))


def test_calibration_from_some_repetitions_reads_only_their_windows(db1_windows):
    from myosem_core.data.calibration import (
        calibrate_subjects,
        calibration_repetitions,
        subject_gains,
    )

    ws = db1_windows.subset(np.isin(db1_windows.subject, ["S1", "S2"]))
    X = ws.X.copy()
    X[ws.repetition != 1] *= 50.0  # only repetitions other than 1 change: the rep-1 gains must not move
    g_a, g_b = subject_gains(ws, [1]), subject_gains(dataclasses.replace(ws, X=X), [1])
    for s in ("S1", "S2"):
        np.testing.assert_array_equal(g_a[s], g_b[s])
        assert not np.allclose(g_a[s], subject_gains(ws)[s])  # all windows give another estimate
    cal = calibrate_subjects(ws, [1])
    assert cal.meta["subject_calibration"] == {"repetitions": [1]}
    np.testing.assert_allclose(subject_gains(cal, [1])["S1"], subject_gains(cal, [1])["S2"], rtol=1e-4)
    with pytest.raises(DataError, match="no window of the calibration repetitions"):
        calibrate_subjects(ws, [99])
    assert calibration_repetitions(True) is None and calibration_repetitions({"repetitions": [1, 2]}) == [1, 2]
    for bad in ({"repetitions": []}, {"reps": [1]}, "yes", {"repetitions": ["1"]}):
        with pytest.raises(DataError, match="data.subject_calibration"):
            calibration_repetitions(bad)
