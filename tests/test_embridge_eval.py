"""Zero-shot kNN vote, linear probe and balanced accuracy on hand-made cases; EMBridge evaluation sets on real DB1."""

from __future__ import annotations

import numpy as np
import pytest

from myosem_core.data.protocols import make_split
from myosem_core.evaluation import (
    balanced_accuracy,
    knn_vote,
    linear_probe,
    max_query_similarity,
    zero_shot_knn,
)
from myosem_core.training.embridge import evaluation_sets, subsample_training


def test_knn_vote_takes_the_majority_of_the_k_nearest():
    labels = np.array([0, 0, 1, 1, 1, 2])
    sim = np.array([
        [0.9, 0.8, 0.7, 0.1, 0.0, 0.5],  # top-3: 0, 1, 2 -> labels 0, 0, 1 -> 0
        [0.1, 0.2, 0.9, 0.8, 0.7, 0.95],  # top-3: 5, 2, 3 -> labels 2, 1, 1 -> 1 (the best neighbour is outvoted)
    ])
    assert knn_vote(sim, labels, k=3).tolist() == [0, 1]
    assert knn_vote(sim, labels, k=1).tolist() == [0, 2]


def test_knn_vote_breaks_ties_by_the_best_ranked_neighbour():
    labels = np.array([5, 7, 5, 7])
    sim = np.array([[0.1, 0.9, 0.8, 0.2],  # 2 votes each; label 7 holds the nearest neighbour
                    [0.9, 0.1, 0.2, 0.8]])  # label 5 holds the nearest
    assert knn_vote(sim, labels, k=4).tolist() == [7, 5]


def test_knn_vote_with_k_larger_than_the_corpus_uses_all_of_it():
    assert knn_vote(np.array([[0.3, 0.2, 0.1]]), np.array([1, 2, 2]), k=10).tolist() == [2]


def test_zero_shot_knn_scores_a_pose_by_the_best_of_the_queries():
    corpus = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    corpus_labels = np.array([0, 0, 1, 1])
    # one window, two queries: the first points at class 1, the second (shorter, irrelevant after normalising) at 0
    queries = np.array([[[0.0, 2.0], [0.7, 0.1]]])
    sim = max_query_similarity(queries, corpus)
    assert sim.shape == (1, 4)
    assert np.allclose(sim[0, 2], 1.0) and np.allclose(sim[0, 0], 0.7 / np.hypot(0.7, 0.1))
    assert zero_shot_knn(queries, corpus, corpus_labels, k=2).tolist() == [1]
    # a single vector per window (CPEP) works the same
    assert zero_shot_knn(np.array([[1.0, 0.05]]), corpus, corpus_labels, k=2).tolist() == [0]


def test_the_paired_query_is_the_one_closest_to_the_windows_own_pose():
    from myosem_core.training.embridge.evaluate import paired_query_choice

    queries = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]])  # two windows, two queries each
    poses = np.array([[0.1, 3.0], [2.0, 0.5]])  # window 0's pose is near query 1, window 1's near query 0
    chosen = paired_query_choice(queries, poses)
    assert chosen.shape == (2, 1, 2)
    assert chosen[:, 0].tolist() == [[0.0, 1.0], [1.0, 0.0]]
    # the two windows' queries are the same, so retrieval (best of the queries) cannot tell them apart; chosen
    # by each window's own pose, the query finds that pose's class: the choice reads the answer
    corpus, labels = np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([7, 3])
    assert zero_shot_knn(chosen, corpus, labels, k=1).tolist() == [7, 3]
    honest = zero_shot_knn(queries, corpus, labels, k=1).tolist()
    assert honest[0] == honest[1]


def test_balanced_accuracy_averages_recall_over_classes():
    y = np.array([0, 0, 0, 0, 1])
    assert balanced_accuracy(y, np.zeros(5, int)) == pytest.approx(0.5)  # plain accuracy would be 0.8
    assert balanced_accuracy(y, y) == 1.0


def test_linear_probe_separates_separable_classes():
    rng = np.random.default_rng(0)
    centres = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    y = np.repeat([0, 1, 2], 40)
    X = centres[y] + 0.3 * rng.normal(size=(120, 2))
    pred = linear_probe(X[::2], y[::2], X[1::2])
    assert balanced_accuracy(y[1::2], pred) == 1.0


def test_evaluation_sets_on_real_db1_keep_unseen_gestures_out_of_training(db1_windows):
    ws = db1_windows
    split = make_split(ws, "class")
    sets = evaluation_sets(ws, split)
    held = set(split.heldout_classes)
    assert held == {"ninapro/A/2", "ninapro/A/5", "ninapro/A/8", "ninapro/A/11"}
    assert not held & set(ws.labels[split.train])  # the MAEs and aligners train on split.train only
    probe, ev = sets["seen"]
    assert not held & set(ws.labels[ev]) and len(set(ws.labels[ev])) == 8
    probe, ev = sets["unseen"]
    assert set(ws.labels[probe]) == held and set(ws.labels[ev]) == held
    assert set(ws.repetition[ev]) == {2, 5, 7} and not {2, 5, 7} & set(ws.repetition[probe])
    user = make_split(ws, "user")
    probe, ev = evaluation_sets(ws, user)["users"]
    assert set(ws.subject[ev]) == {"S17", "S18", "S19", "S20"} and not set(ws.subject[probe]) & set(ws.subject[ev])


def test_subsample_training_keeps_whole_repetitions_of_every_class(db1_windows):
    ws = db1_windows
    idx = make_split(ws, "class").train
    sub = subsample_training(ws, idx, 0.4, seed=0)
    assert set(ws.y[sub]) == set(ws.y[idx])
    unit = lambda i: set(zip(ws.subject[i], ws.y[i], ws.repetition[i]))
    assert len(unit(sub)) == pytest.approx(0.4 * len(unit(idx)), abs=len(set(ws.y[idx])))
    chosen = unit(sub)
    whole = [i for i in idx if (ws.subject[i], ws.y[i], ws.repetition[i]) in chosen]
    assert sorted(whole) == sorted(sub.tolist())  # a chosen repetition comes with all its windows
    assert np.array_equal(sub, subsample_training(ws, idx, 0.4, seed=0))
    assert subsample_training(ws, idx, 1.0, seed=0) is idx
