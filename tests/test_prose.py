"""The sentences the book shows, from result files: every figure in them is read from the file."""

from __future__ import annotations

from myosem_experiments.report import prose


def test_the_data_summary_names_what_was_loaded_and_no_machine_path():
    summary = {"dataset": "ninapro-db1", "synthetic": False, "data_content": "ab12cd34ef56ab78", "preset": "quick",
               "subjects": ["S1", "S2", "S3"], "classes": {"ninapro/A/1": "index flexion", "ninapro/A/2": "x"},
               "n_channels": 10, "signal_kind": "rms", "fs": 100.0, "pose_kind": "cyberglove22",
               "n_windows": 7123, "window_s": 1.0, "hop_s": 0.5}
    text = prose.data_summary(summary, "data-ninapro-db1-quick-0123")
    for shown in ("`ninapro-db1`", "content `ab12cd34ef56ab78`", "3 subjects, 2 movement classes",
                  "10 EMG channels (rms) at 100 Hz", "7123 windows of 1 s every 0.5 s", "`data-ninapro-db1-quick-0123`"):
        assert shown in text, shown
    assert "/" not in text.replace("manifests/", "")  # no folder of this machine
    synthetic = prose.data_summary({**summary, "synthetic": True}, "r")
    assert "SYNTHETIC" in synthetic and "ab12" not in synthetic


def test_the_grid_scope_says_what_the_tables_hold():
    three = prose.grid_scope("ninapro-db1", "book", ["rand", "user", "class"], [0, 1, 2], "results-ninapro-db1-book-1a2b")
    assert "**protocols:** rand, user, class" in three and "**seeds:** 0, 1, 2." in three
    assert "mean ± std over the seeds" in three and "SYNTHETIC" not in three
    assert "`results-ninapro-db1-book-1a2b` in the runs folder" in three
    one = prose.grid_scope("synthetic", "quick", ["rand"], [0], "r")
    assert "(SYNTHETIC)" in one and "one seed a cell has no spread" in one
