"""AEMG contraction tokenizer: any channel count and rate -> valid tokens; bad input -> one clear DataError."""

from __future__ import annotations

import numpy as np
import pytest

from myosem_core.data.ninapro import FilterConfig
from myosem_core.errors import DataError
from myosem_core.models.aemg import (
    ContractionTokenizer,
    TokenizerConfig,
    common_envelope,
)

RATES = (100.0, 250.0, 1000.0, 2000.0)
CHANNELS = (8, 10, 12, 16)


def raw_windows(n: int, c: int, fs: float, seed: int = 0, length_s: float = 1.0) -> np.ndarray:
    """Noise bursts whose amplitude differs per channel and rises over the window (a contraction)."""
    rng = np.random.default_rng(seed)
    L = int(round(length_s * fs))
    t = np.arange(L) / fs
    amp = rng.uniform(0.2, 2.0, (n, 1, c)) * (0.3 + np.clip(t / length_s, 0, 1))[None, :, None]
    return (amp * rng.normal(size=(n, L, c))).astype(np.float32)


@pytest.fixture(scope="module")
def tokenizer() -> ContractionTokenizer:
    cfg = TokenizerConfig(vocab_size=16, fit_segments_per_source=2000, seed=0)
    sources = [(f"dev{c}@{fs:g}", raw_windows(6, c, fs, seed=c), fs, "raw") for c, fs in ((8, 200.0), (16, 1000.0))]
    sources.append(("rms10@100", np.abs(raw_windows(6, 10, 100.0, seed=3)), 100.0, "rms"))
    return ContractionTokenizer(cfg).fit(sources)


@pytest.mark.parametrize("fs", RATES)
@pytest.mark.parametrize("n_channels", CHANNELS)
@pytest.mark.parametrize("kind", ["raw", "rms"])
def test_any_channel_count_and_rate_gives_a_valid_token_grid(tokenizer, n_channels, fs, kind):
    X = raw_windows(3, n_channels, fs, seed=int(fs) + n_channels)
    if kind == "rms":
        X = np.abs(X)
    seq = tokenizer.encode(X, fs, kind)
    n_seg = int(1.0 / tokenizer.cfg.segment_s)
    assert seq.tokens.shape == (3, n_channels, n_seg)
    assert seq.tokens.dtype == np.int64
    assert seq.tokens.min() >= 0 and seq.tokens.max() < tokenizer.cfg.vocab_size
    np.testing.assert_allclose(seq.channel_pos, np.arange(n_channels) / n_channels)
    np.testing.assert_allclose(seq.time_s, (np.arange(n_seg) + 0.5) * tokenizer.cfg.segment_s, rtol=1e-6)
    assert len(np.unique(seq.tokens)) > 1  # a rising contraction is not one repeated word


def test_one_window_without_batch_axis(tokenizer):
    X = raw_windows(1, 12, 2000.0)[0]
    assert tokenizer.encode(X, 2000.0, "raw").tokens.shape == (1, 12, 10)


def test_tokens_ignore_device_gain(tokenizer):
    X = raw_windows(4, 10, 1000.0, seed=7)
    np.testing.assert_array_equal(tokenizer.encode(X, 1000.0, "raw").tokens,
                                  tokenizer.encode(37.0 * X, 1000.0, "raw").tokens)


def test_raw_input_is_notch_filtered_and_resampled_to_the_common_rate():
    fs = 1000.0
    t = np.arange(int(fs)) / fs
    hum = np.sin(2 * np.pi * 50.0 * t)[:, None] * np.ones((1, 4))
    env = common_envelope(hum, fs, "raw")
    assert env.shape == (1, 100, 4)  # 1 s at the common 100 Hz
    unnotched = common_envelope(hum, fs, "raw", TokenizerConfig(filters=FilterConfig(notch_hz=None)))
    assert unnotched[:, 40:60].mean() > 0.6  # the band-pass keeps 50 Hz (RMS of the hum is 0.71) ...
    assert env[:, 40:60].mean() < 0.1 * np.sqrt(0.5)  # ... the notch removes it


