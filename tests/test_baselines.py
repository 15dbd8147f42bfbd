"""Every registered EMG baseline fits and scores a tiny synthetic WindowSet, deterministically per seed."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from myosem_core.baselines import deep
from myosem_core.baselines.deep import ARCHITECTURES, train_deep
from myosem_core.baselines.forest import ForestConfig, slope_sign_changes, zero_crossings
from myosem_core.baselines.registry import (
    CLASSICAL_BASELINES,
    DEEP_BASELINES,
    RETRIEVERS,
    make_retriever,
)
from myosem_core.data.windows import WindowSet
from myosem_core.errors import ConfigError, DataError
from myosem_core.scoring import retriever_scores
from myosem_core.presets import deep_config

K, L, C, D = 4, 20, 3, 16
TINY = replace(deep_config("quick"), width=8, pretrain_epochs=2, batch_size=16,
               align=replace(deep_config("quick").align, phase1_epochs=2, phase2_epochs=1, batch_size=16))


def tiny_windows(n_per_class: int = 12, seed: int = 0, signal_kind: str = "rms") -> WindowSet:
    """Windows whose per-channel level depends on the class (a learnable toy problem)."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(K), n_per_class)
    level = 0.5 + np.eye(K, C)[y] * 2.0  # class k lights up channel k (class 3: none)
    X = level[:, None, :] + 0.3 * rng.normal(size=(len(y), L, C))
    if signal_kind == "rms":
        X = np.abs(X)
    rep = np.tile(np.arange(1, n_per_class + 1), K)
    return WindowSet(X=X.astype(np.float32), y=y.astype(np.int64), class_keys=tuple(f"toy/T/{k + 1}" for k in range(K)),
                     subject=np.full(len(y), "S1"), repetition=rep, dataset=np.full(len(y), "synthetic"),
                     start=np.zeros(len(y), np.int64), recording=np.zeros(len(y), np.int64), fs=100.0,
                     signal_kind=signal_kind, channel_names=tuple(f"ch{i}" for i in range(C)))


def unit_prototypes(seed: int = 0) -> np.ndarray:
    P = np.random.default_rng(seed).normal(size=(K, D)).astype(np.float32)
    return P / np.linalg.norm(P, axis=1, keepdims=True)


def split_tiny(ws):
    train = ws.subset(ws.repetition <= 8)
    val = ws.subset((ws.repetition > 8) & (ws.repetition <= 10))
    test = ws.subset(ws.repetition > 10)
    return train, val, test


BASELINES = [*CLASSICAL_BASELINES, *DEEP_BASELINES]  # foundation-model rows are tested by their own issues


@pytest.fixture(autouse=True)
def empty_run_store(tmp_path, monkeypatch):
    """Each test trains its deep models afresh, in a run store of its own."""
    monkeypatch.setenv("MYOSEM_RUNS", str(tmp_path / "runs"))


def options(name):
    return {"config": TINY} if name in ARCHITECTURES else {"config": ForestConfig(10)} if name == "rf" else {}


def fit_scores(name, seed, ws=None):
    train, val, test = split_tiny(ws or tiny_windows())
    P = unit_prototypes()
    r = make_retriever(name, seed=seed, **options(name)).fit(train, val, P)
    return retriever_scores(r, test, P), test


def test_every_registry_entry_builds_a_retriever_of_the_registry_interface():
    """Each entry, configured from a preset, can be fitted and scored: ``fit`` plus ``scores`` or ``embed``."""
    from myosem_core.baselines.registry import make_retriever as build

    for name in RETRIEVERS:
        r = build(name, preset="quick", protocol="rand", seed=0)
        assert callable(getattr(r, "fit", None)) and (hasattr(r, "scores") or hasattr(r, "embed")), name
    with pytest.raises(ConfigError, match="unknown retriever 'resnet'"):
        build("resnet")


@pytest.mark.parametrize("name", BASELINES)
def test_baseline_scores_shape_and_determinism(name, tmp_path):
    train, val, test = split_tiny(tiny_windows())
    P = unit_prototypes()
    # two run stores: a deep model is trained twice, not read back
    runs = [make_retriever(name, seed=0, runs=tmp_path / str(i), **options(name)).fit(train, val, P)
            for i in range(2)]
    S1, S2 = (retriever_scores(r, test, P) for r in runs)
    assert S1.shape == (len(test), K)
    assert np.isfinite(S1).all()
    np.testing.assert_allclose(S1, S2, rtol=0, atol=1e-6)
    if name in ("lda", "rf"):  # the same seed gives the same bits (a forest on threads sums in varying order)
        np.testing.assert_array_equal(S1, S2)
    if name in ARCHITECTURES:  # deep: unit embeddings in the prototype space, both training steps recorded
        Z = runs[0].embed(test)
        assert Z.shape == (len(test), D)
        np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-5)
        assert {"pretrain", "align-head", "align-finetune"} <= {c["step"] for c in runs[0].run.curves}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_deep_backbones_map_windows_to_segment_vectors(name):
    for length, channels in ((100, 10), (7, 3)):
        net = ARCHITECTURES[name](channels, length, width=16)
        out = net(torch.randn(5, length, channels))
        assert out.shape == (5, net.out_dim)


