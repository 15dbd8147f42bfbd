"""The resampling / RMS path that lets a 10-channel 100 Hz model read other devices, and the few-shot map."""

from __future__ import annotations

import numpy as np
import pytest

from myosem_core.cross_device import (
    FewShotMap,
    Layout,
    remap_channels,
    sliding_windows,
    to_layout,
)
from myosem_core.data.device_files import Device, device_recording


def test_remap_channels_keeps_equal_layouts_and_interpolates_around_the_ring():
    env = np.arange(8, dtype=float)[None].repeat(3, 0)
    np.testing.assert_array_equal(remap_channels(env, 8), env)
    out = remap_channels(env, 16)
    np.testing.assert_allclose(out[0, ::2], np.arange(8))
    np.testing.assert_allclose(out[0, 1:15:2], np.arange(7) + 0.5)
    assert out[0, 15] == 3.5  # between the last electrode and the first: the band closes


def test_devices_of_any_rate_and_count_become_the_model_layout():
    for dev in (Device("b8", 8, 250.0), Device("s16", 16, 2000.0)):
        rec = device_recording(dev, n_repetitions=1)
        conv = to_layout(rec, Layout())
        assert conv.fs == 100.0 and conv.n_channels == 10 and conv.signal_kind == "rms"
        assert abs(conv.duration_s - rec.duration_s) < 0.05 and (conv.emg >= 0).all()
        t = np.arange(conv.n_samples) / 100.0  # labels stay on the same clock
        src = np.minimum((t * rec.fs).astype(int), rec.n_samples - 1)
        np.testing.assert_array_equal(conv.label, rec.label[src])
        X, start = sliding_windows(conv, Layout(hop_s=0.5))
        assert X.shape[1:] == (100, 10) and np.allclose(np.diff(start), 0.5)


def test_few_shot_map_starts_at_zero_shot_and_fits_the_shots():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(40, 6))
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    assert np.allclose(FewShotMap(np.inf)(Z), Z)
    np.testing.assert_allclose(FewShotMap(1e9).fit(Z, -Z)(Z), Z, atol=1e-6)
    T = np.roll(Z, 1, axis=1)
    fitted = FewShotMap(1e-6).fit(Z, T)(Z)
    assert (np.sum(fitted * T, axis=1) > 0.99).all()


def test_the_layout_converter_is_a_causal_moving_rms_of_the_filtered_signal():
    """Reference: the whole signal filtered at once (scipy), pandas' rolling mean of squares, read at floor(j fs / 100)."""
    import pandas as pd
    import scipy.signal

    from myosem_core.cross_device import LayoutConverter, raw_filter

    x = np.random.default_rng(3).normal(0, 10, size=(2000, 8))
    conv = LayoutConverter(250.0, 8, "raw", Layout(n_channels=8))
    out = conv.push(x)
    sos = raw_filter(250.0)
    y = scipy.signal.sosfilt(sos, x, axis=0, zi=scipy.signal.sosfilt_zi(sos)[:, :, None] * x[0][None, None, :])[0]
    rms = np.sqrt(pd.DataFrame(y**2).rolling(25, min_periods=1).mean().to_numpy())
    idx = (np.arange(len(out)) * 5) // 2  # 250 Hz -> 100 Hz: device sample floor(2.5 j)
    assert len(out) == 800 and idx[-1] == 1997
    np.testing.assert_allclose(out, rms[idx], rtol=1e-5)


def test_a_stream_in_chunks_of_any_size_converts_like_the_whole_file():
    from myosem_core.cross_device import LayoutConverter

    rng = np.random.default_rng(4)
    for fs, kind in ((250.0, "raw"), (2000.0, "raw"), (100.0, "rms"), (200.0, "rms")):
        x = np.abs(rng.normal(size=(int(4 * fs), 6)))
        whole = LayoutConverter(fs, 6, kind).push(x)
        conv, parts, at = LayoutConverter(fs, 6, kind), [], 0
        while at < len(x):
            n = int(rng.integers(1, 40))
            parts.append(conv.push(x[at:at + n]))
            at += n
        np.testing.assert_array_equal(np.concatenate(parts), whole)
        assert len(whole) == 400  # one model sample per 10 ms


def test_per_finger_logistic_composes_fingers_it_saw_apart():
    """Each finger drives its own channel; shots of single fingers and the fist only. A window of thumb + index
    (never a shot) is scored highest as the thumb-and-index prompt: one model per finger composes, a class mean
    of the shots could not (it has no such class)."""
    from myosem_core.baselines.few_shot import PerFingerLogistic, finger_states_of

    rng = np.random.default_rng(0)

    def windows(states, n):
        level = 1.0 + 4.0 * np.asarray(states, float)  # (5,) channel levels: a closed finger's channel is loud
        return np.abs(level[None, None, :] * (1 + 0.2 * rng.standard_normal((n, 50, 5))))

    shot_keys = ["fingers/16", "fingers/8", "fingers/4", "fingers/2", "fingers/1", "fingers/31"]
    states = finger_states_of(shot_keys)
    X = np.concatenate([windows(s, 5) for s in states])
    y = np.repeat(np.arange(len(shot_keys)), 5)
    candidates = shot_keys + ["fingers/24"]  # + thumb and index together
    model = PerFingerLogistic().fit(X, y, shot_keys)
    model.states = finger_states_of(candidates)  # score every candidate prompt by its five finger states
    pinch = model.scores(windows((1, 1, 0, 0, 0), 20))
    assert (pinch.argmax(axis=1) == candidates.index("fingers/24")).mean() >= 0.9
    with pytest.raises(ValueError, match="not a finger-state prompt"):
        finger_states_of(["ninapro/A/3"])


def test_nearest_class_mean_is_gain_free():
    from myosem_core.baselines.few_shot import nearest_class_mean_scores

    rng = np.random.default_rng(1)
    A, B = np.abs(rng.normal(1, 0.1, (4, 20, 6))), np.abs(rng.normal(1, 0.1, (4, 20, 6)))
    B[:, :, 0] *= 5  # class 1: channel 0 loud
    X, y = np.concatenate([A, B]), np.repeat([0, 1], 4)
    test = np.concatenate([A[:2], B[:2]]) * 30.0  # the same windows at 30x the gain
    assert nearest_class_mean_scores(X, y, test, 2).argmax(axis=1).tolist() == [0, 0, 1, 1]
