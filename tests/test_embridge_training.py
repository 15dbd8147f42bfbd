"""EMBridge training: same seed -> same weights and curves; caching by config hash; bad input -> one clear error."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from myosem_core.data.protocols import make_split
from myosem_core.data.windows import WindowSet
from myosem_core.errors import DataError
from myosem_core.training.embridge import (
    AlignConfig,
    MAETrainConfig,
    fit_normalizers,
    load_or_train_aligner,
    train_aligner,
    train_mae,
    variant,
)
from myosem_core.presets import preset_section

TINY_MAE = MAETrainConfig(patch_s=0.1, d_model=8, n_layers=2, n_heads=2, decoder_dim=8, epochs=2, batch_size=16)
TINY_ALIGN = AlignConfig(n_queries=4, n_clusters=4, k_c=2, epochs=2, batch_size=16)


def tiny_windows(n=96, seed=0) -> WindowSet:
    """Random paired windows (20 samples at 100 Hz, 3 EMG channels, 4 pose channels), 4 classes, 3 subjects."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    pose = rng.normal(size=(n, 20, 4)).astype(np.float32) + y[:, None, None]
    X = np.abs(rng.normal(size=(n, 20, 3))).astype(np.float32) + 0.2 * y[:, None, None]
    return WindowSet(X=X, y=y.astype(np.int64), class_keys=("t/1", "t/2", "t/3", "t/4"),
                     subject=np.array([f"S{i % 3 + 1}" for i in range(n)]), repetition=(np.arange(n) // 4) % 10 + 1,
                     dataset=np.full(n, "tiny"), start=np.zeros(n, np.int64), recording=np.zeros(n, np.int64),
                     fs=100.0, signal_kind="rms", channel_names=("a", "b", "c"), pose=pose, pose_kind="test")


def grid_windows() -> WindowSet:
    """240 paired windows of 12 synthetic classes and 4 subjects: enough for the class and user protocols."""
    base = tiny_windows(n=240)
    keys = tuple(f"synthetic/S/{k}" for k in range(1, 13))
    y = np.arange(240) % 12
    return WindowSet(X=base.X + 0.1 * y[:, None, None].astype(np.float32), y=y.astype(np.int64), class_keys=keys,
                     subject=np.array([f"S{i % 4 + 1}" for i in range(240)]),
                     repetition=(np.arange(240) // 12) % 10 + 1, dataset=np.full(240, "synthetic"), start=base.start, recording=base.recording, fs=100.0,
                     signal_kind="rms", channel_names=base.channel_names, pose=base.pose + y[:, None, None],
                     pose_kind="test")


def _train_once(ws, seed, name="EMBridge"):
    emg_norm, pose_norm = fit_normalizers(ws)
    emg = train_mae(ws, "emg", TINY_MAE, emg_norm, seed=seed, progress=False)
    pose = train_mae(ws, "pose", TINY_MAE, pose_norm, seed=seed, progress=False)
    return train_aligner(ws, emg, pose, variant(TINY_ALIGN, name), seed=seed, progress=False)


@pytest.mark.parametrize("name", ["EMBridge", "CPEP", "SoftCLIP"])
def test_training_is_deterministic_for_a_seed(name):
    ws = tiny_windows()
    a, b, c = _train_once(ws, 0, name), _train_once(ws, 0, name), _train_once(ws, 1, name)
    sa, sb, sc = a.model.state_dict(), b.model.state_dict(), c.model.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert [r["total"] for r in a.curves] == [r["total"] for r in b.curves]
    assert np.array_equal(a.queries(ws), b.queries(ws))
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)  # a different seed really changes something


def test_embridge_loss_has_all_three_parts_and_the_pose_anchor_stays_frozen():
    ws = tiny_windows()
    run = _train_once(ws, 0)
    assert {"infonce", "cascle", "mprl", "total"} <= set(run.curves[-1])
    row = run.curves[-1]
    assert row["total"] == pytest.approx(row["infonce"] + TINY_ALIGN.alpha * row["cascle"] + TINY_ALIGN.lam * row["mprl"],
                                         rel=1e-5)
    before = {k: v.clone() for k, v in run.pose.model.state_dict().items()}
    train_aligner(ws, run.emg, run.pose, TINY_ALIGN, seed=0, progress=False)
    assert all(torch.equal(before[k], v) for k, v in run.pose.model.state_dict().items())
    Q = run.queries(ws)
    assert Q.shape == (len(ws), TINY_ALIGN.n_queries, TINY_MAE.d_model)
    assert np.allclose(np.linalg.norm(Q, axis=-1), 1.0, atol=1e-5)


def test_load_or_train_reuses_the_run_with_the_same_key(tmp_path):
    ws = tiny_windows(n=200)
    train = ws.subset(make_split(ws, "rand").train)
    ecfg = replace(preset_section("quick", "embridge"), emg=TINY_MAE, pose=TINY_MAE, align=TINY_ALIGN)
    first = load_or_train_aligner(train, ecfg, "CPEP", runs=tmp_path, progress=False)
    assert (first.folder / "results.json").is_file() and (first.folder / "model.pt").is_file()
    again = load_or_train_aligner(train, ecfg, "CPEP", runs=tmp_path, progress=False)
    assert again.folder == first.folder
    assert np.array_equal(first.queries(ws), again.queries(ws))
    other = load_or_train_aligner(train, ecfg, "CPEP", replace(variant(TINY_ALIGN, "CPEP"), epochs=1),
                                  runs=tmp_path, progress=False)
    assert other.folder != first.folder


def test_windows_without_pose_raise_a_clear_error():
    ws = tiny_windows()
    ws.pose = None
    with pytest.raises(DataError, match="pose"):
        fit_normalizers(ws)


def test_experiment_grid_writes_every_table_to_json(tmp_path):
    """A tiny grid over both protocols: the results JSON holds each table and the report builds from it alone."""
    from myosem_core.io import read_json
    from myosem_core.presets import make_config
    from myosem_experiments.report import embridge as rep
    from myosem_experiments.evaluation.embridge import run_embridge_experiments

    ws = grid_windows()
    keys = ws.class_keys
    ecfg = replace(preset_section("quick", "embridge"), emg=TINY_MAE, pose=TINY_MAE, align=replace(TINY_ALIGN, epochs=1),
                   main_models=("CPEP", "EMBridge"), user_models=("CPEP",), ablations=("w/o MPRL",),
                   batch_sizes=(16,), batch_models=("CPEP",), fractions=(0.5,), tau_s_grid=(0.5,), k_c_grid=(1,))
    out = run_embridge_experiments(make_config("quick", "synthetic", seed=0), ws, ecfg, runs=tmp_path, progress=False)
    res = read_json(out["path"])
    assert res["synthetic"] is True
    main = rep.main_table(res)
    assert list(main.index) == ["Upper bound (pose MAE)", "EMG-MAE", "CPEP", "EMBridge"]
    assert {("Seen gestures", "ZS"), ("Unseen gestures", "LP"), ("Unseen users", "ZS")} <= set(main.columns)
    assert main.loc["CPEP"].notna().all() and np.isnan(main.loc["EMG-MAE", ("Seen gestures", "ZS")])
    assert ((main.fillna(0) >= 0) & (main.fillna(0) <= 1)).all().all()
    assert list(rep.ablation_table(res).index) == ["EMBridge", "w/o MPRL"]
    assert set(rep.sensitivity_table(res)["param"]) == {"tau_s", "k_c"}
    assert rep.grid_table(res, "data_efficiency", "data_fraction")["data_fraction"].unique().tolist() == [0.5]
    y_true, y_pred = rep.zero_shot_predictions(res, "EMBridge", "unseen")
    assert set(y_true) == {keys.index(k) for k in ("synthetic/S/2", "synthetic/S/5", "synthetic/S/8", "synthetic/S/11")}
    assert len(y_pred) == len(y_true)
    assert (rep.run_times(res)["train_cpu_seconds"] > 0).all()
    paired = rep.paired_query_table(res)  # EMBridge has 16 queries, CPEP one: only EMBridge gets the diagnostic
    assert set(paired["model"]) == {"EMBridge"} and set(paired["protocol"]) == {"class"}
    assert set(paired["set"]) == {"Seen gestures", "Unseen gestures"}
    assert paired[["ZS", "ZS, paired query"]].apply(lambda c: c.between(0, 1)).all().all()
