"""`myosem calibrate` and `myosem live` on BrainFlow's own boards: synthetic, playback of a file the test writes,
Ctrl-C, a stalled stream and the bad cases, on the tiny synthetic model of the CLI flow."""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from cli_flow import run_cli
from myosem_core.data.brainflow_files import write_brainflow_file
from myosem_core.data.device_files import Device, device_recording, prompt_events
from myosem_core.data.own_recordings import read_recording
from myosem_core.errors import DataError
from myosem_core.live import BoardStream
from myosem_experiments.cli import EXIT_DATA, EXIT_USAGE, main

BOARD = Device("cyton-like", 8, 250.0)  # the Cyton's layout: 8 EXG rows at 250 Hz
T0 = 1_700_000_000.0


def live_lines(argv) -> tuple[list[dict], dict]:
    """``myosem live ... --json`` in process: the window lines and the summary line."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(argv)
    assert code == 0, code
    lines = [json.loads(line) for line in buf.getvalue().splitlines() if line.strip()]
    assert "summary" in lines[-1] and all("window" in x for x in lines[:-1])
    return lines[:-1], lines[-1]["summary"]


def short(rec, seconds: float):
    n = int(seconds * rec.fs)
    return replace(rec, emg=rec.emg[:n], label=rec.label[:n], repetition=rec.repetition[:n])


@pytest.fixture(scope="module")
def calibration(flow, tmp_path_factory):
    """A Cyton file of a labelled prompt session + its prompt file -> `myosem calibrate` -> the calibration run."""
    folder = tmp_path_factory.mktemp("calibration")
    rec = device_recording(BOARD, subject=1, n_repetitions=2, seed=0)
    data = write_brainflow_file(folder / "cal.csv", rec, "cyton", t0=T0)
    prompt_events(rec, T0).to_csv(folder / "cal_prompts.csv", index=False)
    out = run_cli(["calibrate", "--recording", str(data), "--board", "cyton", "--events", str(folder / "cal_prompts.csv"),
                   "--run", flow["stage3"]["run"], "--runs", str(flow["root"] / "runs"), "--json", "--quiet"])
    return {"out": out, "rec": rec, "folder": folder}


def test_calibrate_saves_a_run_of_the_recordings_prompts(calibration):
    out, rec = calibration["out"], calibration["rec"]
    folder = Path(out["calibration"])
    assert (folder / "calibration.json").is_file() and (folder / "map.npy").is_file()
    assert out["prompts"] == rec.meta["descriptions"] and len(out["prompts"]) == 8
    assert out["held_out_repetitions"] == 2 and 0 <= out["held_out_R@1"] <= 1 and out["chance_R@1"] == 1 / 8
    W = np.load(folder / "map.npy")
    assert W.shape[0] == W.shape[1] and not np.allclose(W, np.eye(len(W)))  # a fitted map, not the identity


def test_playback_of_a_file_describes_every_window_as_query_recording_does(flow, calibration, tmp_path):
    """The same file through BrainFlow's playback board (real time, chunks as BrainFlow delivers them) and through
    `myosem query --recording`: the same windows, the same top-1 each."""
    run = calibration["out"]["calibration"]
    rec = short(device_recording(BOARD, subject=1, n_repetitions=1, seed=1), 7.0)
    data = write_brainflow_file(tmp_path / "play.csv", rec, "cyton", t0=T0)
    offline = run_cli(["query", "--recording", str(data), "--board", "cyton", "--run", run, "--hop", "0.25",
                       "-k", "3", "--json", "--quiet"])
    assert offline["candidates"] == "calibration prompts"
    watched = calibration["out"]["prompts"]["fingers/8"]  # "close the index finger"
    windows, summary = live_lines(["live", "--board", "playback", "--file", str(data), "--master-board", "cyton",
                                   "--run", run, "--json", "--watch", watched, "-k", "3", "--quiet"])
    assert summary["samples"] == rec.n_samples and summary["stopped_by"] == "end"
    assert summary["normalizer"] == "calibration" and len(windows) == len(offline["windows"]) == 25
    assert [w["top1"] for w in windows] == [w["top1"] for w in offline["windows"]]
    np.testing.assert_allclose([w["score1"] for w in windows], [w["score1"] for w in offline["windows"]], atol=2e-4)
    assert [w["start_s"] for w in windows] == pytest.approx([0.25 * i for i in range(25)])
    # a window scoring 0.9 on the watched sentence (one of the prompts) has that prompt as its best description
    assert all(w["top1"] == watched for w in windows if w["watch"] >= 0.9)
    assert summary["watch"]["matches"] == sum(w["match"] for w in windows)


def test_live_on_brainflows_synthetic_board(flow):
    windows, summary = live_lines(["live", "--board", "synthetic", "--run", flow["stage3"]["run"], "--json",
                                   "--duration", "2.5", "--warmup", "1", "-k", "2", "--watch", "bend the ring finger",
                                   "--quiet"])
    assert summary["normalizer"] == "stream warm-up" and summary["stopped_by"] == "end"
    assert len(windows) >= 3 and [w["window"] for w in windows] == list(range(len(windows)))
    assert all(w["score1"] >= w["score2"] and 0 <= w["watch"] <= 1 and w["latency_ms"] > 0 for w in windows)
    assert {w["top1"] for w in windows} <= set(flow_class_names(flow))


def flow_class_names(flow) -> list[str]:
    from myosem_core.data.catalog import class_name
    from myosem_core.training.stage3 import load_stage3

    return [class_name(k) for k in load_stage3(flow["stage3"]["run"]).class_keys]


def test_ctrl_c_ends_live_cleanly_and_writes_the_recording_whole(flow, tmp_path):
    record = tmp_path / "out" / "stream.csv"
    cmd = [str(Path(sys.executable).parent / "myosem"), "live", "--board", "synthetic", "--run", flow["stage3"]["run"],
           "--json", "--warmup", "1", "--record", str(record), "--quiet"]
    env = {**os.environ, "MYOSEM_CACHE": str(flow["root"] / "cache"), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    try:
        deadline = time.time() + 120
        while len(lines) < 3 and time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(json.loads(line))
        assert len(lines) == 3, proc.stderr.read()
        proc.send_signal(signal.SIGINT)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    summary = json.loads(rest.strip().splitlines()[-1])["summary"]
    assert summary["stopped_by"] == "Ctrl-C" and summary["record"] == str(record)
    assert sorted(p.name for p in record.parent.iterdir()) == ["stream.csv"]  # no temporary file left behind
    back = read_recording(record, board="synthetic")  # a whole BrainFlow file of the synthetic board's layout
    assert back.n_samples == summary["samples"] and back.n_channels == 16


def test_a_stalled_stream_is_one_clear_error():
    with pytest.raises(DataError, match=r"board Synthetic: field 'stream': no samples for 0.5 s after \d+ samples"):
        with BoardStream("synthetic", stall_s=0.5) as stream:
            for i, _ in enumerate(stream.chunks()):
                if i == 3:
                    stream._shim.stop_stream()  # the board stops sending, the session stays open


@pytest.mark.parametrize("extra, code, needle", [
    (["--board", "nosuchboard"], EXIT_USAGE, "unknown BrainFlow board 'nosuchboard'"),
    (["--board", "playback"], EXIT_USAGE, "give --file"),
    (["--board", "synthetic", "--file", "x.csv"], EXIT_USAGE, "--file is for the playback board"),
])
def test_bad_boards_are_one_error_each(flow, extra, code, needle, capsys):
    assert main(["live", *extra, "--run", flow["stage3"]["run"], "--quiet"]) == code
    assert needle in capsys.readouterr().err


def test_a_watched_sentence_naming_no_movement_is_refused_before_the_stream(flow, capsys):
    assert main(["live", "--board", "synthetic", "--run", flow["stage3"]["run"], "--watch", "12345 !!!",
                 "--quiet"]) == EXIT_DATA
    assert "no known hand movement in \"12345 !!!\"" in capsys.readouterr().err


def test_a_board_that_is_not_there_is_one_data_error(flow, capsys):
    assert main(["live", "--board", "cyton", "--serial-port", "/dev/ttyNOPE", "--run", flow["stage3"]["run"],
                 "--quiet"]) == EXIT_DATA
    err = capsys.readouterr().err
    assert "board Cyton: field 'session': BrainFlow could not start the stream" in err and "UNABLE_TO_OPEN_PORT" in err


def test_a_playback_file_of_another_board_is_one_data_error(flow, tmp_path, capsys):
    rec = short(device_recording(Device("synthetic-like", 16, 250.0), n_repetitions=1), 2.0)
    data = write_brainflow_file(tmp_path / "synthetic.csv", rec, "synthetic")
    assert main(["live", "--board", "playback", "--file", str(data), "--master-board", "cyton",
                 "--run", flow["stage3"]["run"], "--quiet"]) == EXIT_DATA
    assert "synthetic.csv: field 'rows': expected 24 tab-separated numbers per line" in capsys.readouterr().err


def test_calibrating_on_an_unlabelled_recording_is_one_data_error(flow, tmp_path, capsys):
    rec = short(device_recording(BOARD, n_repetitions=1), 3.0)
    data = write_brainflow_file(tmp_path / "free.csv", rec, "cyton")
    assert main(["calibrate", "--recording", str(data), "--board", "cyton", "--run", flow["stage3"]["run"],
                 "--runs", str(flow["root"] / "runs"), "--quiet"]) == EXIT_DATA
    assert "expected a labelled recording" in capsys.readouterr().err
