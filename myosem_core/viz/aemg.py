"""Figures of AEMG's contraction tokenizer: vocabulary usage, the words, tokens over the signal."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import colormaps

from ..data.session import Recording
from ..models.aemg.tokenizer import FEATURES, ContractionTokenizer, common_envelope


def perplexity(counts) -> float:
    """exp(entropy) of a usage histogram: how many words are effectively in use."""
    p = np.asarray(counts, dtype=np.float64)
    p = p / max(p.sum(), 1e-12)
    return float(np.exp(-(p[p > 0] * np.log(p[p > 0])).sum()))


def plot_vocabulary_usage(usage: dict[str, list[int]], title: str, ax=None):
    """Heatmap: share of each word (columns, sorted by overall use) per device (rows), with perplexities."""
    names = list(usage)
    M = np.array([np.asarray(usage[n], dtype=np.float64) / max(np.sum(usage[n]), 1) for n in names])
    order = np.argsort(-M.mean(0))
    ax = ax or plt.subplots(figsize=(11, 0.5 * len(names) + 1.6))[1]
    im = ax.imshow(M[:, order], aspect="auto", cmap="magma_r", interpolation="nearest")
    ax.set_yticks(range(len(names)), [f"{n} (perplexity {perplexity(usage[n]):.0f})" for n in names], fontsize=8)
    ax.set_xlabel("word (sorted by mean use over devices)")
    ax.set_title(title)
    plt.colorbar(im, ax=ax, label="share of tokens", fraction=0.03)
    return ax


def plot_codebook(tokenizer: ContractionTokenizer, title: str, ax=None):
    """What each word means: its centroid in feature units (level, trend, roughness, contrast), sorted by level."""
    C = tokenizer.centroids * tokenizer.feat_std + tokenizer.feat_mean
    order = np.argsort(C[:, 0])
    ax = ax or plt.subplots(figsize=(11, 2.4))[1]
    Z = (C[order] - C.mean(0)) / (C.std(0) + 1e-9)
    im = ax.imshow(Z.T, aspect="auto", cmap="coolwarm", vmin=-2.5, vmax=2.5, interpolation="nearest")
    ax.set_yticks(range(len(FEATURES)), FEATURES)
    ax.set_xticks(range(len(order)), order, fontsize=5, rotation=90)
    ax.set_xlabel("word id (sorted by level)")
    ax.set_title(title)
    plt.colorbar(im, ax=ax, label="z-score over words", fraction=0.03)
    return ax


def repetition_stretch(rec: Recording, movement: int, repetition: int, pad_s: float = 1.0) -> tuple[np.ndarray, float]:
    """EMG (T, C) of one repetition of a movement with ``pad_s`` of rest either side, and its start time (s)."""
    idx = np.flatnonzero((rec.label == movement) & (rec.repetition == repetition))
    if idx.size == 0:
        raise ValueError(f"{rec.source}: no movement {movement}, repetition {repetition}")
    pad = int(round(pad_s * rec.fs))
    a, b = max(0, idx[0] - pad), min(rec.n_samples, idx[-1] + 1 + pad)
    return rec.emg[a:b], a / rec.fs


def plot_tokens_over_signal(tokenizer: ContractionTokenizer, X: np.ndarray, fs: float, signal_kind: str,
                            title: str, channels=None, movement_span: tuple[float, float] | None = None,
                            show_raw: bool = False, ax=None):
    """Each channel's envelope on the common grid, every segment shaded by its word, the word id written in it.

    The stretch ``X`` (T, C) is tokenised as one window (its gain reference is
    the whole stretch). ``movement_span`` (seconds) marks the labelled movement.
    """
    seq = tokenizer.encode(X, fs, signal_kind)
    env = common_envelope(X, fs, signal_kind, tokenizer.cfg)[0]
    channels = list(range(X.shape[1])) if channels is None else list(channels)
    seg = tokenizer.cfg.segment_s
    cmap = colormaps["tab20"]
    ax = ax or plt.subplots(figsize=(12, 0.55 * len(channels) + 1.5))[1]
    t_env = np.arange(env.shape[0]) / tokenizer.cfg.common_fs
    for row, c in enumerate(channels):
        base = len(channels) - 1 - row
        for s, word in enumerate(seq.tokens[0, c]):
            ax.add_patch(plt.Rectangle((s * seg, base), seg, 0.95, color=cmap(word % 20), alpha=0.35, lw=0))
            ax.text((s + 0.5) * seg, base + 0.78, str(word), ha="center", va="center", fontsize=5)
        e = env[:, c]
        if show_raw:
            raw = X[:, c] / (np.abs(X[:, c]).max() + 1e-12)
            ax.plot(np.arange(len(raw)) / fs, base + 0.45 + 0.4 * raw, color="0.6", lw=0.3)
        ax.plot(t_env, base + 0.05 + 0.85 * e / (e.max() + 1e-12), color="k", lw=0.8)
    if movement_span is not None:
        for x in movement_span:
            ax.axvline(x, color="crimson", lw=1, ls="--")
    ax.set_yticks([len(channels) - 1 - r + 0.5 for r in range(len(channels))], [f"ch{c + 1}" for c in channels],
                  fontsize=7)
    ax.set_xlim(0, seq.tokens.shape[2] * seg)
    ax.set_ylim(0, len(channels))
    ax.set_xlabel(f"seconds (segments of {seg:g} s; colour and number = word)")
    ax.set_title(title)
    return ax
