"""AEMG's Neuromuscular Contraction Tokenizer (NCT): any channel count and sampling rate -> discrete tokens.

Pipeline for a batch of windows ``X`` (N, L, C) sampled at ``fs`` Hz:

1. **Clean** (raw EMG only): zero-phase band-pass + mains notch
   (:func:`myosem_core.data.ninapro.filter_raw_emg`, the band's top capped at
   0.45 fs, the notch skipped above Nyquist).
2. **Envelope**: raw EMG -> moving RMS over ``envelope_s``; a device RMS
   envelope (NinaPro DB1's Otto Bock electrodes) is used as it is.
3. **Common rate**: the envelope is resampled to ``common_fs`` (100 Hz) with
   :func:`scipy.signal.resample_poly` (polyphase, anti-aliased), so every
   device ends up on one time grid. Negative ringing is clipped to 0.
4. **Streams and segments**: every channel is its own stream. A stream is cut
   into fixed contraction segments of ``segment_s`` (100 ms) on the common grid.
   *Design choice:* fixed-length sub-windows of the envelope rather than
   variable-length activity bursts: inside a 1 s window of one movement the
   envelope rarely falls to rest, a fixed grid gives every window the same
   (channel x segment) layout a Transformer can batch, and the onset / hold /
   release phases of a contraction still become different words through the
   segment's trend feature.
5. **Features** per segment, on the log envelope of the window minus its mean
   over channels and time (so a device's gain or a subject's overall
   amplitude cancels): ``level`` (mean), ``trend`` (change across the segment,
   least squares), ``roughness`` (log RMS of the detrended residual) and
   ``contrast`` (level minus the mean level of all channels in that segment:
   how much this muscle stands out right now).
6. **Vocabulary**: standardised features are mapped to the nearest of
   ``vocab_size`` k-means centroids (the learned codebook), fitted on segments
   drawn equally from every device, so the vocabulary is cross-device.

A channel's place is a number on the electrode band, ``i / C``; the model
embeds it (see :mod:`.model`), so 8, 10, 12 or 16 channels at 100 Hz ... 2 kHz
all give a valid (C, S) token grid.

    tok = ContractionTokenizer(TokenizerConfig(vocab_size=64)).fit([(X, fs, "raw"), (X2, 100.0, "rms")])
    seq = tok.encode(X, fs, "raw")          # seq.tokens (N, C, S) int64 in [0, 64)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from fractions import Fraction

import numpy as np
import scipy.ndimage
import scipy.signal

from ...data.ninapro import FilterConfig, filter_raw_emg
from ...data.session import SIGNAL_KINDS
from ...errors import DataError
from ...threads import limit_threads

FEATURES = ("level", "trend", "roughness", "contrast")


@dataclass(frozen=True)
class TokenizerConfig:
    common_fs: float = 100.0  # Hz: every device's envelope is resampled to this rate
    segment_s: float = 0.1  # length of one contraction segment (one token per channel)
    envelope_s: float = 0.1  # moving-RMS window that turns raw EMG into an envelope
    vocab_size: int = 64  # number of k-means centroids (words)
    filters: FilterConfig = FilterConfig()  # band-pass + notch applied to raw EMG only
    floor: float = 0.01  # log(env + floor * mean(env)): keeps silent channels finite, scale-free
    fit_segments_per_source: int = 20_000  # segments each device contributes to the k-means fit
    kmeans_init: int = 1  # k-means restarts (k-means++ seeding, seeded)
    kmeans_iter: int = 60  # Lloyd iterations at most
    seed: int = 0


@dataclass
class TokenSequence:
    """Tokens of a batch of windows and where each token sits."""

    tokens: np.ndarray  # (N, C, S) int64 vocabulary index per channel and segment
    channel_pos: np.ndarray  # (C,) float32 position on the electrode band, i / C in [0, 1)
    time_s: np.ndarray  # (S,) float32 centre of each segment, seconds from the window start
    features: np.ndarray | None = None  # (N, C, S, F) raw segment features, when asked for

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.tokens.shape)


def validate_input(X, fs, signal_kind, source: str = "<tokenizer input>") -> np.ndarray:
    """``X`` as float64 (N, L, C); a :class:`DataError` naming the field for anything unusable."""
    arr = np.asarray(X)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.size == 0:
        raise DataError(source, "X", f"expected a non-empty EMG array (windows, samples, channels) or "
                                     f"(samples, channels), got shape {np.shape(X)}")
    if not np.issubdtype(arr.dtype, np.number):
        raise DataError(source, "X", f"expected numeric EMG samples, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        n, t, c = np.argwhere(~np.isfinite(arr))[0]
        raise DataError(source, "X", f"expected finite EMG samples, found NaN/Inf (window {n}, sample {t}, channel {c})")
    if not (np.isscalar(fs) and np.isfinite(fs) and fs > 0):
        raise DataError(source, "fs", f"expected a positive, finite sampling rate in Hz, got {fs!r}")
    if signal_kind not in SIGNAL_KINDS:
        raise DataError(source, "signal_kind", f"expected one of {SIGNAL_KINDS}, got {signal_kind!r}")
    return arr


def common_envelope(X, fs: float, signal_kind: str, cfg: TokenizerConfig = TokenizerConfig(),
                    source: str = "<tokenizer input>") -> np.ndarray:
    """(N, L', C) non-negative envelope at ``cfg.common_fs`` of windows ``X`` (N, L, C) or (L, C)."""
    arr = validate_input(X, fs, signal_kind, source)
    n, length, c = arr.shape
    fs = float(fs)
    if signal_kind == "raw":
        lo = cfg.filters.bandpass_hz[0] if cfg.filters.bandpass_hz else 0.0
        if cfg.filters.bandpass_hz and 0.45 * fs <= lo:
            raise DataError(source, "fs", f"raw EMG at {fs:g} Hz cannot be band-passed from {lo:g} Hz; "
                                          f"expected fs > {lo / 0.45:.0f} Hz (or an RMS envelope)")
        if length < 30:
            raise DataError(source, "X", f"expected at least 30 samples per window to filter raw EMG, got {length}")
        flat = arr.transpose(1, 0, 2).reshape(length, n * c)  # filter along time, every stream at once
        flat = filter_raw_emg(flat, fs, cfg.filters).astype(np.float64)
        width = max(1, int(round(cfg.envelope_s * fs)))
        power = scipy.ndimage.uniform_filter1d(flat**2, size=width, axis=0, mode="nearest")
        env = np.sqrt(np.maximum(power, 0.0)).reshape(length, n, c).transpose(1, 0, 2)
    else:
        env = np.abs(arr)
    ratio = Fraction(cfg.common_fs / fs).limit_denominator(1000)
    if ratio != 1:
        env = scipy.signal.resample_poly(env, ratio.numerator, ratio.denominator, axis=1, padtype="line")
    return np.maximum(env, 0.0)


def segment_features(env: np.ndarray, seg_len: int, floor: float = 0.01) -> np.ndarray:
    """(N, C, S, 4) features (level, trend, roughness, contrast) of envelope segments of ``seg_len`` samples."""
    n, length, c = env.shape
    s = length // seg_len
    scale = env.mean(axis=(1, 2), keepdims=True)
    e = np.log(env + floor * scale + 1e-12)
    e -= e.mean(axis=(1, 2), keepdims=True)  # gain-free: relative to the window's mean log level
    seg = e[:, :s * seg_len].reshape(n, s, seg_len, c)
    level = seg.mean(axis=2)  # (N, S, C)
    t = np.linspace(-0.5, 0.5, seg_len) if seg_len > 1 else np.zeros(1)
    denom = float((t**2).sum()) or 1.0
    centred = seg - level[:, :, None]
    trend = (centred * t[None, None, :, None]).sum(axis=2) / denom  # change of log level across the segment
    resid = centred - trend[:, :, None] * t[None, None, :, None]
    rough = np.log(np.sqrt((resid**2).mean(axis=2)) + 1e-3)
    contrast = level - level.mean(axis=2, keepdims=True)
    feats = np.stack([level, trend, rough, contrast], axis=-1)  # (N, S, C, 4)
    return feats.transpose(0, 2, 1, 3).astype(np.float32)


@dataclass
class ContractionTokenizer:
    """Envelope -> contraction segments -> features -> nearest word of a k-means vocabulary."""

    cfg: TokenizerConfig = TokenizerConfig()
    centroids: np.ndarray | None = None  # (vocab_size, F) in standardised feature space
    feat_mean: np.ndarray | None = None  # (F,)
    feat_std: np.ndarray | None = None  # (F,)
    fit_info: dict = field(default_factory=dict)

    @property
    def seg_len(self) -> int:
        return max(1, int(round(self.cfg.segment_s * self.cfg.common_fs)))

    @property
    def is_fitted(self) -> bool:
        return self.centroids is not None

    def features(self, X, fs: float, signal_kind: str, source: str = "<tokenizer input>") -> np.ndarray:
        """(N, C, S, F) segment features of windows ``X``; raises :class:`DataError` if no segment fits."""
        env = common_envelope(X, fs, signal_kind, self.cfg, source)
        if env.shape[1] < self.seg_len:
            raise DataError(source, "X", f"expected windows of at least {self.cfg.segment_s:g} s (one segment); got "
                                         f"{np.shape(X)[-2]} samples at {fs:g} Hz")
        return segment_features(env, self.seg_len, self.cfg.floor)

    def fit(self, sources, progress: bool = False) -> "ContractionTokenizer":
        """Learn the vocabulary from ``sources``: an iterable of ``(X, fs, signal_kind)`` or ``(name, X, fs, kind)``.

        Each source contributes at most ``fit_segments_per_source`` segments
        (drawn at random, seeded), so a big device does not own the vocabulary.
        """
        from sklearn.cluster import KMeans

        rng = np.random.default_rng(self.cfg.seed)
        pools, names = [], []
        for i, src in enumerate(sources):
            name, X, fs, kind = src if len(src) == 4 else (f"source{i}", *src)
            f = self.features(X, fs, kind, source=str(name)).reshape(-1, len(FEATURES))
            if len(f) > self.cfg.fit_segments_per_source:
                f = f[rng.choice(len(f), self.cfg.fit_segments_per_source, replace=False)]
            pools.append(f)
            names.append(str(name))
        if not pools:
            raise DataError("<tokenizer fit>", "sources", "expected at least one (X, fs, signal_kind) source")
        F = np.concatenate(pools).astype(np.float64)
        if len(F) < self.cfg.vocab_size:
            raise DataError("<tokenizer fit>", "sources", f"expected at least vocab_size={self.cfg.vocab_size} segments, "
                                                          f"got {len(F)}")
        self.feat_mean = F.mean(0)
        self.feat_std = F.std(0) + 1e-6
        Z = (F - self.feat_mean) / self.feat_std
        with limit_threads(1, torch=False, native="all"):
            km = KMeans(self.cfg.vocab_size, n_init=self.cfg.kmeans_init, max_iter=self.cfg.kmeans_iter,
                        random_state=self.cfg.seed).fit(Z)
        self.centroids = km.cluster_centers_.astype(np.float64)
        self.fit_info = {"sources": names, "segments": [int(len(p)) for p in pools], "inertia": float(km.inertia_)}
        return self

    def assign(self, feats: np.ndarray) -> np.ndarray:
        """Nearest centroid of every feature vector (..., F) -> (...) int64."""
        if not self.is_fitted:
            raise RuntimeError("ContractionTokenizer.encode called before fit (or load)")
        Z = ((feats.reshape(-1, feats.shape[-1]) - self.feat_mean) / self.feat_std)
        d = (Z**2).sum(1)[:, None] - 2 * Z @ self.centroids.T + (self.centroids**2).sum(1)[None, :]
        return d.argmin(1).reshape(feats.shape[:-1]).astype(np.int64)

    def encode(self, X, fs: float, signal_kind: str, keep_features: bool = False,
               source: str = "<tokenizer input>", batch_size: int = 2048) -> TokenSequence:
        """Token grid (N, C, S) of windows ``X`` (N, L, C) or one window (L, C) at ``fs`` Hz."""
        arr = validate_input(X, fs, signal_kind, source)
        parts = [self.features(arr[i:i + batch_size], fs, signal_kind, source) for i in range(0, len(arr), batch_size)]
        feats = np.concatenate(parts)
        n, c, s, _ = feats.shape
        return TokenSequence(
            tokens=self.assign(feats),
            channel_pos=(np.arange(c) / c).astype(np.float32),
            time_s=((np.arange(s) + 0.5) * self.cfg.segment_s).astype(np.float32),
            features=feats if keep_features else None,
        )

    def encode_windows(self, ws, keep_features: bool = False) -> TokenSequence:
        """Tokens of a :class:`~myosem_core.data.windows.WindowSet` (its ``fs`` and ``signal_kind``)."""
        return self.encode(ws.X, ws.fs, ws.signal_kind, keep_features, source=f"<windows {ws.meta.get('dataset', '')}>")

    def to_dict(self) -> dict:
        cfg = asdict(self.cfg)
        return {"cfg": cfg, "centroids": self.centroids.tolist(), "feat_mean": self.feat_mean.tolist(),
                "feat_std": self.feat_std.tolist(), "fit_info": self.fit_info}

    @classmethod
    def from_dict(cls, d: dict) -> "ContractionTokenizer":
        raw = dict(d["cfg"])
        filt = raw.pop("filters")
        filt["bandpass_hz"] = tuple(filt["bandpass_hz"]) if filt.get("bandpass_hz") else None
        cfg = TokenizerConfig(filters=FilterConfig(**filt), **raw)
        return cls(cfg, np.asarray(d["centroids"]), np.asarray(d["feat_mean"]), np.asarray(d["feat_std"]),
                   d.get("fit_info", {}))
