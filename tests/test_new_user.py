"""The user protocol's new-user settings on real DB1 windows, and the adaptation methods behind them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy.optimize import linear_sum_assignment

from myosem_core.adaptation import (FineTuneConfig, NewUserAdaptation, balanced_assignment, few_shot_prototypes,
                                    fine_tune_network, new_user_scores, refine_prototypes)
from myosem_core.baselines.classical import LDARetriever
from myosem_core.data import load_split, make_split
from myosem_core.data.calibration import calibrate_split, standardise_subjects
from myosem_core.data.new_user import NO_LABEL, adaptation_windows
from myosem_core.data.protocols import DEFAULTS, NEW_USER_SETTINGS, ProtocolConfig
from myosem_core.data.windows import contiguous_segments
from myosem_core.errors import ConfigError, DataError
from myosem_core.scoring import unit_rows

TEST_USERS = DEFAULTS["ninapro-db1"]["test_subjects"]
LOG_STD = {"method": "log-standardise"}


@pytest.fixture(scope="module")
def small(db1_windows):
    """Four training subjects and two test users of the real data (keeps the refits fast)."""
    ws = db1_windows.subset(np.isin(db1_windows.subject, ["S1", "S2", "S3", "S4", "S17", "S18"]))
    return ws, {"train_subjects": ["S1", "S2", "S3", "S4"], "test_subjects": ["S17", "S18"]}


def _rows(split, name):
    return set(split.manifest.index[split.manifest["split"] == name])


# --- the protocol ------------------------------------------------------------------------------------------

def test_every_setting_evaluates_the_same_windows_and_never_reads_them(db1_windows):
    plain = make_split(db1_windows, "user")
    splits = {s: make_split(db1_windows, "user", new_user=s) for s in NEW_USER_SETTINGS}
    evaluated = _rows(splits["nothing"], "test")
    m = plain.manifest
    expected = set(m.index[m["subject"].isin(TEST_USERS) & (m["repetition"] >= 4)])
    assert evaluated == expected and evaluated  # repetitions 4-10 of S17-S20
    for setting, split in splits.items():
        assert _rows(split, "test") == evaluated
        assert not _rows(split, "adapt") & evaluated  # adaptation windows never overlap the evaluated ones
        adapt = split.manifest.loc[split.adapt]
        # nor does any adaptation repetition of a user recur among that user's evaluated repetitions
        tested = split.manifest.loc[split.test].groupby("subject")["repetition"].agg(set)
        for subject, reps in adapt.groupby("subject")["repetition"].agg(set).items():
            assert not reps & tested[subject]
        # training is plain user's: same windows, same run key
        assert _rows(split, "train") == _rows(plain, "train") and _rows(split, "val") == _rows(plain, "val")
        assert split.config.key() == plain.config.key()
        assert split.config.evaluation_key() != plain.config.evaluation_key()
        assert split.config.label == f"user-{setting}"
    assert not splits["nothing"].adapt.size
    unlabeled = splits["unlabeled"].manifest.loc[splits["unlabeled"].adapt]
    assert set(unlabeled["subject"]) == set(TEST_USERS) and set(unlabeled["repetition"]) == {1, 2, 3}
    assert len(unlabeled) == (m["subject"].isin(TEST_USERS) & (m["repetition"] <= 3)).sum()


def test_one_repetition_reads_exactly_one_repetition_of_every_movement(db1_windows):
    split = make_split(db1_windows, "user", new_user="one-repetition")
    adapt = split.manifest.loc[split.adapt]
    per_movement = adapt.groupby(["subject", "class_key"])["repetition"].nunique()
    assert (per_movement == 1).all()
    assert len(per_movement) == len(TEST_USERS) * len(db1_windows.class_keys)  # every movement of every user
    assert set(adapt["repetition"]) == {1}
    other = make_split(db1_windows, "user", new_user="one-repetition", labelled_repetitions=(2,))
    assert set(other.manifest.loc[other.adapt, "repetition"]) == {2}
    assert set(other.manifest.loc[other.test, "repetition"]) == set(range(4, 11))  # still the same windows


def test_a_label_names_its_setting_and_survives_the_manifest(tmp_path, db1_windows):
    split = make_split(db1_windows, "user-unlabeled")
    assert split.new_user == "unlabeled" and split.config.name == "user"
    split.save(tmp_path)
    back = load_split(tmp_path, "user-unlabeled")
    assert back.config == split.config and np.array_equal(back.adapt, split.adapt)
    assert back.config.adapt_repetitions == (1, 2, 3)


@pytest.mark.parametrize("kw, match", [
    (dict(cfg="rand", new_user="unlabeled"), "user protocol only"),
    (dict(cfg="user", new_user="everything"), "unknown new_user"),
    (dict(cfg="user", new_user="one-repetition", labelled_repetitions=(5,)), "subset of adapt_repetitions"),
    (dict(cfg="user", new_user="unlabeled", adapt_repetitions=()), "needs adapt_repetitions"),
])
def test_impossible_settings_are_config_errors(db1_windows, kw, match):
    cfg = kw.pop("cfg")
    with pytest.raises(ConfigError, match=match):
        make_split(db1_windows, cfg, **kw)


def test_adaptation_repetitions_without_windows_are_a_data_error(db1_windows):
    with pytest.raises(DataError, match="no window of the test users"):
        make_split(db1_windows, "user", new_user="unlabeled", adapt_repetitions=(11,))


# --- what an adaptation may read ------------------------------------------------------------------------

def test_contiguous_segments_follow_movement_repetitions_without_reading_labels(db1_windows):
    seg = contiguous_segments(db1_windows)
    key = np.array([f"{s}|{y}|{r}" for s, y, r in zip(db1_windows.subject, db1_windows.y, db1_windows.repetition)])
    assert len(np.unique(seg)) == len(np.unique(key))
    for s in np.unique(seg)[:: max(1, len(np.unique(seg)) // 300)]:
        assert len(set(key[seg == s])) == 1
    no_labels = dataclasses.replace(db1_windows, y=np.zeros_like(db1_windows.y),
                                    repetition=np.zeros_like(db1_windows.repetition))
    np.testing.assert_array_equal(contiguous_segments(no_labels), seg)


def test_unlabeled_adaptation_windows_carry_no_label_order_or_repetition(db1_windows):
    split = make_split(db1_windows, "user", new_user="unlabeled")
    adapt = adaptation_windows(db1_windows, split, seed=0)
    assert not adapt.labelled and np.all(adapt.windows.y == NO_LABEL)
    assert np.all(adapt.windows.repetition == 0) and np.all(adapt.windows.start == 0) and adapt.windows.pose is None
    with pytest.raises(ConfigError, match="carry no labels"):
        adapt.y
    truth = db1_windows.subset(split.adapt)
    # the same windows, shuffled, and their segments as large as the true repetitions
    assert sorted(x.tobytes() for x in adapt.windows.X) == sorted(x.tobytes() for x in truth.X)
    assert not np.array_equal(adapt.windows.X, truth.X)
    true_sizes = np.sort(np.unique(contiguous_segments(db1_windows)[split.adapt], return_counts=True)[1])
    np.testing.assert_array_equal(np.sort(np.unique(adapt.segment, return_counts=True)[1]), true_sizes)
    labelled = adaptation_windows(db1_windows, make_split(db1_windows, "user", new_user="one-repetition"))
    assert labelled.labelled and np.all(labelled.y >= 0)
    with pytest.raises(ConfigError, match="no new-user setting"):
        adaptation_windows(db1_windows, make_split(db1_windows, "user"))


class _FixedEmbedding:
    """An 'embedding retriever' with fixed weights: a random projection of time-domain features."""

    def __init__(self, dim=16, seed=0):
        self.W = np.random.default_rng(seed).standard_normal((40, dim))

    def embed(self, ws):
        from myosem_core.baselines.classical import time_domain_features

        return unit_rows(time_domain_features(ws.X) @ self.W)


def _shuffle_test_user_labels(ws, seed=1):
    y = ws.y.copy()
    rows = np.isin(ws.subject, TEST_USERS)
    y[rows] = np.random.default_rng(seed).permutation(y[rows])
    return dataclasses.replace(ws, y=y)


@pytest.mark.parametrize("setting", ["nothing", "unlabeled"])
def test_no_label_of_a_new_user_reaches_adaptation(small, setting):
    ws, subjects = small
    split = make_split(ws, "user", new_user=setting, **subjects)
    other = _shuffle_test_user_labels(ws)
    assert not np.array_equal(other.y, ws.y)
    P = unit_rows(np.random.default_rng(2).standard_normal((ws.n_classes, 16)))
    lda = LDARetriever().fit(ws.subset(split.train))
    for retriever in (lda, _FixedEmbedding()):
        for adaptation in (NewUserAdaptation(), NewUserAdaptation(user_head=0.5)):
            a = new_user_scores(retriever, ws, split, P, adaptation, seed=0)
            b = new_user_scores(retriever, other, split, P, adaptation, seed=0)
            np.testing.assert_array_equal(a, b)


def test_the_labelled_repetition_does_reach_adaptation(small):
    ws, subjects = small
    split = make_split(ws, "user", new_user="one-repetition", **subjects)
    P = unit_rows(np.random.default_rng(2).standard_normal((ws.n_classes, 16)))
    a = new_user_scores(_FixedEmbedding(), ws, split, P, seed=0)
    b = new_user_scores(_FixedEmbedding(), _shuffle_test_user_labels(ws), split, P, seed=0)
    assert not np.allclose(a, b)  # the check above could fail: here the labels are read
    none = new_user_scores(_FixedEmbedding(), ws, split, P, NewUserAdaptation("none", "none"), seed=0)
    assert not np.allclose(a, none)


def test_refit_and_prototype_adaptation_help_on_real_test_users(small):
    ws, subjects = small
    rows = {}
    for setting in ("unlabeled", "one-repetition"):
        split = make_split(ws, "user", new_user=setting, **subjects)
        lda = LDARetriever().fit(ws.subset(split.train))
        y = ws.y[split.test]
        none = new_user_scores(lda, ws, split, None, NewUserAdaptation("none", "none"))
        adapted = new_user_scores(lda, ws, split, None, NewUserAdaptation(refit_copies=5))
        rows[setting] = ((none.argmax(1) == y).mean(), (adapted.argmax(1) == y).mean())
    assert rows["one-repetition"][1] > rows["one-repetition"][0] + 0.05  # labels of the user's own movements help


class _FitRecorder(LDARetriever):
    """LDA that records the subjects and labels of every set of windows it or a copy of it is fitted on."""

    fits: list = []  # on the class, so the adapted copies record into it too

    def fit(self, train_ws, val_ws=None, prototypes=None):
        self.fits.append((train_ws.subject.copy(), train_ws.y.copy()))
        return super().fit(train_ws, val_ws, prototypes)


@pytest.mark.parametrize("setting", ["unlabeled", "one-repetition"])
def test_a_refit_on_the_user_alone_reads_that_users_adaptation_windows_and_nothing_else(small, setting):
    ws, subjects = small
    split = make_split(ws, "user", new_user=setting, **subjects)
    adapt = adaptation_windows(ws, split)
    _FitRecorder.fits.clear()
    recorder = _FitRecorder(shrinkage="auto").fit(ws.subset(split.train))
    new_user_scores(recorder, ws, split, None, NewUserAdaptation(refit_on="user"))
    refits = recorder.fits[1:]  # one refit per test user
    assert [set(s) for s, _ in refits] == [{u} for u in subjects["test_subjects"]]
    for user, (subject, y) in zip(subjects["test_subjects"], refits):
        assert len(subject) == int((adapt.subject == user).sum())
        if setting == "one-repetition":
            np.testing.assert_array_equal(np.sort(y), np.sort(adapt.of_subject(user).y))
    recorder.fits.clear()
    new_user_scores(recorder, ws, split, None, NewUserAdaptation())
    assert all(set(subjects["train_subjects"]) <= set(s) for s, _ in recorder.fits)  # the default adds the training


def test_shrinkage_lda_on_one_labelled_repetition_beats_lda_refitted_with_the_training_windows(small):
    ws, subjects = small
    split = make_split(ws, "user", new_user="one-repetition", **subjects)
    y = ws.y[split.test]

    def accuracy(retriever, adaptation):
        scores = new_user_scores(retriever.fit(ws.subset(split.train)), ws, split, None, adaptation)
        return (scores.argmax(1) == y).mean()

    own = accuracy(LDARetriever(shrinkage="auto"), NewUserAdaptation(refit_on="user"))
    own_plain = accuracy(LDARetriever(), NewUserAdaptation(refit_on="user"))
    refitted = accuracy(LDARetriever(), NewUserAdaptation())
    # about 5 windows per movement for 40 features: the unshrunk covariance is singular, the training windows
    # of other people pull the class means away from the user's
    assert own > refitted + 0.08 and own > own_plain + 0.03, (own, own_plain, refitted)  # 48.5, 42.8, 35.5 %


def test_the_users_own_head_learns_the_labelled_repetition_and_its_weight_blends_it_in(small):
    ws, subjects = small
    split = make_split(ws, "user", new_user="one-repetition", **subjects)
    P = unit_rows(np.random.default_rng(2).standard_normal((ws.n_classes, 16)))
    y = ws.y[split.test]

    def scores(weight):
        return new_user_scores(_FixedEmbedding(), ws, split, P, NewUserAdaptation(user_head=weight), seed=0)

    plain, blended, head = scores(0.0), scores(1.0), scores(1e9)
    alone = new_user_scores(LDARetriever(shrinkage="auto").fit(ws.subset(split.train)), ws, split, None,
                            NewUserAdaptation(refit_on="user"))
    np.testing.assert_allclose(blended.sum(1), 1.0)
    # a huge weight leaves the head's ranking: LDA fitted on the user's windows alone
    np.testing.assert_array_equal(head.argmax(1), alone.argmax(1))
    accuracy = {k: (v.argmax(1) == y).mean() for k, v in (("plain", plain), ("blended", blended))}
    assert accuracy["blended"] > accuracy["plain"] + 0.2, accuracy  # 48 % against 9 %: a random projection alone


# --- calibration reads only what the setting allows ----------------------------------------------------

def test_log_standardisation_reads_only_adaptation_windows_of_a_new_user(small):
    ws, subjects = small
    split = make_split(ws, "user", new_user="unlabeled", **subjects)
    a = calibrate_split(ws, split, LOG_STD)
    X = ws.X.copy()
    X[split.test] *= 7.0  # the evaluated windows change; the statistics must not
    b = calibrate_split(dataclasses.replace(ws, X=X), split, LOG_STD)
    keep = np.setdiff1d(np.arange(len(ws)), split.test)
    np.testing.assert_array_equal(a.X[keep], b.X[keep])
    assert not np.allclose(a.X[split.test], b.X[split.test])
    with pytest.raises(DataError, match="no window a calibration may read"):
        calibrate_split(ws, make_split(ws, "user", new_user="nothing", **subjects), LOG_STD)
    with pytest.raises(ConfigError, match="log-standardise"):
        calibrate_split(ws, split, True)  # median gains pool every subject, a new user's too


def test_log_standardisation_gives_every_subject_the_population_statistics(small):
    ws, _ = small
    population = ["S1", "S2", "S3", "S4"]
    X = ws.X.copy()
    X[ws.subject == "S2"] = X[ws.subject == "S2"] ** 1.5 * 3.0  # another gain and spread of the log envelope
    out = standardise_subjects(dataclasses.replace(ws, X=X), np.ones(len(ws), bool), population)
    others = ["S1", "S3", "S4"]  # S2 mapped onto a population it is not part of
    moved = standardise_subjects(dataclasses.replace(ws, X=X), np.ones(len(ws), bool), others)
    plain = standardise_subjects(ws, np.ones(len(ws), bool), others)
    pooled = X[np.isin(ws.subject, population)]
    eps = np.quantile(pooled[pooled > 0], 0.1)  # the documented floor, computed here by hand

    def log_stats(A, s):
        L = np.log1p(np.maximum(A[ws.subject == s], 0) / eps).reshape(-1, A.shape[2])
        return L.mean(0), L.std(0)

    after = {s: log_stats(out.X, s) for s in population}
    for s in population[1:]:  # every subject now has about the same mean level per channel
        np.testing.assert_allclose(after[s][0], after["S1"][0], atol=0.1)
    # S2's change of gain and spread is undone: its windows come out as they do unchanged (in log units)
    s2 = ws.subject == "S2"
    a, b = np.log1p(moved.X[s2] / eps), np.log1p(plain.X[s2] / eps)
    assert np.median(np.abs(a - b)) < 0.1 and np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99
    before = {s: log_stats(X, s) for s in ("S1", "S2")}
    assert np.abs(before["S2"][0] - before["S1"][0]).max() > 1.0  # before, S2 was far off
    assert np.abs(before["S2"][1] / before["S1"][1] - 1).max() > 0.3


# --- the adaptation methods against independent references ----------------------------------------------

def test_balanced_assignment_matches_the_optimal_assignment():
    rng = np.random.default_rng(0)
    for _ in range(5):
        C = rng.standard_normal((6, 6))
        Q = balanced_assignment(C * 200.0)  # near-zero entropy: the optimal permutation
        rows, cols = linear_sum_assignment(-C)
        np.testing.assert_array_equal(Q.argmax(1)[rows], cols)


def test_balanced_assignment_spreads_a_collapsed_model_and_keeps_segments_together():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((60, 3))
    logits[:, 0] += 5.0  # the model calls almost everything class 0
    segment = np.repeat(np.arange(20), 3)
    Q = balanced_assignment(logits, segment)
    np.testing.assert_allclose(Q.sum(1), 1.0, atol=1e-9)
    np.testing.assert_allclose(Q.sum(0), 20.0, atol=1e-3)  # equal shares
    for s in range(20):
        assert np.allclose(Q[segment == s], Q[segment == s][0])
    assert (logits.argmax(1) == 0).mean() > 0.9 and np.bincount(Q.argmax(1), minlength=3).min() >= 15


def test_few_shot_prototypes_are_the_class_means_blended_with_the_text():
    Z = unit_rows(np.array([[1.0, 0, 0], [0.8, 0.6, 0], [0, 0, 1.0]]))
    y = np.array([0, 0, 2])
    P = unit_rows(np.array([[0, 1.0, 0], [0, 1.0, 1.0], [1.0, 0, 1.0]]))
    mean0 = unit_rows((Z[0] + Z[1])[None])[0]  # by hand: the unit mean of class 0's windows
    np.testing.assert_allclose(few_shot_prototypes(Z, y, P, prior=0.0)[0], mean0)
    np.testing.assert_allclose(few_shot_prototypes(Z, y, P, prior=1.0)[0], unit_rows((P[0] + mean0)[None])[0])
    np.testing.assert_allclose(few_shot_prototypes(Z, y, P, prior=0.0)[1], P[1])  # no window: text kept
    np.testing.assert_allclose(few_shot_prototypes(Z, y, P, prior=1e6)[2], P[2], atol=1e-5)


def test_refined_prototypes_find_the_users_clusters():
    rng = np.random.default_rng(3)
    P = unit_rows(rng.standard_normal((4, 8)))
    shift = unit_rows(rng.standard_normal(8))[None] * 0.8  # this user's windows sit away from the text
    centres = unit_rows(P + shift + 0.3 * rng.standard_normal((4, 8)))
    y = np.repeat(np.arange(4), 30)
    Z = unit_rows(centres[y] + 0.05 * rng.standard_normal((120, 8)))
    before = (unit_rows(Z) @ P.T).argmax(1)
    R = refine_prototypes(Z, P, np.repeat(np.arange(40), 3), rounds=5, prior=0.0)
    after = (Z @ R.T).argmax(1)
    assert (after == y).mean() == 1.0 and (before == y).mean() < 1.0
    np.testing.assert_allclose(R, unit_rows(np.stack([Z[y == k].mean(0) for k in range(4)])), atol=0.02)


def test_fine_tuning_learns_the_users_labels_and_leaves_the_model_alone():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(20, 8))
    P = unit_rows(np.random.default_rng(0).standard_normal((3, 8))).astype(np.float32)
    X = np.random.default_rng(1).standard_normal((60, 10, 2)).astype(np.float32)
    y = np.repeat(np.arange(3), 20)
    X += y[:, None, None] * 0.8
    before = [p.clone() for p in net.parameters()]
    tuned = fine_tune_network(net, lambda m, x: torch.nn.functional.normalize(m(x), dim=-1), X, np.eye(3)[y], P,
                              FineTuneConfig(epochs=30, lr=1e-2), seed=0)
    with torch.no_grad():
        acc = lambda m: float(((torch.nn.functional.normalize(m(torch.from_numpy(X)), dim=-1) @ torch.from_numpy(P).T)
                               .argmax(1).numpy() == y).mean())
        assert acc(tuned) > 0.9 and acc(tuned) > acc(net)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters()))


def test_adaptation_options_are_checked():
    with pytest.raises(ConfigError, match="must be one of"):
        NewUserAdaptation(unlabeled="magic")
    with pytest.raises(ConfigError, match="rounds"):
        NewUserAdaptation(rounds=0)
    with pytest.raises(ConfigError, match="refit_on"):
        NewUserAdaptation(refit_on="everyone")
    assert "refit_on" not in NewUserAdaptation().describe("one-repetition")  # the default keeps its record
    assert "user_head" not in NewUserAdaptation().describe("one-repetition")
    assert NewUserAdaptation(user_head=0.5).describe("unlabeled")["user_head"] == 0.5
    with pytest.raises(ConfigError, match="user_head"):
        NewUserAdaptation(user_head=-1.0)
    assert NewUserAdaptation(refit_on="user").describe("one-repetition")["refit_on"] == "user"
    described = NewUserAdaptation("fine-tune", "prototypes").describe("unlabeled")
    assert described["method"] == "fine-tune" and "fine_tune" in described
    assert NewUserAdaptation().describe("nothing") == {"setting": "nothing", "method": "none"}
    assert ProtocolConfig("user").label == "user"


def test_a_retriever_is_evaluated_per_setting_under_the_settings_label(small, tmp_path):
    from myosem_core.evaluation.retrieval_results import evaluate_retriever

    ws, subjects = small
    split = make_split(ws, "user-one-repetition", **subjects)
    r = evaluate_retriever("lda", ws, split, None, 0, tmp_path)
    assert r["protocol"] == "user-one-repetition" and r["new_user"] == "one-repetition"
    assert r["adaptation"]["method"] == NewUserAdaptation().one_repetition
    assert r["n_test"] == len(split.test) and (tmp_path / "ninapro-db1__user-one-repetition__lda__seed0.json").is_file()


def test_grid_settings_train_like_user_and_key_their_adaptation():
    from myosem_core.presets import make_config, preset_section
    from myosem_experiments.grid.recipes import recipe
    from myosem_experiments.grid.rows import MODELS

    s2 = preset_section("quick", "stage2")
    assert s2.for_protocol("user-unlabeled") == s2.for_protocol("user") != s2.for_protocol("rand")
    cfg = make_config("quick", "synthetic", None, 0)
    plain, unlabeled = recipe(MODELS["myosem"], cfg, "user"), recipe(MODELS["myosem"], cfg, "user-unlabeled")
    assert "adaptation" in unlabeled and "adaptation" not in plain and plain["hash"] != unlabeled["hash"]
    assert plain["stage2"] == unlabeled["stage2"]
