"""The resampling / RMS path that lets a 10-channel 100 Hz model read other devices, and the few-shot map."""

from __future__ import annotations

import numpy as np

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