def test_different_seeds_give_different_deep_models():
    S0, _ = fit_scores("se-cnn", seed=0)
    S1, _ = fit_scores("se-cnn", seed=1)
    assert not np.allclose(S0, S1)


def test_classifier_baselines_learn_the_toy_problem():
    for name in ("lda", "rf"):
        S, test = fit_scores(name, seed=0, ws=tiny_windows(n_per_class=20))
        assert (S.argmax(1) == test.y).mean() > 0.9, name


def test_classifier_baselines_rank_unseen_classes_last():
    ws = tiny_windows()
    train, val, test = split_tiny(ws)
    train = train.subset(train.y != 2)  # class 2 never trained
    for name in ("lda", "rf"):
        r = make_retriever(name, seed=0, **options(name)).fit(train, val, unit_prototypes())
        S = retriever_scores(r, test)
        assert np.all(S[:, 2] == 0.0)


def test_zero_crossings_and_slope_sign_changes_count_what_they_say():
    x = np.array([1.0, -1.0, 1.0, -1.0, 1.0])[None, :, None]  # sign flips every sample
    assert zero_crossings(x, np.array([0.1]))[0, 0] == 1.0
    assert slope_sign_changes(x, np.array([0.1]))[0, 0] == 1.0
    ramp = np.arange(5.0)[None, :, None]
    assert zero_crossings(ramp, np.array([0.1]))[0, 0] == 0.0
    assert slope_sign_changes(ramp, np.array([0.1]))[0, 0] == 0.0
    small = 0.01 * x  # below the noise threshold: not counted
    assert zero_crossings(small, np.array([0.1]))[0, 0] == 0.0


def test_random_forest_uses_zc_ssc_only_on_raw_signals():
    train, val, _ = split_tiny(tiny_windows(signal_kind="raw"))
    rf = make_retriever("rf", seed=0, config=ForestConfig(5)).fit(train, val, None)
    assert rf.features(train.X).shape[1] == 6 * C
    train, val, _ = split_tiny(tiny_windows(signal_kind="rms"))
    rf = make_retriever("rf", seed=0, config=ForestConfig(5)).fit(train, val, None)
    assert rf.features(train.X).shape[1] == 4 * C


def test_deep_baseline_rejects_bad_inputs():
    train, val, _ = split_tiny(tiny_windows())
    with pytest.raises(ConfigError):
        make_retriever("tcn", config=TINY).embed(train)  # before fit
    with pytest.raises(DataError):
        train_deep("tcn", train, val.subset(np.zeros(len(val), bool)), unit_prototypes(), TINY)
    with pytest.raises(DataError):
        train_deep("tcn", train, val, unit_prototypes()[:2], TINY)
    with pytest.raises(ConfigError):
        train_deep("resnet", train, val, unit_prototypes(), TINY)


def _counting_trainings(monkeypatch) -> list:
    """Record every call of ``train_deep`` made through the retriever."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(args[0])
        return train_deep(*args, **kwargs)

    monkeypatch.setattr(deep, "train_deep", counted)
    return calls


def test_a_deep_baseline_fitted_again_on_the_same_windows_is_read_back_from_the_run_store(monkeypatch):
    train, val, test = split_tiny(tiny_windows())
    calls = _counting_trainings(monkeypatch)
    first = make_retriever("plain-cnn", seed=0, config=TINY).fit(train, val, unit_prototypes())
    again = make_retriever("plain-cnn", seed=0, config=TINY).fit(train, val, unit_prototypes())
    assert calls == ["plain-cnn"]
    np.testing.assert_array_equal(first.embed(test), again.embed(test))  # weights and normaliser, to the bit
    assert again.run.curves == first.run.curves and again.run.train_seconds == first.run.train_seconds
    assert again.describe()["run"] == first.run.folder.name


def test_other_prototypes_seed_or_windows_train_a_deep_baseline_again(monkeypatch):
    train, val, _ = split_tiny(tiny_windows())
    calls = _counting_trainings(monkeypatch)
    make_retriever("plain-cnn", seed=0, config=TINY).fit(train, val, unit_prototypes())
    make_retriever("plain-cnn", seed=0, config=TINY).fit(train, val, unit_prototypes(seed=1))
    make_retriever("plain-cnn", seed=1, config=TINY).fit(train, val, unit_prototypes())
    make_retriever("plain-cnn", seed=0, config=TINY).fit(train.subset(train.repetition <= 7), val,
                                                         unit_prototypes())
    assert len(calls) == 4


def test_a_deep_run_folder_without_its_results_file_is_trained_again(monkeypatch):
    train, val, _ = split_tiny(tiny_windows())
    calls = _counting_trainings(monkeypatch)
    run = make_retriever("plain-cnn", seed=0, config=TINY).fit(train, val, unit_prototypes()).run
    (run.folder / "results.json").unlink()  # stopped after the weights, before the marker
    make_retriever("plain-cnn", seed=0, config=TINY).fit(train, val, unit_prototypes())
    assert len(calls) == 2 and (run.folder / "results.json").is_file()