def test_rms_input_is_resampled_not_filtered():
    env_in = np.abs(raw_windows(2, 8, 250.0, seed=1))
    env = common_envelope(env_in, 250.0, "rms")
    assert env.shape == (2, 100, 8)
    assert abs(env.mean() - env_in.mean()) < 0.05 * env_in.mean()


@pytest.mark.parametrize("X, problem", [
    (np.zeros((0, 100, 8)), "non-empty"),
    (np.zeros((100, 0)), "non-empty"),
    (np.zeros(0), "non-empty"),
    (np.zeros(100), "non-empty"),
])
def test_empty_input_is_rejected(tokenizer, X, problem):
    with pytest.raises(DataError) as err:
        tokenizer.encode(X, 100.0, "rms")
    assert err.value.field == "X" and problem in str(err.value)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_rejected_naming_the_place(tokenizer, bad):
    X = raw_windows(2, 8, 1000.0)
    X[1, 17, 3] = bad
    with pytest.raises(DataError) as err:
        tokenizer.encode(X, 1000.0, "raw")
    assert err.value.field == "X"
    assert "finite" in str(err.value) and "window 1, sample 17, channel 3" in str(err.value)


@pytest.mark.parametrize("fs", [0.0, -100.0, np.nan, np.inf])
def test_bad_sampling_rate_is_rejected(tokenizer, fs):
    with pytest.raises(DataError) as err:
        tokenizer.encode(raw_windows(1, 8, 100.0), fs, "rms")
    assert err.value.field == "fs" and "positive" in str(err.value)


def test_unknown_signal_kind_and_too_slow_raw_are_rejected(tokenizer):
    with pytest.raises(DataError) as err:
        tokenizer.encode(raw_windows(1, 8, 100.0), 100.0, "emg")
    assert err.value.field == "signal_kind"
    with pytest.raises(DataError) as err:
        tokenizer.encode(raw_windows(1, 8, 40.0), 40.0, "raw")  # cannot band-pass from 20 Hz
    assert err.value.field == "fs"


def test_window_shorter_than_a_segment_is_rejected(tokenizer):
    with pytest.raises(DataError) as err:
        tokenizer.encode(np.ones((1, 5, 8)), 100.0, "rms")
    assert err.value.field == "X" and "at least" in str(err.value)


def test_fit_is_deterministic_for_a_seed_and_round_trips():
    cfg = TokenizerConfig(vocab_size=8, fit_segments_per_source=500, seed=3)
    src = [("a", raw_windows(4, 8, 500.0, seed=2), 500.0, "raw")]
    a, b = ContractionTokenizer(cfg).fit(src), ContractionTokenizer(cfg).fit(src)
    np.testing.assert_array_equal(a.centroids, b.centroids)
    c = ContractionTokenizer.from_dict(a.to_dict())
    X = raw_windows(3, 10, 2000.0, seed=9)
    np.testing.assert_array_equal(a.encode(X, 2000.0, "raw").tokens, c.encode(X, 2000.0, "raw").tokens)


def test_vocabulary_fit_draws_equally_from_every_device():
    cfg = TokenizerConfig(vocab_size=8, fit_segments_per_source=300, seed=0)
    big = ("big", raw_windows(40, 16, 1000.0), 1000.0, "raw")  # 6400 segments
    small = ("small", raw_windows(4, 8, 200.0), 200.0, "raw")  # 320 segments
    tok = ContractionTokenizer(cfg).fit([big, small])
    assert tok.fit_info["sources"] == ["big", "small"] and tok.fit_info["segments"] == [300, 300]


def test_encode_before_fit_fails_clearly():
    with pytest.raises(RuntimeError, match="before fit"):
        ContractionTokenizer().encode(raw_windows(1, 8, 100.0), 100.0, "rms")
