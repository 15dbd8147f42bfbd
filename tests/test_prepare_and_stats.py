"""The data chapter's numbers: prepare_data's manifests and summary, activation topology, pose trajectories."""

from __future__ import annotations

import json

import numpy as np
import pytest

from myosem_core.data import load_split
from myosem_core.data.stats import (
    activation_topology,
    pose_trajectories,
    split_counts,
    window_rms,
)
from myosem_core.errors import ConfigError
from myosem_core.prepare import prepare_data
from myosem_core.presets import make_config


def test_activation_topology_peaks_at_one_per_channel(db1_windows):
    topo = activation_topology(db1_windows)
    assert topo.shape == (12, 10)
    np.testing.assert_allclose(topo.max(axis=0).to_numpy(), 1.0)
    assert (topo.to_numpy() > 0).all()
    # it is the class mean RMS over the column max, recomputed by hand for one cell
    rms = window_rms(db1_windows.X)
    k, ch = 4, 8
    means = np.stack([rms[db1_windows.y == c, ch].mean() for c in range(12)])
    assert topo.iloc[k, ch] == pytest.approx(means[k] / means.max(), rel=1e-6)


def test_pose_trajectories_show_the_moving_finger(db1_recordings):
    traj = pose_trajectories(db1_recordings[:3])
    assert len(traj) == 12 and traj["ninapro/A/1"].shape == (100, 22)
    # index flexion bends an index sensor (columns 4-6) more than any little-finger sensor (15-17)
    moved = np.abs(traj["ninapro/A/1"]).max(axis=0)
    assert moved[4:7].max() > moved[15:18].max()


def test_prepare_data_writes_manifests_and_summary(tmp_path, monkeypatch):
    monkeypatch.setenv("MYOSEM_CACHE", str(tmp_path / "cache"))
    cfg = make_config("quick", "synthetic", seed=3)
    ws, splits, run = prepare_data(cfg, run_dir=tmp_path / "runs")
    summary = json.loads((run / "data_summary.json").read_text())
    assert summary["synthetic"] is True and summary["n_windows"] == len(ws)
    for name, split in splits.items():
        saved = load_split(run / "manifests", name)
        assert (saved.manifest["split"].to_numpy() == split.manifest["split"].to_numpy()).all()
        assert sum(summary["protocols"][name]["windows"].values()) == len(ws)
    counts = split_counts(splits["class"].manifest)
    held = summary["protocols"]["class"]["heldout_classes"]
    assert set(counts.columns) >= {"train", "test"}
    assert all(counts.loc[summary["classes"][k], "train"] == 0 for k in held)
    # same data, same run folder; other synthetic subjects (another seed), another folder
    assert prepare_data(cfg, run_dir=tmp_path / "runs")[2] == run
    assert prepare_data(make_config("quick", "synthetic", seed=4), run_dir=tmp_path / "runs")[2] != run


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(ConfigError, match="unknown preset 'huge'"):
        make_config("huge")
