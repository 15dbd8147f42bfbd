"""The ``myosem`` command: help on every subcommand, exit codes a script can rely on, and the whole flow on tiny data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from cli_flow import run_cli as _run
from tiny_myosem import CLI_TINY

from myosem_experiments.cli import (
    EXIT_DATA,
    EXIT_INTERRUPTED,
    EXIT_MISSING,
    EXIT_USAGE,
    main,
)

COMMANDS = ["prepare", "train-stage1", "train-stage2", "train-stage3", "train", "evaluate", "index", "query"]


def test_help_lists_commands_and_exit_codes(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert all(c in out for c in COMMANDS)
    for code in ("0 ", "2 ", "3 ", "4 "):
        assert f"\n  {code}" in out
    assert "torchrun --nproc_per_node" in out


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_has_help(command, capsys):
    assert main([command, "--help"]) == 0
    assert f"usage: myosem {command}" in capsys.readouterr().out


def test_installed_console_script_runs():
    exe = Path(sys.executable).parent / "myosem"
    assert exe.is_file(), f"{exe} missing: install the package (pip install -e .)"
    proc = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "exit codes" in proc.stdout and "query" in proc.stdout


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("myosem: error: "), err
    return err[-1]


@pytest.mark.parametrize("argv,needle", [
    (["prepare", "--bogus"], "unrecognized arguments"),
    (["prepare", "--preset", "huge"], "unknown preset"),
    (["prepare", "--dataset", "nope"], "unknown dataset"),
    (["prepare", "--set", "stage2.nope=1"], "no field 'nope'"),
    (["prepare", "--set", "stage2.max_epochs=many"], "max_epochs=many"),
    (["prepare", "--set", "oops"], "SECTION.FIELD=VALUE"),
    (["query", "some text", "--window", "w.npy", "--run", "r"], "not both"),
    (["query", "--run", "r"], "either a sentence or --window"),
    (["query", "--window", "w.npy", "--recording", "r.csv", "--run", "r"], "not both"),
])
def test_usage_and_config_errors_exit_2(argv, needle, capsys, tmp_path):
    assert main([*argv, "--runs", str(tmp_path)]) == EXIT_USAGE
    assert needle in _error_line(capsys)


def test_bad_data_folder_exits_3(tmp_path, capsys):
    assert main(["prepare", "--dataset", "ninapro-db1", "--data-dir", str(tmp_path), "--runs", str(tmp_path)]) == EXIT_DATA
    assert "S*_A1_E1.mat" in _error_line(capsys)


def test_quiet_prints_no_progress_bar(tmp_path, capfd, monkeypatch):
    monkeypatch.setenv("MYOSEM_CACHE", str(tmp_path / "cache"))  # nothing cached: the windows are made here
    assert "--quiet" in CLI_TINY
    assert main(["prepare", *CLI_TINY, "--runs", str(tmp_path), "--json"]) == 0
    assert capfd.readouterr().err == ""


def test_missing_run_exits_4(tmp_path, capsys):
    assert main(["query", "open the hand", "--run", "no-such-run", "--runs", str(tmp_path)]) == EXIT_MISSING
    assert "not found" in _error_line(capsys)
    (tmp_path / "empty-run").mkdir()
    assert main(["query", "open the hand", "--run", str(tmp_path / "empty-run")]) == EXIT_MISSING
    assert "myosem index" in _error_line(capsys)


def test_prepare_writes_manifests(flow):
    p = flow["prepare"]
    assert p["synthetic"] is True and p["windows"] == 480
    assert set(p["protocols"]) == {"rand", "user", "class"}
    for name in p["protocols"]:
        assert (Path(p["run"]) / "manifests" / f"{name}.csv").is_file()


def test_interrupted_training_exits_130_and_the_rerun_resumes(flow):
    assert flow["interrupted"] == EXIT_INTERRUPTED
    s2 = flow["stage2"]
    assert s2["epochs"] == 2 and s2["world_size"] == 1
    run = Path(s2["run"])
    assert (run / "results.json").is_file() and (run / "stage2_last.pt").is_file()


def test_index_holds_the_test_windows(flow):
    idx = flow["index"]
    assert idx["run"] == flow["stage3"]["run"] and idx["synthetic"] is True
    windows = pd.read_csv(Path(idx["index"]) / "windows.csv")
    assert len(windows) == idx["n"] == 144
    E = np.load(Path(idx["index"]) / "embeddings.npy")
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-4)


def test_text_query_returns_top_windows_with_true_labels(flow):
    info = json.loads((Path(flow["index"]["index"]) / "index.json").read_text())
    assert info["emg_temperature"] > 0 and info["calibrated_on"].endswith("validation windows") and info["score_map"]
    windows = pd.read_csv(Path(flow["index"]["index"]) / "windows.csv").set_index("window")
    for varied in (False, True):
        res = _run(["query", "bend the ring finger", "--run", flow["stage3"]["run"], "-k", "5", "--json"]
                   + (["--varied"] if varied else []))
        assert res["known"] is True and res["message"].startswith('"bend the ring finger" reads as')
        hits = res["hits"]
        assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5]
        probs = [h["probability"] for h in hits]
        assert probs == sorted(probs, reverse=True) and all(0 <= p < 1 for p in probs)
        for h in hits:  # the label shown is the window's true label
            assert windows.loc[h["window"], "class_key"] == h["class_key"]
        if varied:  # at most one window per repetition
            assert len({(h["subject"], h["repetition"]) for h in hits}) == 5


def test_text_query_refuses_bad_input_and_text_naming_no_movement(flow, capsys):
    run = flow["stage3"]["run"]
    for bad, needle in (("", "empty"), ("\x00\x01", "control characters"), ("y" * 600, "more than the 500")):
        assert main(["query", bad, "--run", run]) == EXIT_DATA
        assert needle in _error_line(capsys)
    res = _run(["query", "👍 ✊ 🤙", "--run", run, "--json"])
    assert res["known"] is False and res["hits"] == []
    assert res["message"].startswith('no known hand movement in "👍 ✊ 🤙"')
    assert len(res["nearest_candidates"]) == 3 and res["nearest_candidates"][0]["class_name"]


def test_window_query_ranks_every_description(flow, tmp_path, capsys, monkeypatch):
    from myosem_experiments.cli_commands import load_data
    from myosem_experiments.cli_config import stage_configs

    monkeypatch.setenv("MYOSEM_CACHE", str(flow["root"] / "cache"))
    sets = [CLI_TINY[i + 1] for i, a in enumerate(CLI_TINY) if a == "--set"]
    sc = stage_configs("quick", "synthetic", None, 0, sets)
    ws, split = load_data(sc, "rand")
    window = ws.X[split.test[0]]
    np.save(tmp_path / "w.npy", window)
    res = _run(["query", "--window", str(tmp_path / "w.npy"), "--run", flow["stage3"]["run"], "-k", "12", "--json"])
    ranked = res["ranked"]
    assert sorted(r["class_key"] for r in ranked) == sorted(ws.class_keys)
    assert all(r["description"] for r in ranked)
    assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)
    np.save(tmp_path / "short.npy", window[:10])
    assert main(["query", "--window", str(tmp_path / "short.npy"), "--run", flow["stage3"]["run"]]) == EXIT_DATA
    assert "shape" in _error_line(capsys)
    assert main(["query", "--window", str(tmp_path / "none.npy"), "--run", flow["stage3"]["run"]]) == EXIT_MISSING


def test_evaluate_writes_results_for_myosem_and_the_baseline(flow, monkeypatch):
    monkeypatch.setenv("MYOSEM_CACHE", str(flow["root"] / "cache"))
    res = _run(["evaluate", *flow["common"]])
    models = {row["model"] for row in res["table"]}
    assert models == {"myosem", "lda"}
    for path in res["files"]:
        result = json.loads(Path(path).read_text())
        assert result["synthetic"] is True and 0.0 <= result["emg_to_text"]["R@1"] <= 1.0


def test_evaluate_of_a_data_parallel_run_never_overwrites_the_one_process_results(flow, monkeypatch):
    from myosem_core import distributed

    monkeypatch.setenv("MYOSEM_CACHE", str(flow["root"] / "cache"))
    single = _run(["evaluate", *flow["common"]])
    monkeypatch.setattr(distributed, "run_key_extra", lambda: {"world_size": 2})  # as rank 0 of torchrun would see
    parallel = _run(["evaluate", *flow["common"]])
    assert parallel["results"] != single["results"]
    assert not set(parallel["files"]) & set(single["files"])
    assert all(Path(p).is_file() for p in single["files"] + parallel["files"])


def test_recording_query_describes_every_window_of_another_device(flow, tmp_path, capsys):
    """An 8-channel 250 Hz CSV (not the run's layout) -> per-window top descriptions, and a sentence's time spans."""
    from myosem_core.data.device_files import (
        Device,
        device_recording,
        write_recording_files,
    )

    rec = device_recording(Device("board8-250Hz", 8, 250.0), n_repetitions=1)
    data = write_recording_files(tmp_path, rec, "csv")
    res = _run(["query", "--recording", str(data), "--run", flow["stage3"]["run"], "-k", "3", "--hop", "1", "--json"])
    assert res["device"] == {"fs": 250.0, "channels": 8, "signal": "raw"} and res["candidates"] == "recording labels"
    rows = res["windows"]
    assert len(rows) == int(rec.duration_s - 1) + 1  # 1 s windows every 1 s
    descriptions = set(rec.meta["descriptions"].values())
    assert {r["top1"] for r in rows} <= descriptions and "close the index finger" in descriptions
    assert all(r["score1"] >= r["score2"] >= r["score3"] for r in rows)
    assert {r["true"] for r in rows} >= {"rest", "index closed"}
    spans = _run(["query", "close the index finger", "--recording", str(data), "--run", flow["stage3"]["run"],
                  "-k", "4", "--json"])["spans"]
    starts = sorted(s["start_s"] for s in spans)
    assert len(spans) == 4 and all(b - a >= 1.0 for a, b in zip(starts, starts[1:]))  # spans do not overlap
    (tmp_path / "session1.yaml").write_text((tmp_path / "session1.yaml").read_text().replace("250.0", "500.0"))
    assert main(["query", "--recording", str(data), "--run", flow["stage3"]["run"]]) == EXIT_DATA
    assert "session1.csv: field 'sampling_rate'" in _error_line(capsys)
