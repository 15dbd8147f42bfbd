"""Apply a MyoSem model trained on one layout (NinaPro DB1: 10 RMS channels at 100 Hz) to any device's recording.

The resampling / RMS path (:class:`LayoutConverter`), the one documented route, used
alike on a file (:func:`to_layout`) and on a live stream (:mod:`myosem_core.live`):

1. **Envelope at the model's rate**, causal: raw EMG is band-passed and notched
   (Butterworth + notch as one second-order-section cascade run forward with its
   state, so a stream fed in chunks of any size gives the numbers of the whole
   file), squared, averaged over the last ``envelope_s`` and read off at every
   model sample (the device sample at or just before ``j / fs``); an RMS
   recording at the model's rate is taken as it is, one at another rate is
   averaged over the device samples between model samples. Each model sample
   depends only on samples up to its time, so a window is ready the moment its
   last sample arrives.
2. **Channels**: the C electrodes are taken as equally spaced around the forearm
   in file order, and the model's ``n_channels`` positions are read off that
   ring by linear interpolation. This is a geometric guess (DB1's 10 electrodes
   are 8 around the forearm plus 2 over finger flexor/extensor), not a calibration.
3. **Gain**: the log compression floor and the per-channel z-score
   (:class:`~myosem_core.training.normalization.InputNormalizer`) are fitted on the
   device's own unlabelled windows: the recording itself (transductive, like the
   book's per-subject calibration), or a calibration recording
   (:mod:`myosem_core.calibration`) when the windows arrive live.

Retrieval then works as on DB1: a window's embedding ranks the model's class
prototypes, or any sentences the Stage-1 text encoder embeds (a device's own
prompt descriptions). **Few-shot**: a handful of labelled windows of the new
device fit :class:`FewShotMap`, a ridge map from embeddings to the text
embeddings of their descriptions that starts at the identity (zero-shot).
A free sentence is ranked against windows by one function,
:meth:`CrossDevice.sentence_scores`, which ``find``, ``myosem query`` and
``myosem live --watch`` share.

    xd = CrossDevice(stage3_run, text_space)
    table = xd.describe(read_recording("session1.csv"), k=3)     # per window: top descriptions
    spans = xd.find(rec, "close the index finger", k=5)          # best-matching time spans
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import pandas as pd
import scipy.signal

from .data.ninapro import FilterConfig
from .data.session import Recording
from .data.windows import WindowConfig, WindowSet, make_windows
from .errors import DataError
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


def raw_filter(fs: float, filters: FilterConfig = FilterConfig()) -> np.ndarray:
    """Band-pass (upper edge at most 0.45 fs) and notch as one causal second-order-section cascade."""
    sections = []
    if filters.bandpass_hz is not None:
        lo, hi = filters.bandpass_hz
        if lo >= 0.45 * fs:
            raise DataError("<device>", "fs", f"raw EMG at {fs:g} Hz cannot be band-passed from {lo:g} Hz; "
                                              f"expected fs > {lo / 0.45:.0f} Hz (or an RMS envelope)")
        sections.append(scipy.signal.butter(filters.order, [lo, min(hi, 0.45 * fs)], btype="bandpass", fs=fs,
                                            output="sos"))
    if filters.notch_hz is not None and filters.notch_hz < fs / 2:
        sections.append(scipy.signal.tf2sos(*scipy.signal.iirnotch(filters.notch_hz, filters.notch_q, fs=fs)))
    return np.concatenate(sections) if sections else np.zeros((0, 6))


class LayoutConverter:
    """A device's samples -> the model's layout, chunk by chunk (step 1-2 of the module docstring).

    ``push(x)`` takes the next (n, C) device samples and returns the model samples
    (m, ``layout.n_channels``) they complete; feeding a recording in any chunks gives
    the same numbers as feeding it whole. ``device_index(j)`` is the device sample a
    model sample is read at.
    """

    def __init__(self, fs: float, n_channels: int, signal_kind: str, layout: Layout = Layout(),
                 filters: FilterConfig = FilterConfig()):
        self.fs, self.n_channels, self.signal_kind, self.layout = float(fs), int(n_channels), signal_kind, layout
        ratio = Fraction(self.fs / layout.fs).limit_denominator(1000)  # device samples per model sample
        self._num, self._den = ratio.numerator, ratio.denominator
        if signal_kind == "raw":
            self.sos = raw_filter(self.fs, filters)
            self.width = max(1, int(round(layout.envelope_s * self.fs)))
        elif signal_kind == "rms":
            self.sos = np.zeros((0, 6))
            self.width = max(1, int(np.ceil(self.fs / layout.fs)))  # the device samples between model samples
        else:
            raise DataError("<device>", "signal_kind", f"expected 'raw' or 'rms', got {signal_kind!r}")
        self._zi = None  # filter state, (sections, 2, C)
        self._tail = np.zeros((0, self.n_channels))  # the last width - 1 squared (or |rms|) samples
        self.n_in = 0  # device samples received
        self.n_out = 0  # model samples produced

    def device_index(self, j) -> np.ndarray:
        """The device sample model sample ``j`` is read at: floor(j * fs / layout.fs)."""
        return (np.asarray(j, dtype=np.int64) * self._num) // self._den

    def push(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_channels:
            raise DataError("<device>", "emg", f"expected (samples, {self.n_channels}) samples, got shape {x.shape}")
        if len(x) == 0:
            return np.zeros((0, self.layout.n_channels), np.float32)
        if self.signal_kind == "raw":
            if len(self.sos):
                if self._zi is None:  # start as if the first sample had always been there
                    self._zi = scipy.signal.sosfilt_zi(self.sos)[:, :, None] * x[0][None, None, :]
                x, self._zi = scipy.signal.sosfilt(self.sos, x, axis=0, zi=self._zi)
            power = x**2
        else:
            power = np.abs(x) if self.fs == self.layout.fs else x**2
        buf = np.concatenate([self._tail, power])
        first = self.n_in - len(self._tail)  # device index of buf[0]
        self.n_in += len(x)
        last_j = (self.n_in * self._den - 1) // self._num  # the last model sample whose device sample has arrived
        js = np.arange(self.n_out, last_j + 1)
        out = np.zeros((len(js), self.n_channels))
        if len(js):
            at = self.device_index(js) - first
            count = np.minimum(self.width, self.device_index(js) + 1)  # fewer samples at the very start
            for k in range(self.width):  # one fixed summation order: the same sums however the stream is chunked
                use = k < count
                out[use] += buf[at[use] - k]
            out /= count[:, None]
            if not (self.signal_kind == "rms" and self.fs == self.layout.fs):
                out = np.sqrt(np.maximum(out, 0.0))
            self.n_out = int(last_j) + 1
        self._tail = buf[max(0, len(buf) - (self.width - 1)):] if self.width > 1 else buf[:0]
        return remap_channels(out, self.layout.n_channels).astype(np.float32)


def to_layout(rec: Recording, layout: Layout = Layout()) -> Recording:
    """``rec`` as the model's layout: envelope at ``layout.fs``, ``layout.n_channels`` channels, labels resampled."""
    conv = LayoutConverter(rec.fs, rec.n_channels, rec.signal_kind, layout)
    env = conv.push(rec.emg)
    idx = conv.device_index(np.arange(len(env)))
    return replace(rec, emg=env, fs=layout.fs, label=rec.label[idx], repetition=rec.repetition[idx],
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


#: Ridge strength of the few-shot map, chosen on synthetic development sessions
#: (see :mod:`myosem_experiments.evaluation.cross_device`).
FEW_SHOT_LAM = 0.01


class FewShotMap:
    """Ridge map from window embeddings to text embeddings, pulled toward the identity (= zero-shot).

    ``W = argmin ||Z W - T||^2 + lam ||W - I||^2`` over the labelled windows ``Z`` and
    their descriptions' embeddings ``T``; a large ``lam`` leaves the model as it is.
    """

    def __init__(self, lam: float = FEW_SHOT_LAM):
        self.lam, self.W = float(lam), None

    def fit(self, Z: np.ndarray, T: np.ndarray) -> "FewShotMap":
        D = Z.shape[1]
        I = np.eye(D)
        self.W = np.linalg.solve(Z.T @ Z + self.lam * I, Z.T @ T + self.lam * I)
        return self

    def __call__(self, Z: np.ndarray) -> np.ndarray:
        return unit_rows(Z @ self.W) if self.W is not None else Z


class CrossDevice:
    """A trained Stage-3 run and its Stage-1 text space, applied to recordings of any device.

    ``calibration`` (a :class:`~myosem_core.device_calibration.DeviceCalibration` of this run) fixes the
    normalizer, the few-shot map and the candidate sentences to those fitted on a person's calibration
    recording; without one, every recording is normalised on itself and ranks the model's classes.
    """

    def __init__(self, run, text_space=None, layout: Layout | None = None, calibration=None):
        self.run, self.text_space = run, text_space
        if layout is None:  # the encoder's input: channels and samples per window (at the default 100 Hz)
            enc = run.model.encoder.cfg
            layout = Layout(n_channels=enc.n_channels, window_s=enc.window_len / Layout.fs)
        self.layout = layout
        self.map = FewShotMap(lam=np.inf)
        self.calibration = None
        self._encoded: dict = {}
        if calibration is not None:
            self.calibrate(calibration)

    def calibrate(self, calibration) -> "CrossDevice":
        """Use a device calibration: its normalizer, few-shot map and sentences (its layout's hop is kept)."""
        self.calibration = calibration
        self.map = calibration.few_shot_map()
        return self

    @property
    def sentences(self) -> dict[str, str] | None:
        """The default candidates: the calibration recording's descriptions, else None (the model's classes)."""
        return dict(self.calibration.sentences) if self.calibration is not None else None

    def convert(self, rec: Recording) -> Recording:
        return rec if (rec.fs == self.layout.fs and rec.n_channels == self.layout.n_channels
                       and rec.signal_kind == "rms" and "layout" in rec.meta) else to_layout(rec, self.layout)

    def normalizer(self, converted: Recording | None = None) -> InputNormalizer:
        """The calibration's normalizer, else log floor and per-channel z-score fitted on the recording's own
        windows (no label used)."""
        if self.calibration is not None:
            return self.calibration.normalizer
        if converted is None:
            raise DataError("<cross-device>", "normalizer", "an uncalibrated model normalises each recording on "
                                                            "itself; expected a recording")
        X, _ = sliding_windows(converted, self.layout)
        return self.fit_normalizer(X)

    def fit_normalizer(self, X: np.ndarray) -> InputNormalizer:
        """Log floor and per-channel z-score of converted windows ``X``, as the model's own normalizer does it."""
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
        cache = tuple((k, sentences[k]) for k in keys)
        if cache not in self._encoded:
            V = np.asarray(self.text_space.encode_text([sentences[k] for k in keys]), np.float64)
            self._encoded[cache] = unit_rows(V)
        return keys, [sentences[k] for k in keys], self._encoded[cache]

    def fit_few_shot(self, ws: WindowSet, normalizer: InputNormalizer, sentences: dict[str, str],
                     lam: float = FEW_SHOT_LAM) -> "CrossDevice":
        """Fit the few-shot map on labelled converted windows ``ws`` (class keys -> ``sentences``)."""
        keys, _, V = self.candidates(sentences)
        row = {k: i for i, k in enumerate(keys)}
        T = V[[row[k] for k in ws.labels]]
        self.map = FewShotMap(np.inf)  # embed without the old map
        Z = self.embed(ws.X, normalizer)
        self.map = FewShotMap(lam).fit(Z, T)
        return self

    def top_descriptions(self, Z: np.ndarray, k: int = 3, sentences: dict[str, str] | None = None):
        """For window embeddings ``Z``: (indices (N, k), scores (N, k), texts) of the best candidates, best first."""
        _, texts, V = self.candidates(sentences if sentences is not None else self.sentences)
        S = Z @ V.T
        top = np.argsort(-S, axis=1, kind="stable")[:, :k]
        return top, np.take_along_axis(S, top, 1), texts

    def read_sentence(self, sentence: str):
        """The sentence as the text space's query reader reads it (:func:`~myosem_core.text.query.read_query`):
        checked, and known or refused for naming no hand movement, as ``myosem query`` and the explorer read it."""
        from .text.query import read_query

        if self.text_space is None:
            raise DataError("<cross-device>", "text_space", "reading a sentence needs the Stage-1 text space")
        return read_query(self.text_space, sentence)

    def sentence_scores(self, Z: np.ndarray, sentence: str, sentences: dict[str, str] | None = None) -> np.ndarray:
        """(N,) how well each window matches a free ``sentence``: the one place a sentence is ranked against windows.

        The sentence is read first (:meth:`read_sentence`): one that names no known hand movement is a
        :class:`~myosem_core.errors.DataError` carrying the reader's message. Then prototype-mediated, as
        text->EMG in the book (:func:`~myosem_core.retrieval.text_to_window_scores`): sum over the candidates
        (the calibration's sentences, or the model's classes) of q(candidate | sentence) x p(candidate | window),
        in [0, 1]; 0.5 or more means the window and the sentence most likely name the same candidate. Over the
        model's classes q is the reader's calibrated class probability; over other sentences a softmax of the
        sentence's cosines with them.
        """
        from .retrieval import TEXT_TEMPERATURE, class_posterior
        from .scoring import window_posteriors

        sentences = sentences if sentences is not None else self.sentences
        keys, _, V = self.candidates(sentences)
        cache = (sentence, tuple(keys), None if sentences is None else tuple(sentences[k] for k in keys))
        if cache not in self._encoded:
            reading = self.read_sentence(sentence)
            if not reading.known:
                raise DataError("<query>", "text", reading.message())
            if sentences is None:  # the reader's calibrated p(class | sentence), in the candidates' order
                col = {k: i for i, k in enumerate(reading.class_keys)}
                self._encoded[cache] = np.asarray(reading.probabilities, np.float64)[[col[k] for k in keys]]
            else:
                cos = np.asarray(self.text_space.encode_text([sentence]), np.float64) @ V.T
                self._encoded[cache] = window_posteriors(cos, TEXT_TEMPERATURE)[0]
        return class_posterior(Z, V) @ np.asarray(self._encoded[cache], np.float32)

    def _true_labels(self, rec: Recording, conv: Recording, start: np.ndarray) -> list[str]:
        mid = np.minimum(((start + self.layout.window_s / 2) * conv.fs).astype(int), conv.n_samples - 1)
        names = rec.meta.get("label_names", {})
        return [names.get(conv.class_key(l), "rest") if l else "rest" for l in conv.label[mid]]

    def describe(self, rec: Recording, k: int = 3, sentences: dict[str, str] | None = None) -> pd.DataFrame:
        """Per sliding window: start/end (s), the window's true label (if any) and the top-``k`` descriptions."""
        conv = self.convert(rec)
        X, start = sliding_windows(conv, self.layout)
        Z = self.embed(X, self.normalizer(conv))
        top, scores, texts = self.top_descriptions(Z, k, sentences)
        rows = {"start_s": start, "end_s": start + self.layout.window_s, "true": self._true_labels(rec, conv, start)}
        for r in range(top.shape[1]):
            rows[f"top{r + 1}"] = [texts[i] for i in top[:, r]]
            rows[f"score{r + 1}"] = scores[:, r]
        return pd.DataFrame(rows)

    def find(self, rec: Recording, sentence: str, k: int = 5, sentences: dict[str, str] | None = None) -> pd.DataFrame:
        """The ``k`` best-matching, non-overlapping time spans of ``rec`` for a free-text ``sentence``
        (:meth:`sentence_scores`; ties broken by the window's cosine with the sentence, then by time)."""
        conv = self.convert(rec)
        X, start = sliding_windows(conv, self.layout)
        Z = self.embed(X, self.normalizer(conv))
        s = self.sentence_scores(Z, sentence, sentences)
        from .retrieval import rank_windows

        cosine = Z @ self.candidates({"q": sentence})[2][0]
        picked: list[int] = []
        for i in rank_windows(s, cosine):
            if all(abs(start[i] - start[j]) >= self.layout.window_s for j in picked):
                picked.append(int(i))
            if len(picked) == k:
                break
        return pd.DataFrame({"rank": np.arange(1, len(picked) + 1), "start_s": start[picked],
                             "end_s": start[picked] + self.layout.window_s, "score": s[picked],
                             "true": self._true_labels(rec, conv, start[picked])})
