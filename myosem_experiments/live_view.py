"""The terminal face of ``myosem live``: a refreshing table of the latest windows (rich), or one JSON line a window.

The stream, windows and descriptions come from :mod:`myosem_core.live`; this module
only shows them, keeps the run's figures (latency, matches) and ends cleanly: Ctrl-C
stops the stream, the board session is released, and ``--record`` is written whole
(temporary file, then rename) or not at all.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections import deque
from contextlib import contextmanager, nullcontext

import numpy as np

ROWS_SHOWN = 14


class LiveTable:
    """The latest windows as a rich table: time, the top descriptions with their scores, the watched sentence."""

    def __init__(self, title: str, k: int, watch: str | None, rows: int = ROWS_SHOWN):
        self.title, self.k, self.watch = title, k, watch
        self.rows: deque = deque(maxlen=rows)
        self.n, self.matches, self.latency = 0, 0, deque(maxlen=200)

    def add(self, w) -> None:
        self.rows.append(w)
        self.n += 1
        self.matches += bool(w.match)
        if not w.backlog:
            self.latency.append(w.latency_ms)

    def text(self, width: int = 140) -> str:
        """The table as plain text, as the terminal shows it (for a page or a log)."""
        import io

        from rich.console import Console

        console = Console(file=io.StringIO(), width=width, color_system=None, force_terminal=False)
        console.print(self.render())
        return console.file.getvalue()

    def render(self):
        from rich.table import Table

        lat = (f"latency median {np.median(self.latency):.1f} ms, max {max(self.latency):.1f} ms"
               if self.latency else "latency: waiting for windows")
        caption = f"{self.n} windows · {lat}" + (f" · {self.matches} matches" if self.watch else "") + \
            " · Ctrl-C to stop"
        t = Table(title=self.title, caption=caption, expand=False)
        t.add_column("t (s)", justify="right", no_wrap=True)
        for r in range(1, self.k + 1):
            t.add_column(["best", "2nd", "3rd"][r - 1] if r <= 3 else f"{r}th", overflow="fold")
        if self.watch:
            t.add_column(f"watch: {self.watch!r}", justify="right", no_wrap=True)
        for w in self.rows:
            cells = [f"{w.start_s:7.2f}"] + [f"{text} [dim]{score:.2f}[/dim]" for text, score in w.top]
            if self.watch:
                cells.append(f"[bold green]MATCH {w.watch:.2f}[/bold green]" if w.match else f"{w.watch:.2f}")
            t.add_row(*cells)
        return t


def _percentile(values, q) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


@contextmanager
def ctrl_c_sets(event: threading.Event):
    """Inside: Ctrl-C sets ``event`` (the loop then ends at its next poll and the board session is closed in
    order) instead of raising wherever the program is, BrainFlow's session calls included; a second Ctrl-C
    raises ``KeyboardInterrupt`` as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_ctrl_c(signum, frame):
        if event.is_set():
            raise KeyboardInterrupt
        event.set()

    previous = signal.signal(signal.SIGINT, on_ctrl_c)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

def run_live(args, model) -> dict:
    """``myosem live``: stream, describe, show; returns the run's summary (JSON mode: printed as a last line)."""
    from myosem_core.live import BoardStream, LiveRetriever, stream_windows

    cal = model.xd.calibration
    master = args.master_board
    if master is None and cal is not None and cal.info.get("board_id") is not None:
        master = cal.info["board_id"]  # the board the calibration recording came from
    stream = BoardStream(args.board, file=args.file, master_board=master, serial_port=args.serial_port or "",
                         stall_s=args.stall, record=args.record is not None)
    spec = stream.spec
    live = LiveRetriever(model.xd, spec.sampling_rate, len(spec.emg_rows), args.signal, k=args.k, watch=args.watch,
                         hop_s=args.hop, warmup_s=args.warmup)
    lay = model.xd.layout
    title = (f"myosem live · {stream.name} · {spec.sampling_rate:g} Hz × {len(spec.emg_rows)} ch → "
             f"{lay.n_channels} ch × {lay.fs:g} Hz, {lay.window_s:g} s windows every {live.H / lay.fs:g} s · "
             f"{'calibrated: ' + model.calibration.name if model.calibration else 'uncalibrated: ' + model.stage3.name}")
    view = None if args.json else LiveTable(title, args.k, args.watch)
    windows, interrupted, saved = [], False, None
    stop = threading.Event()
    t0 = time.perf_counter()
    try:
        from rich.live import Live

        screen = nullcontext() if view is None else Live(view.render(), refresh_per_second=8, transient=False)
        with ctrl_c_sets(stop), stream, screen as shown:
            for w in stream_windows(stream, live, stop.is_set):
                windows.append(w)
                if view is None:
                    print(json.dumps(w.to_dict()), flush=True)
                else:
                    view.add(w)
                    shown.update(view.render())
                if (args.duration and time.perf_counter() - t0 >= args.duration) or \
                        (args.max_windows and len(windows) >= args.max_windows):
                    break
    except KeyboardInterrupt:  # a second Ctrl-C
        interrupted = True
    finally:
        interrupted = interrupted or stop.is_set()
        if args.record is not None and stream.received:
            saved = stream.save(args.record)  # whole or not at all (atomic), also after Ctrl-C or a stall
    on_time = [w.latency_ms for w in windows if not w.backlog]
    board = [1e3 * (w.ready_time - w.sample_time) for w in windows if not w.backlog and w.sample_time is not None]
    summary = {"board": stream.name, "samples": stream.received, "windows": len(windows),
               "seconds": round(time.perf_counter() - t0, 2), "stopped_by": "Ctrl-C" if interrupted else "end",
               "normalizer": live.normalizer_source, "run": str(model.stage3),
               "calibration": str(model.calibration or ""),
               "latency_ms": {"median": _percentile(on_time, 50), "p95": _percentile(on_time, 95),
                              "max": max(on_time) if on_time else None, "windows": len(on_time)},
               "board_to_ready_ms": {"median": _percentile(board, 50), "p95": _percentile(board, 95)},
               "record": str(saved) if saved else None}
    if args.watch:
        summary["watch"] = {"sentence": args.watch, "matches": int(sum(bool(w.match) for w in windows)),
                            "match_windows": [w.index for w in windows if w.match]}
    if args.json:
        print(json.dumps({"summary": summary}), flush=True)
        return {}
    print(file=sys.stderr)
    return summary
