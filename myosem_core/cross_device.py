"""Apply a MyoSem model trained on one layout (NinaPro DB1: 10 RMS channels at 100 Hz) to any device's recording.

The resampling / RMS path (:func:`to_layout`), the one documented route:

1. **Envelope at the model's rate**: raw EMG is band-passed, notched, turned into a
   moving RMS of ``envelope_s`` and resampled (polyphase, anti-aliased) to
   ``fs`` Hz; an RMS recording is resampled only. This is AEMG's
   :func:`~myosem_core.models.aemg.tokenizer.common_envelope`, so both papers
   read a device the same way.
2. **Channels**: the C electrodes are taken as equally spaced around the forearm
   in file order, and the model's ``n_channels`` positions are read off that
   ring by linear interpolation. This is a geometric guess (DB1's 10 electrodes
   are 8 around the forearm plus 2 over finger flexor/extensor), not a calibration.
3. **Gain**: the device's own unlabelled windows set the log compression floor
   and the per-channel z-score (:class:`~myosem_core.training.normalization.InputNormalizer`
   fitted on the recording). Units and electrode gains cancel; it is transductive,
   like the book's per-subject calibration.

Retrieval then works as on DB1: a window's embedding ranks the model's class
prototypes, or any sentences the Stage-1 text encoder embeds (a device's own
prompt descriptions). **Few-shot**: a handful of labelled windows of the new
device fit :class:`FewShotMap`, a ridge map from embeddings to the text
embeddings of their descriptions that starts at the identity (zero-shot).

    xd = CrossDevice(stage3_run, text_space)
    table = xd.describe(read_recording("session1.csv"), k=3)     # per window: top descriptions
    spans = xd.find(rec, "close the index finger", k=5)          # best-matching time spans
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from .data.session import Recording
from .data.windows import WindowConfig, WindowSet, make_windows
from .errors import DataError
from .models.aemg.tokenizer import TokenizerConfig, common_envelope
from .scoring import unit_rows
from .training.normalization import InputNormalizer


@dataclass(frozen=True)
class Layout:
    """What the model reads: channels, rate, envelope and window (DB1 quick/full: 10 x 100 Hz, 1 s windows)."""

    n_channels: int = 10
    fs: float = 100.0
    envelope_s: float = 0.1  # moving-RMS window for raw EMG
    window_s: float = 1.0
    hop_s: float = 0.25


def remap_channels(env: np.ndarray, n_out: int) -> np.ndarray:
    """(T, C) -> (T, n_out): linear interpolation around a ring of equally spaced electrodes."""
    T, C = env.shape
    if C == n_out:
        return env.copy()
    pos = np.arange(n_out) * C / n_out  # output electrode j sits at input position j * C / n_out
    lo = np.floor(pos).astype(int)
    w = (pos - lo)[None, :]
    return (1 - w) * env[:, lo % C] + w * env[:, (lo + 1) % C]


def to_layout(rec: Recording, layout: Layout = Layout()) -> Recording:
    """``rec`` as the model's layout: envelope at ``layout.fs``, ``layout.n_channels`` channels, labels resampled."""
    tok = TokenizerConfig(common_fs=layout.fs, envelope_s=layout.envelope_s)
    env = common_envelope(rec.emg, rec.fs, rec.signal_kind, tok, source=rec.source)[0]
    env = remap_channels(env, layout.n_channels)
    idx = np.minimum((np.arange(len(env)) * rec.fs / layout.fs).astype(int), rec.n_samples - 1)
    return replace(rec, emg=env.astype(np.float32), fs=layout.fs, label=rec.label[idx], repetition=rec.repetition[idx],
                   signal_kind="rms", channel_names=tuple(f"ring{i + 1}" for i in range(layout.n_channels)),
                   pose=None, pose_kind="none", meta={**rec.meta, "layout": layout.__dict__.copy(),
                                                      "original": {"fs": rec.fs, "n_channels": rec.n_channels,
                                                                   "signal": rec.signal_kind}})


def sliding_windows(rec: Recording, layout: Layout = Layout()) -> tuple[np.ndarray, np.ndarray]:
    """Every window of a (converted) recording, labels ignored: ``X`` (N, L, C) and start times in seconds."""
    L, H = int(round(layout.window_s * rec.fs)), int(round(layout.hop_s * rec.fs))
    if rec.n_samples < L:
        raise DataError(rec.source, "emg", f"expected at least {layout.window_s:g} s of signal, got "
                                           f"{rec.duration_s:.3g} s")
    starts = np.arange(0, rec.n_samples - L + 1, H)
    return rec.emg[starts[:, None] + np.arange(L)[None, :]], starts / rec.fs


def labelled_windows(rec: Recording, layout: Layout = Layout()) -> WindowSet:
    """Windows inside one labelled movement repetition each (rest excluded), as for DB1."""
    return make_windows([rec], WindowConfig(layout.window_s, layout.hop_s))


class FewShotMap:
    """Ridge map from window embeddings to text embeddings, pulled toward the identity (= zero-shot).

    ``W = argmin ||Z W - T||^2 + lam ||W - I||^2`` over the labelled windows ``Z`` and
    their descriptions' embeddings ``T``; a large ``lam`` leaves the model as it is.
    """

    def __init__(self, lam: float = 1.0):
        self.lam, self.W = float(lam), None

    def fit(self, Z: np.ndarray, T: np.ndarray) -> "FewShotMap":
        D = Z.shape[1]
        I = np.eye(D)
        self.W = np.linalg.solve(Z.T @ Z + self.lam * I, Z.T @ T + self.lam * I)
        return self

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        return unit_rows(Z @ self.W) if self.W is not None else Z


