"""LOSO and few-shot evaluation on the real DB1 windows: no target window in training, no leaking neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from myosem_core.baselines.classical import time_domain_features
from myosem_core.errors import DataError
from myosem_core.evaluation import loso as L
from myosem_core.training.aemg import AEMGConfig, pretraining_sources
from myosem_experiments.evaluation.aemg import choose_targets, target_groups


def test_every_fold_trains_on_other_subjects_only(db1_windows):
    ws = db1_windows
    folds = L.loso_folds(ws.subject)
    assert len(folds) == 18
    for f in folds:
        assert f.target not in set(ws.subject[f.train].tolist())
        assert set(ws.subject[f.test].tolist()) == {f.target}
        assert len(f.train) + len(f.test) == len(ws)


def test_unknown_target_is_a_clear_error(db1_windows):
    with pytest.raises(DataError, match="S5"):  # DB1 has no S5 / S6 in this copy
        L.loso_folds(db1_windows.subject, ["S5"])


@pytest.mark.parametrize("fraction", [0.01, 0.02, 0.05, 0.10, 0.20])
def test_fewshot_support_is_contiguous_and_never_neighbours_an_evaluation_window(db1_windows, fraction):
    ws = db1_windows
    target = np.flatnonzero(ws.subject == "S3")
    support, evaluation = L.fewshot_support(ws.y, ws.repetition, ws.start, target, fraction, seed=0)
    assert set(support) <= set(target) and set(evaluation) <= set(target)
    assert not set(support) & set(evaluation)
    for c in np.unique(ws.y[target]):
        n_c = int(np.sum(ws.y[target] == c))
        sup_c = support[ws.y[support] == c]
        assert len(sup_c) == max(1, round(fraction * n_c))
        # the support of a class is one block of consecutive windows per repetition, from its start
        for r in np.unique(ws.repetition[sup_c]):
            in_rep = target[(ws.y[target] == c) & (ws.repetition[target] == r)]
            starts = np.sort(ws.start[in_rep])
            assert np.array_equal(np.sort(ws.start[sup_c[ws.repetition[sup_c] == r]]), starts[:np.sum(ws.repetition[sup_c] == r)])
        # no evaluation window comes from a repetition the support touched
        ev_c = evaluation[ws.y[evaluation] == c]
        assert not set(ws.repetition[ev_c]) & set(ws.repetition[sup_c])
    assert len(evaluation) > 0.6 * len(target)


def test_fewshot_supports_are_nested_and_seeded(db1_windows):
    ws = db1_windows
    target = np.flatnonzero(ws.subject == "S7")
    small, _ = L.fewshot_support(ws.y, ws.repetition, ws.start, target, 0.05, seed=1)
    large, _ = L.fewshot_support(ws.y, ws.repetition, ws.start, target, 0.20, seed=1)
    again, _ = L.fewshot_support(ws.y, ws.repetition, ws.start, target, 0.05, seed=1)
    other, _ = L.fewshot_support(ws.y, ws.repetition, ws.start, target, 0.05, seed=2)
    assert set(small) <= set(large)
    assert np.array_equal(small, again) and not np.array_equal(small, other)


def test_evaluate_loso_never_fits_on_the_target(db1_windows, monkeypatch):
    ws = db1_windows
    calls = []
    real = L.fit_predict

    def spy(method, M, y, source, support, test, cfg):
        calls.append((method, source, support, test))
        return real(method, M, y, source, support, test, cfg)

    monkeypatch.setattr(L, "fit_predict", spy)
    F = time_domain_features(ws.X)
    rows = {"lda": ("lda", lambda t: F), "probe": ("probe", lambda t: F), "knn": ("knn", lambda t: F)}
    res = L.evaluate_loso(ws, rows, ["S1", "S20"], L.LOSOConfig(fractions=(0.05,)), progress=False)
    assert calls
    for method, source, support, test in calls:
        target = set(ws.subject[test].tolist())
        assert len(target) == 1
        assert not target & set(ws.subject[source].tolist())  # other subjects only ...
        assert set(ws.subject[support].tolist()) <= target  # ... plus the target's own support windows
        assert not set(support) & set(test)
    assert set(res["zero_shot"]) == {"lda", "probe", "knn"} and set(res["few_shot"]) == {"lda", "probe"}
    chance = 1 / ws.n_classes
    assert res["zero_shot"]["lda"]["mean"] > chance  # real signal: the classical anchor beats chance
    assert res["few_shot"]["lda"]["fractions"]["0.05"]["mean"] > res["zero_shot"]["lda"]["mean"]


def test_knn_votes_by_majority():
    Z_train = np.array([[1, 0], [1, 0.1], [0.9, 0], [0, 1], [0.1, 1]], float)
    y = np.array([3, 3, 3, 7, 7])
    assert L.knn_predict(Z_train, y, np.array([[1.0, 0.05], [0.0, 1.0]]), k=3).tolist() == [3, 7]


def test_pretraining_never_sees_the_evaluated_subjects(db1_windows):
    targets = choose_targets(db1_windows.subject, None)
    groups = target_groups(targets, 2)
    assert sorted(sum(groups, [])) == sorted(targets) and not set(groups[0]) & set(groups[1])
    aemg = AEMGConfig(devices=())
    src = pretraining_sources(db1_windows, aemg, seed=0, exclude_subjects=groups[0], progress=False)
    assert len(src) == 1
    assert len(src[0].X) == int(np.sum(~np.isin(db1_windows.subject, groups[0])))


def test_quick_targets_are_evenly_spread_and_fixed(db1_windows):
    a = choose_targets(db1_windows.subject, 4)
    assert a == choose_targets(db1_windows.subject, 4) and len(a) == 4
    assert a[0] == "S1" and a[-1] == "S20"
