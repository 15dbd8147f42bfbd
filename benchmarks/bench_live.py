"""Latency of live retrieval (:mod:`myosem_core.live`): from a sample's arrival to its window's descriptions.

    .venv/bin/python benchmarks/bench_live.py            # writes <runs>/benchmarks/live.json and prints the table
    .venv/bin/python benchmarks/bench_live.py --smoke    # seconds

The model is the book's quick MyoSem run on the real DB1 (protocol ``rand``),
calibrated (``myosem calibrate``'s fit) on a simulated 8-channel 250 Hz board's
prompt session; the stream is another session of that board (raw EMG), with a
0.25 s hop and a watched sentence, on one thread. Three ways in, timed in one run:

- **replay in chunks**: the session fed to :class:`~myosem_core.live.LiveRetriever`
  in chunks of 2-4 samples (how BrainFlow delivers a 250 Hz board every ~10 ms),
  back to back; latency = the wall time of the push that completes a window
  (its last sample's arrival -> its descriptions), CPU time beside it;
- **BrainFlow playback**: the same session written as a Cyton file and replayed
  in real time by BrainFlow's playback board through :class:`~myosem_core.live.BoardStream`;
- **BrainFlow synthetic**: BrainFlow's synthetic board (16 channels at 250 Hz).

For the two boards, *board -> ready* is also given: from BrainFlow's timestamp of
the window's last sample to its descriptions, which adds BrainFlow's own
buffering and the 5 ms polling interval to the processing latency.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale import REPO  # noqa: E402

from myosem_experiments.report.machine import machine  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "ninapro-db1"
TARGET_MS = 20.0
WATCH = "close the index finger"


def _stats(values) -> dict:
    v = list(values)
    return {"median_ms": statistics.median(v), "p95_ms": float(np.percentile(v, 95)), "max_ms": max(v), "windows": len(v)}


def setup(data_dir: Path, runs: str | None, seconds: float):
    """(calibrated CrossDevice, the stream's recording) as the module docstring says."""
    from myosem_core.presets import make_config
    from myosem_core.cross_device import CrossDevice, Layout
    from myosem_core.data.device_files import Device, device_recording
    from myosem_core.device_calibration import calibrate_device
    from myosem_experiments.pipeline import run_myosem

    o = run_myosem(make_config("quick", "ninapro-db1", str(data_dir), 0), "rand", runs=runs, baselines=(),
                   progress=False)
    xd = CrossDevice(o.stage3, o.text_space, Layout(hop_s=0.25))
    board = Device("openbci8-250Hz", 8, 250.0)
    xd.calibrate(calibrate_device(xd, device_recording(board, subject=1, n_repetitions=3, seed=0)))
    rec = device_recording(board, subject=1, n_repetitions=2, seed=1)
    n = min(rec.n_samples, int(seconds * rec.fs))
    return xd, replace(rec, emg=rec.emg[:n], label=rec.label[:n], repetition=rec.repetition[:n])


def replay_in_chunks(xd, rec, seed: int = 0) -> dict:
    from myosem_core.live import LiveRetriever

    live = LiveRetriever(xd, rec.fs, rec.n_channels, "raw", k=3, watch=WATCH)
    rng = np.random.default_rng(seed)
    wall, cpu, at = [], [], 0
    while at < rec.n_samples:
        n = int(rng.integers(2, 5))
        w0, c0 = time.perf_counter(), time.process_time()
        out = live.push(rec.emg[at:at + n], arrival=w0)
        if out:
            wall.append(1e3 * (time.perf_counter() - w0))
            cpu.append(1e3 * (time.process_time() - c0))
        at += n
    return {"wall": _stats(wall), "cpu": _stats(cpu)}


def through_board(xd, board: str, file: Path | None, seconds: float) -> dict:
    from myosem_core.live import BoardStream, LiveRetriever, stream_windows

    stream = BoardStream(board, file=file, master_board="cyton" if file else None)
    live = LiveRetriever(xd, stream.spec.sampling_rate, len(stream.spec.emg_rows), "raw", k=3, watch=WATCH,
                         warmup_s=5.0)
    windows = []
    t0 = time.perf_counter()
    with stream:
        for w in stream_windows(stream, live):
            windows.append(w)
            if time.perf_counter() - t0 > seconds:
                break
    on_time = [w for w in windows if not w.backlog]
    return {"samples": stream.received, "windows": len(windows),
            "latency": _stats(w.latency_ms for w in on_time), "cpu": _stats(w.cpu_ms for w in on_time),
            "board_to_ready": _stats(1e3 * (w.ready_time - w.sample_time) for w in on_time
                                     if w.sample_time is not None),
            "normalizer": live.normalizer_source}


def run(args) -> dict:
    from myosem_core.data.brainflow_files import write_brainflow_file
    from myosem_core.io import write_json
    from myosem_core.paths import runs_root
    from myosem_core.threads import set_threads

    set_threads(1)
    seconds = 8.0 if args.smoke else args.seconds
    xd, rec = setup(Path(args.data_dir) if args.data_dir else DEFAULT_DATA, args.runs, seconds)
    out = {"command": "python benchmarks/bench_live.py " + " ".join(args.argv), "machine": machine(),
           "target_ms": TARGET_MS, "board": "simulated 8-channel 250 Hz raw EMG (SYNTHETIC signal)", "hop_s": 0.25,
           "window_s": xd.layout.window_s, "model": str(xd.run.folder), "stream_seconds": rec.duration_s,
           "threads": 1, "watch": WATCH}
    out["replay"] = replay_in_chunks(xd, rec)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_brainflow_file(Path(tmp) / "cyton.csv", rec, "cyton")
        out["playback"] = through_board(xd, "playback", path, seconds + 2)
    out["synthetic"] = through_board(xd, "synthetic", None, seconds)
    out["meets_target_cpu"] = all(out[k]["cpu"]["max_ms"] <= TARGET_MS for k in ("playback", "synthetic")) and \
        out["replay"]["cpu"]["max_ms"] <= TARGET_MS
    out["meets_target_wall_p95"] = all(out[k]["latency"]["p95_ms"] <= TARGET_MS for k in ("playback", "synthetic"))
    out["latency_over_hop"] = out["replay"]["wall"]["median_ms"] / (1e3 * out["hop_s"])
    write_json(runs_root(args.runs) / "benchmarks" / ("live-smoke.json" if args.smoke else "live.json"), out)
    print(render_markdown(out))
    return out


def render_markdown(r: dict) -> str:
    m = r["machine"]
    lines = [f"Measured by `{r['command'].strip()}` on {m['cpu']} ({m['cpus_visible']} CPUs visible, one thread, "
             f"load {m['load_avg_1min_at_start']}): {r['board']}, {r['window_s']:g} s windows every {r['hop_s']:g} s, "
             f"calibrated quick DB1 model, watching {r['watch']!r}. Target: at most {r['target_ms']:g} ms per window.",
             "*Wall* is what the stream waited (other jobs on the machine included); *CPU* is the time this process "
             "computed, the cost on a core of its own.", "",
             "| stream | windows | wall median (ms) | wall p95 (ms) | wall max (ms) | CPU median (ms) | CPU max (ms) | "
             "board -> ready median (ms) | board -> ready p95 (ms) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    rp = r["replay"]
    lines.append(f"| replay in 2-4 sample chunks | {rp['wall']['windows']} | {rp['wall']['median_ms']:.2f} | "
                 f"{rp['wall']['p95_ms']:.2f} | {rp['wall']['max_ms']:.2f} | {rp['cpu']['median_ms']:.2f} | "
                 f"{rp['cpu']['max_ms']:.2f} | - | - |")
    for name in ("playback", "synthetic"):
        b = r[name]
        lines.append(f"| BrainFlow {name} board ({b['normalizer']}) | {b['latency']['windows']} | "
                     f"{b['latency']['median_ms']:.2f} | {b['latency']['p95_ms']:.2f} | {b['latency']['max_ms']:.2f} | "
                     f"{b['cpu']['median_ms']:.2f} | {b['cpu']['max_ms']:.2f} | "
                     f"{b['board_to_ready']['median_ms']:.2f} | {b['board_to_ready']['p95_ms']:.2f} |")
    lines.append(f"\nMedian latency is {100 * r['latency_over_hop']:.1f} % of the hop. Target (<= {r['target_ms']:g} ms "
                 f"a window on one core): every window's CPU time {'meets' if r['meets_target_cpu'] else 'misses'} it; "
                 f"the wall p95 of both boards {'meets' if r['meets_target_wall_p95'] else 'misses'} it.")
    return "\n".join(lines)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--runs", default=None)
    ap.add_argument("--seconds", type=float, default=30.0, help="seconds of stream per way in (default 30)")
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    return run(args)


if __name__ == "__main__":
    main()
