"""Calibrated stacking on the class protocol: pseudo-held-out classes, the penalty choice, and that the choice
never reads a test window."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from tiny_myosem import STAGE2, STAGE3, SYNTH, tiny_prototypes, tiny_windows

from myosem_core.calibrated_stacking import (
    PenalisedRetriever,
    choose_penalty,
    penalised_posteriors,
    pseudo_heldout_classes,
)
from myosem_core.data.protocols import make_split
from myosem_core.data.synthetic import SyntheticConfig
from myosem_core.errors import ConfigError
from myosem_core.evaluation.retrieval_results import evaluate_retriever
from myosem_core.presets import make_config
from myosem_core.scoring import retriever_scores, window_posteriors
from myosem_core.training import load_or_train_stage2, load_or_train_stage3
from myosem_experiments.evaluation.calibrated_stacking import (
    calibrated_stacking_result,
    calibrated_stacking_table,
    choice_windows,
    pseudo_split,
)
from myosem_experiments.grid import ModelSpec
from myosem_experiments.grid import recipes as grid_recipes
from myosem_core.presets import preset_section


def test_pseudo_heldout_classes_take_the_protocols_share_evenly_spread():
    keys = [f"c{i}" for i in range(1, 13)]
    assert pseudo_heldout_classes(keys, 4, 12) == ["c2", "c5", "c8", "c11"]  # the rule gives DB1's held-out classes
    seen = [k for k in keys if k not in ("c2", "c5", "c8", "c11")]
    assert pseudo_heldout_classes(seen, 4, 12) == ["c3", "c7", "c10"]
    assert len(pseudo_heldout_classes(["a", "b", "c"], 2, 3)) == 1  # always leaves two trained classes
    for bad in ((["a", "b"], 1, 4), (["a", "b", "c"], 0, 4), (["a", "b", "c"], 4, 4)):
        with pytest.raises(ConfigError):
            pseudo_heldout_classes(*bad)


def test_the_penalty_with_the_best_harmonic_mean_is_chosen_smallest_first():
    trained = np.array([True, True, False])
    seen = np.array([[0.9, 0.1, 0.6], [0.1, 0.9, 0.6]])  # right while gamma < 0.3
    unseen = np.array([[0.6, 0.1, 0.5], [0.1, 0.6, 0.5]])  # right once gamma > 0.1
    out = choose_penalty(seen, np.array([0, 1]), unseen, np.array([2, 2]), trained)
    assert out["gamma"] == pytest.approx(0.12) and out["harmonic"] == 1.0
    curve = out["curve"]
    assert curve[0]["seen_top1"] == 1.0 and curve[0]["unseen_top1"] == 0.0 and curve[0]["harmonic"] == 0.0
    assert all(a["seen_top1"] >= b["seen_top1"] and a["unseen_top1"] <= b["unseen_top1"]
               for a, b in itertools.pairwise(curve))
    with pytest.raises(ConfigError):
        choose_penalty(seen, np.array([0, 1]), unseen[:0], np.array([], int), trained)


def test_no_penalty_or_a_penalty_on_every_class_leaves_the_posteriors_as_they_were():
    C = np.random.default_rng(0).uniform(-1, 1, (20, 5))
    np.testing.assert_array_equal(penalised_posteriors(C, np.zeros(5, bool), 0.3), window_posteriors(C))
    np.testing.assert_allclose(penalised_posteriors(C, np.ones(5, bool), 0.3), window_posteriors(C), atol=1e-12)
    with pytest.raises(ConfigError, match="one per candidate"):
        penalised_posteriors(C, np.ones(4, bool), 0.1)


def test_a_row_that_is_not_myosem_cannot_ask_for_calibrated_stacking():
    with pytest.raises(ConfigError, match="calibrated stacking"):
        ModelSpec("x", "X", "EMG-DL", emg="tcn", calibrated_stacking=True)


def test_the_rule_enters_the_recipe_on_class_only():
    spec, cfg = ModelSpec("m", "M", "MyoSem", calibrated_stacking=True), make_config("quick", "synthetic")
    plain = ModelSpec("m", "M", "MyoSem")
    assert "calibrated_stacking" in grid_recipes.recipe(spec, cfg, "class")
    for protocol in ("rand", "user"):  # nothing held out: the result, and so its hash, is MyoSem's
        assert grid_recipes.recipe(spec, cfg, protocol)["hash"] == grid_recipes.recipe(plain, cfg, protocol)["hash"]


@pytest.fixture(scope="module")
def tiny_class(tmp_path_factory):
    ws, _ = tiny_windows()
    split = make_split(ws, "class")
    cfg = make_config("quick", "synthetic", seed=0, synthetic=SyntheticConfig(**SYNTH, seed=0))
    return cfg, ws, split, tiny_prototypes(ws.n_classes), tmp_path_factory.mktemp("runs")


def test_the_choice_reads_no_test_window_and_no_held_out_class(tiny_class):
    _, ws, split, _, _ = tiny_class
    pseudo, classes = pseudo_split(ws, split)
    seen_rows, unseen_rows = choice_windows(ws, split, pseudo, classes)
    assert len(seen_rows) and len(unseen_rows)
    assert not np.intersect1d(np.concatenate([seen_rows, unseen_rows]), split.test).size
    assert set(ws.labels[unseen_rows]) == set(classes)
    assert not set(ws.labels[seen_rows]) & set(classes + split.heldout_classes)
    with pytest.raises(ConfigError, match="held-out classes"):
        pseudo_split(ws, make_split(ws, "rand"))


def test_the_penalty_moves_held_out_windows_up_and_seen_windows_down(tiny_class):
    cfg, ws, split, P, runs = tiny_class
    tr, va = ws.subset(split.train), ws.subset(split.val)
    s2 = load_or_train_stage2(tr, va, STAGE2, 0, runs, progress=False)
    s3 = load_or_train_stage3(tr, va, s2, P, STAGE3, 0, runs, progress=False)

    class Run:  # the registry interface of a fitted embedding retriever
        run = s3

        def embed(self, w):
            return s3.embed(w.X)

    raw = evaluate_retriever("myosem", ws, split, P, 0, retriever=Run())
    stage1 = replace(replace(preset_section("quick", "stage1"), seed=0), epochs=0)  # the packaged encoder: seconds
    out = calibrated_stacking_result(cfg, ws, split, P, Run(), stage1, STAGE2, STAGE3, runs, progress=False)
    gamma = out["choice"]["gamma"]
    assert out["choice"]["pseudo_heldout"] == pseudo_split(ws, split)[1] and len(out["choice"]["curve"]) > 1
    assert gamma in out["rule"]["grid"]
    trained = ~np.isin(np.asarray(ws.class_keys), split.heldout_classes)
    strong = evaluate_retriever("m", ws, split, P, 0, retriever=PenalisedRetriever(Run(), P, trained, 0.6))
    for r in (out, strong):  # only the trained classes lose score: held-out windows can only rise
        for k in ("R@1", "R@3"):
            assert r["heldout"]["emg_to_text_all_candidates"][k] >= raw["heldout"]["emg_to_text_all_candidates"][k]
            assert r["seen"]["emg_to_text_all_candidates"][k] <= raw["seen"]["emg_to_text_all_candidates"][k]
    assert strong["heldout"]["emg_to_text_all_candidates"]["R@3"] > raw["heldout"]["emg_to_text_all_candidates"]["R@3"]
    test = ws.subset(split.test)  # no penalty is MyoSem's own scoring, to the bit
    np.testing.assert_array_equal(PenalisedRetriever(Run(), P, trained, 0.0).scores(test),
                                  retriever_scores(Run(), test, P))


def _result(seed, held_raw, held_cs, seen_raw, seen_cs, gamma):
    def block(held, seen):
        return {"heldout": {"emg_to_text_all_candidates": {"R@1": held, "R@3": held + 0.1},
                            "text_to_emg_heldout": {"R@1": 0.3}},
                "seen": {"emg_to_text_all_candidates": {"R@1": seen}}}
    return {"seed": seed, **block(held_raw, seen_raw),
            "calibrated_stacking": {"choice": {"gamma": gamma}, **block(held_cs, seen_cs)}}


def test_the_table_pairs_raw_and_calibrated_per_seed_with_their_mean():
    t = calibrated_stacking_table([_result(1, 0.1, 0.3, 0.8, 0.5, 0.12), _result(0, 0.0, 0.2, 0.9, 0.6, 0.16),
                                   {"seed": 2, "model": "without the block"}])
    assert list(t.index) == [0, 1, "mean"]
    assert t.loc["mean", "penalty"] == pytest.approx(0.14)
    assert t.loc[0, "held-out R@1 raw"] == 0.0 and t.loc[0, "held-out R@1 calibrated"] == 20.0
    assert t.loc[1, "harmonic calibrated"] == pytest.approx(2 * 30 * 50 / 80, abs=0.05)
    assert t.loc[0, "harmonic raw"] == 0.0
    assert calibrated_stacking_table([{"seed": 0}]).empty
