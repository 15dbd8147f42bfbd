"""Live retrieval: a board's EMG stream, windowed at the model's rate, each window described as it completes.

Samples come from any BrainFlow board (:class:`BoardStream`: a real board, BrainFlow's
synthetic board, or its playback board replaying a BrainFlow file) and go through
:class:`LiveRetriever`, which does what :meth:`~myosem_core.cross_device.CrossDevice.describe`
does to a file, sample by sample:

1. the causal :class:`~myosem_core.cross_device.LayoutConverter` turns the device's
   samples into the model's envelope (10 channels at 100 Hz for DB1 models);
2. every ``hop_s`` a window of the model's length is cut, on the same grid as a file's
   windows (starts at 0, hop, 2 hop, ... from the first sample);
3. the window is normalised (the calibration's normalizer, or one fitted on the first
   ``warmup_s`` seconds of the stream when the model is not calibrated), embedded,
   mapped by the few-shot map, and ranked against the candidate descriptions;
   ``watch`` sentences are scored by :meth:`~myosem_core.cross_device.CrossDevice.sentence_scores`.

So a file replayed through the playback board gets the descriptions ``myosem query
--recording`` gives the same file with the same calibration. Each window records its
latency: from the arrival of the chunk holding its last sample to its descriptions.

    with BoardStream("synthetic") as stream:
        live = LiveRetriever(xd, stream.board.sampling_rate, len(stream.board.emg_rows), watch="close the fist")
        for window in stream_windows(stream, live):
            print(window.start_s, window.top[0])
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from .cross_device import CrossDevice, LayoutConverter
from .data.boards import PLAYBACK, Board, board as describe_board, board_id, brainflow
from .errors import ConfigError, DataError
from .io import atomic_path

DEFAULT_WARMUP_S = 5.0
DEFAULT_STALL_S = 3.0
WATCH_THRESHOLD = 0.5  # a window matches a watched sentence when its sentence score reaches this


@dataclass
class LiveWindow:
    """One window's descriptions, as the stream delivered it."""

    index: int
    start_s: float  # from the first sample of the stream
    end_s: float
    top: list[tuple[str, float]]  # (description, cosine), best first
    watch: float | None = None  # the watched sentence's score (0..1), if one is watched
    match: bool | None = None
    latency_ms: float = float("nan")  # arrival of the chunk completing the window -> descriptions ready
    cpu_ms: float = float("nan")  # CPU time this process spent on that push (the cost on a core of its own)
    sample_time: float | None = None  # the board's timestamp of the window's last sample (Unix s)
    ready_time: float = float("nan")  # wall clock (Unix s) when the descriptions were ready
    backlog: bool = False  # its last sample came in an earlier chunk (e.g. held back by the warm-up)

    def to_dict(self) -> dict:
        out = {"window": self.index, "start_s": round(self.start_s, 4), "end_s": round(self.end_s, 4)}
        for r, (text, score) in enumerate(self.top, 1):
            out[f"top{r}"], out[f"score{r}"] = text, round(float(score), 4)
        if self.watch is not None:
            out["watch"], out["match"] = round(float(self.watch), 4), bool(self.match)
        out["latency_ms"], out["cpu_ms"] = round(self.latency_ms, 3), round(self.cpu_ms, 3)
        if self.backlog:
            out["backlog"] = True
        if self.sample_time is not None:
            out["board_to_ready_ms"] = round(1e3 * (self.ready_time - self.sample_time), 3)
        return out