class CrossDevice:
    """A trained Stage-3 run and its Stage-1 text space, applied to recordings of any device."""

    def __init__(self, run, text_space=None, layout: Layout | None = None):
        self.run, self.text_space = run, text_space
        if layout is None:  # the encoder's input: channels and samples per window (at the default 100 Hz)
            enc = run.model.encoder.cfg
            layout = Layout(n_channels=enc.n_channels, window_s=enc.window_len / Layout.fs)
        self.layout = layout
        self.map = FewShotMap(lam=np.inf)

    def convert(self, rec: Recording) -> Recording:
        return rec if (rec.fs == self.layout.fs and rec.n_channels == self.layout.n_channels
                       and rec.signal_kind == "rms" and "layout" in rec.meta) else to_layout(rec, self.layout)

    def normalizer(self, converted: Recording) -> InputNormalizer:
        """Log floor and per-channel z-score fitted on the recording's own windows (no label used)."""
        X, _ = sliding_windows(converted, self.layout)
        return InputNormalizer.fit(X, log=self.run.normalizer.eps is not None)

    def embed(self, X: np.ndarray, normalizer: InputNormalizer) -> np.ndarray:
        """Unit embeddings of converted windows, after the few-shot map if one was fitted."""
        return self.map(replace(self.run, normalizer=normalizer).embed(X.astype(np.float32)))

    def candidates(self, sentences: dict[str, str] | None = None) -> tuple[list[str], list[str], np.ndarray]:
        """(keys, texts, unit vectors): the model's class prototypes, or ``sentences`` (key -> text) encoded."""
        if sentences is None:
            from .data.catalog import class_name

            keys = list(self.run.class_keys)
            return keys, [class_name(k) for k in keys], unit_rows(np.asarray(self.run.prototypes, np.float64))
        if self.text_space is None:
            raise DataError("<cross-device>", "text_space", "encoding new descriptions needs the Stage-1 text space")
        keys = list(sentences)
        V = np.asarray(self.text_space.encode_text([sentences[k] for k in keys]), np.float64)
        return keys, [sentences[k] for k in keys], unit_rows(V)

    def fit_few_shot(self, ws: WindowSet, normalizer: InputNormalizer, sentences: dict[str, str],
                     lam: float = 1.0) -> "CrossDevice":
        """Fit the few-shot map on labelled converted windows ``ws`` (class keys -> ``sentences``)."""
        keys, _, V = self.candidates(sentences)
        row = {k: i for i, k in enumerate(keys)}
        T = V[[row[k] for k in ws.labels]]
        self.map = FewShotMap(np.inf)  # embed without the old map
        Z = self.embed(ws.X, normalizer)
        self.map = FewShotMap(lam).fit(Z, T)
        return self

    def describe(self, rec: Recording, k: int = 3, sentences: dict[str, str] | None = None) -> pd.DataFrame:
        """Per sliding window: start/end (s), the window's true label (if any) and the top-``k`` descriptions."""
        conv = self.convert(rec)
        X, start = sliding_windows(conv, self.layout)
        Z = self.embed(X, self.normalizer(conv))
        keys, texts, V = self.candidates(sentences)
        S = Z @ V.T
        top = np.argsort(-S, axis=1, kind="stable")[:, :k]
        mid = np.minimum(((start + self.layout.window_s / 2) * conv.fs).astype(int), conv.n_samples - 1)
        names = rec.meta.get("label_names", {})
        rows = {"start_s": start, "end_s": start + self.layout.window_s,
                "true": [names.get(conv.class_key(l), "rest") if l else "rest" for l in conv.label[mid]]}
        for r in range(top.shape[1]):
            rows[f"top{r + 1}"] = [texts[i] for i in top[:, r]]
            rows[f"score{r + 1}"] = S[np.arange(len(S)), top[:, r]]
        return pd.DataFrame(rows)

    def find(self, rec: Recording, sentence: str, k: int = 5) -> pd.DataFrame:
        """The ``k`` best-matching, non-overlapping time spans of ``rec`` for a free-text ``sentence``."""
        conv = self.convert(rec)
        X, start = sliding_windows(conv, self.layout)
        Z = self.embed(X, self.normalizer(conv))
        _, _, V = self.candidates({"q": sentence})
        s = Z @ V[0]
        picked: list[int] = []
        for i in np.argsort(-s, kind="stable"):
            if all(abs(start[i] - start[j]) >= self.layout.window_s for j in picked):
                picked.append(int(i))
            if len(picked) == k:
                break
        mid = np.minimum(((start[picked] + self.layout.window_s / 2) * conv.fs).astype(int), conv.n_samples - 1)
        names = rec.meta.get("label_names", {})
        return pd.DataFrame({"rank": np.arange(1, len(picked) + 1), "start_s": start[picked],
                             "end_s": start[picked] + self.layout.window_s, "score": s[picked],
                             "true": [names.get(conv.class_key(l), "rest") if l else "rest" for l in conv.label[mid]]})
