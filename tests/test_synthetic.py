"""Synthetic forward model: determinism, mains hum in raw output, glove semantics, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from myosem_core.data.synthetic import (
    GESTURES,
    SyntheticConfig,
    generate,
    generate_subject,
    gesture_names,
)

SMALL = SyntheticConfig(n_subjects=2, n_repetitions=3)


def _label(name: str) -> int:
    return {v: k for k, v in gesture_names().items()}[name]


def test_same_seed_gives_identical_arrays():
    a, b = generate_subject(SMALL, 2), generate_subject(SMALL, 2)
    for field in ("emg", "pose", "label", "repetition"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_different_seed_or_subject_differs():
    a = generate_subject(SMALL, 1)
    other_seed = generate_subject(SyntheticConfig(n_subjects=2, n_repetitions=3, seed=1), 1)
    other_subject = generate_subject(SMALL, 2)
    assert a.emg.shape == other_seed.emg.shape
    assert not np.allclose(a.emg, other_seed.emg)
    assert not np.allclose(a.pose, other_seed.pose)
    assert not np.allclose(a.emg, other_subject.emg)
    np.testing.assert_array_equal(a.label, other_seed.label)  # same protocol, different signals


def test_layout_matches_db1():
    rec = generate_subject(SMALL, 1)
    assert rec.fs == 100.0 and rec.signal_kind == "rms" and rec.n_channels == 10
    assert rec.pose_kind == "cyberglove22" and rec.pose.shape[1] == 22
    assert set(np.unique(rec.label)) == set(range(len(GESTURES) + 1))
    assert set(np.unique(rec.repetition)) == {0, 1, 2, 3}
    assert np.all(rec.emg >= 0)  # an RMS envelope


def test_raw_output_has_mains_hum():
    cfg = SyntheticConfig(n_subjects=1, n_repetitions=1, output="raw", gestures=("fist",))
    rec = generate_subject(cfg, 1)
    assert rec.fs == 2000.0 and rec.signal_kind == "raw"
    x = rec.emg[:, 0] - rec.emg[:, 0].mean()
    freqs = np.fft.rfftfreq(len(x), 1 / rec.fs)
    power = np.abs(np.fft.rfft(x)) ** 2
    band = (freqs > 30) & (freqs < 70)
    peak = freqs[band][np.argmax(power[band])]
    assert abs(peak - 50.0) < 0.5
    at50 = np.argmin(np.abs(freqs - 50.0))
    assert power[at50] > 20 * np.median(power[band])


def test_mains_frequency_is_configurable():
    rec = generate_subject(SyntheticConfig(n_subjects=1, n_repetitions=1, output="raw", gestures=("fist",),
                                           mains_hz=60.0), 1)
    x = rec.emg[:, 0] - rec.emg[:, 0].mean()
    freqs = np.fft.rfftfreq(len(x), 1 / rec.fs)
    band = (freqs > 30) & (freqs < 70)
    assert abs(freqs[band][np.argmax(np.abs(np.fft.rfft(x))[band])] - 60.0) < 0.5


@pytest.mark.parametrize("gesture, columns", [
    ("index flexion", {4, 5, 6}),  # index MCP, PIP, DIP
    ("middle flexion", {7, 8, 9}),
    ("little finger flexion", {15, 16, 17}),
    ("thumb flexion", {0, 1, 2}),
    ("wrist flexion", {20}),
    ("thumb abduction", {3}),
])
def test_gesture_moves_the_right_glove_sensors(gesture, columns):
    rec = generate_subject(SMALL, 1)
    moving = rec.label == _label(gesture)
    rest = rec.label == 0
    change = np.abs(rec.pose[moving].mean(0) - rec.pose[rest].mean(0))
    top = set(np.argsort(-change)[: len(columns)].tolist())
    assert top == columns, (gesture, np.round(change, 1))


def test_wrist_extension_is_opposite_to_wrist_flexion():
    rec = generate_subject(SMALL, 1)
    rest = rec.pose[rec.label == 0, 20].mean()
    assert rec.pose[rec.label == _label("wrist flexion"), 20].mean() > rest
    assert rec.pose[rec.label == _label("wrist extension"), 20].mean() < rest


def test_default_dataset_generates_in_a_few_seconds():
    t0 = time.perf_counter()
    recs = generate()
    elapsed = time.perf_counter() - t0
    assert len(recs) == SyntheticConfig().n_subjects
    assert elapsed < 15.0, f"default synthetic dataset took {elapsed:.1f} s"