class LiveRetriever:
    """Device samples in (any chunk sizes), described windows out; see the module docstring."""

    def __init__(self, xd: CrossDevice, fs: float, n_channels: int, signal_kind: str = "raw", k: int = 3,
                 watch: str | None = None, hop_s: float | None = None, warmup_s: float = DEFAULT_WARMUP_S):
        self.xd, self.k, self.watch = xd, k, watch
        layout = xd.layout
        self.converter = LayoutConverter(fs, n_channels, signal_kind, layout)
        self.L = int(round(layout.window_s * layout.fs))
        self.H = int(round((hop_s or layout.hop_s) * layout.fs))
        if self.H < 1:
            raise ConfigError(f"hop of {hop_s} s is shorter than one model sample ({1 / layout.fs:g} s)")
        self.fs_model = layout.fs
        self.warmup = max(self.L, int(round(warmup_s * layout.fs)))
        self.normalizer = xd.calibration.normalizer if xd.calibration is not None else None
        self._env = np.zeros((0, layout.n_channels), np.float32)  # model samples from self._env0 on
        self._env0 = 0
        self._next = 0  # index of the next window
        self._stamps = np.zeros(0)  # board timestamps of device samples from self._stamp0 on
        self._stamp0 = 0
        if watch is not None:  # encode the sentence now, not when the first window is waiting
            xd.sentence_scores(np.zeros((1, embedding_dim(xd))), watch)
        if self.normalizer is not None:  # the model's first call allocates: do it before the stream, not in it
            xd.embed(np.ones((1, self.L, layout.n_channels), np.float32), self.normalizer)

    @property
    def normalizer_source(self) -> str:
        if self.xd.calibration is not None:
            return "calibration"
        return "stream warm-up" if self.normalizer is not None else "stream warm-up (pending)"

    def push(self, x: np.ndarray, arrival: float | None = None, stamps: np.ndarray | None = None) -> list[LiveWindow]:
        """Feed the next device samples (n, C); returns the windows they complete, described."""
        arrival = time.perf_counter() if arrival is None else arrival
        cpu0 = time.process_time()
        first_new = self.converter.n_in  # device index of this chunk's first sample
        if stamps is not None and len(stamps):
            self._stamps = np.concatenate([self._stamps, np.asarray(stamps, np.float64)])
        self._env = np.concatenate([self._env, self.converter.push(x)])
        if self.normalizer is None:
            if self._env0 + len(self._env) < self.warmup:
                return []
            X = self._windows(np.arange((self.warmup - self.L) // self.H + 1))
            self.normalizer = self.xd.fit_normalizer(X)
        n_env = self._env0 + len(self._env)
        ready = np.arange(self._next, (n_env - self.L) // self.H + 1) if n_env >= self.L else np.arange(0)
        if len(ready) == 0:
            return []
        X = self._windows(ready)
        Z = self.xd.embed(X, self.normalizer)
        top, scores, texts = self.xd.top_descriptions(Z, self.k)
        watch = self.xd.sentence_scores(Z, self.watch) if self.watch is not None else None
        done, wall, cpu = time.perf_counter(), time.time(), 1e3 * (time.process_time() - cpu0)
        out = []
        for r, w in enumerate(ready):
            start = w * self.H / self.fs_model
            last = int(self.converter.device_index(w * self.H + self.L - 1))
            stamp = None
            if 0 <= last - self._stamp0 < len(self._stamps):
                stamp = float(self._stamps[last - self._stamp0])
            out.append(LiveWindow(index=int(w), start_s=start, end_s=start + self.L / self.fs_model,
                                  top=[(texts[i], float(s)) for i, s in zip(top[r], scores[r])],
                                  watch=None if watch is None else float(watch[r]),
                                  match=None if watch is None else bool(watch[r] >= WATCH_THRESHOLD),
                                  latency_ms=1e3 * (done - arrival), cpu_ms=cpu, sample_time=stamp, ready_time=wall,
                                  backlog=last < first_new))
        self._next = int(ready[-1]) + 1
        self._trim()
        return out

    def _windows(self, idx: np.ndarray) -> np.ndarray:
        starts = idx * self.H - self._env0
        return self._env[starts[:, None] + np.arange(self.L)[None, :]]

    def _trim(self) -> None:
        """Keep only the model samples the next window needs, and the timestamps of their device samples."""
        keep = self._next * self.H
        if keep > self._env0:
            self._env = self._env[keep - self._env0:]
            self._env0 = keep
        first_device = int(self.converter.device_index(keep))
        if first_device > self._stamp0 and len(self._stamps):
            cut = min(first_device - self._stamp0, len(self._stamps))
            self._stamps = self._stamps[cut:]
            self._stamp0 += cut


def embedding_dim(xd: CrossDevice) -> int:
    """The dimension of the model's embeddings (that of its prototypes)."""
    return int(np.asarray(xd.run.prototypes).shape[1])


# ------------------------------------------------------------------ boards


@dataclass
class BoardStream:
    """A BrainFlow board session as a stream of sample chunks (a context manager: the session always ends).

    ``board``: an id or name; ``playback`` replays ``file`` (a BrainFlow file of ``master_board``, read
    through BrainFlow's playback board in real time) and ends with the file. A stream that delivers no
    sample for ``stall_s`` seconds is a :class:`~myosem_core.errors.DataError`. ``record=True`` keeps
    every chunk for :meth:`save`.
    """

    board: object
    file: str | Path | None = None
    master_board: object = None
    serial_port: str = ""
    stall_s: float = DEFAULT_STALL_S
    poll_s: float = 0.005
    record: bool = False
    _chunks: list = field(default_factory=list, repr=False)

    def __post_init__(self):
        self.id = board_id(self.board)
        if self.id == PLAYBACK:
            if self.file is None:
                raise ConfigError("the playback board replays a file: give --file (a BrainFlow file)")
            self.spec: Board = describe_board(self.master_board if self.master_board is not None else "synthetic")
            from .data.brainflow_files import read_brainflow_table

            self.file_samples = read_brainflow_table(self.file, self.spec).shape[1]  # checks the layout up front
        else:
            if self.file is not None:
                raise ConfigError("--file is for the playback board (--board playback)")
            self.spec = describe_board(self.id)
            self.file_samples = None
        self.received = 0
        self._shim = None
        self._streaming = False

    @property
    def name(self) -> str:
        return f"playback of {Path(self.file).name} ({self.spec.name})" if self.id == PLAYBACK else self.spec.name

    def __enter__(self) -> "BoardStream":
        bf = brainflow()
        params = bf.BrainFlowInputParams()
        params.serial_port = self.serial_port or ""
        if self.id == PLAYBACK:
            params.file = str(self.file)
            params.master_board = self.spec.id
        self._shim = bf.BoardShim(self.id, params)
        try:
            self._shim.prepare_session()
            self._shim.start_stream()
            self._streaming = True
        except bf.BrainFlowError as exc:
            self.__exit__(None, None, None)
            raise DataError(f"board {self.name}", "session", f"BrainFlow could not start the stream ({exc}); "
                                                             "expected a connected, powered board") from exc
        return self

    def __exit__(self, *exc) -> None:
        if self._shim is None:
            return
        try:
            if self._streaming:
                self._shim.stop_stream()
        except Exception:  # the stream may already be gone (unplugged board): releasing is what matters
            pass
        finally:
            self._streaming = False
            try:
                self._shim.release_session()
            except Exception:
                pass
            self._shim = None

    def chunks(self, stop: Callable[[], bool] | None = None) -> Iterator[tuple[np.ndarray, float]]:
        """(data (num_rows, n), arrival perf_counter) as samples arrive; ends with a playback file, or as soon
        as ``stop()`` is true (checked at every poll)."""
        last = time.perf_counter()
        while stop is None or not stop():
            data = self._shim.get_board_data()
            now = time.perf_counter()
            if data.shape[1]:
                last = now
                self.received += data.shape[1]
                if self.record:
                    self._chunks.append(data)
                yield data, now
                if self.file_samples is not None and self.received >= self.file_samples:
                    return
                continue
            if now - last > self.stall_s:
                if self.file_samples is not None and self.received >= self.file_samples:
                    return
                raise DataError(f"board {self.name}", "stream", f"no samples for {self.stall_s:g} s after "
                                f"{self.received} samples; expected about {self.spec.sampling_rate:g} a second "
                                "(is the board on, in range and streaming?)")
            time.sleep(self.poll_s)

    def recorded(self) -> np.ndarray:
        """Every sample received so far, (num_rows, n), as BrainFlow delivered it."""
        return np.concatenate(self._chunks, axis=1) if self._chunks else np.zeros((self.spec.num_rows, 0))

    def save(self, path: str | Path) -> Path:
        """Write the received samples as a BrainFlow file (``DataFilter.write_file``), atomically."""
        path = Path(path)
        with atomic_path(path, ".csv") as tmp:
            brainflow().DataFilter.write_file(np.ascontiguousarray(self.recorded()), str(tmp), "w")
        return path


def stream_windows(stream: BoardStream, retriever: LiveRetriever, stop: Callable[[], bool] | None = None
                   ) -> Iterator[LiveWindow]:
    """Described windows of a running board stream, as they complete, until the stream ends or ``stop()``."""
    spec = stream.spec
    for data, arrival in stream.chunks(stop):
        stamps = data[spec.timestamp_row] if spec.timestamp_row is not None else None
        yield from retriever.push(data[list(spec.emg_rows)].T, arrival, stamps)
