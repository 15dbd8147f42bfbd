"""Recall@K / MRR pinned on hand-computed cases, the episode sampler, and the held-out breakdown."""

import numpy as np
import pytest

from myosem_core.evaluation.retrieval_results import evaluate_scores
from myosem_core.metrics import (
    bootstrap_std,
    emg_to_text,
    mrr,
    recall_at_k,
    sample_episodes,
    text_to_emg,
    true_ranks,
)

SCORES = np.array([[0.9, 0.1, 0.5],
                   [0.2, 0.8, 0.3],
                   [0.4, 0.6, 0.5],
                   [0.1, 0.2, 0.3]])
TRUE = np.array([0, 2, 0, 0])


def test_ranks_recall_mrr_hand_computed():
    ranks = true_ranks(SCORES, TRUE)
    assert ranks.tolist() == [1, 2, 3, 3]
    assert recall_at_k(ranks, 1) == pytest.approx(0.25)
    assert recall_at_k(ranks, 2) == pytest.approx(0.5)
    assert recall_at_k(ranks, 3) == pytest.approx(1.0)
    assert mrr(ranks) == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 3) / 4)


def test_ties_count_against_the_query():
    assert true_ranks(np.array([[0.5, 0.5]]), np.array([0])).tolist() == [2]
    assert true_ranks(np.array([[0.5, 0.5]]), np.array([1])).tolist() == [2]
    flat = emg_to_text(np.zeros((10, 4)), np.arange(10) % 4)
    assert flat["R@1"] == 0.0 and flat["MRR"] == pytest.approx(0.25)


def test_emg_to_text_drops_k_beyond_candidates_and_reports_std():
    out = emg_to_text(SCORES, TRUE)
    assert set(out) >= {"R@1", "R@3", "MRR", "std", "n_queries", "n_candidates"}
    assert "R@5" not in out  # only 3 candidates
    assert out["n_queries"] == 4 and out["n_candidates"] == 3


def test_bootstrap_std():
    assert bootstrap_std(np.ones(50, int))["R@1"] == 0.0
    ranks = np.r_[np.ones(200, int), np.full(200, 5)]  # R@1 = 0.5, binomial std of the mean ~ sqrt(.25/400)
    assert bootstrap_std(ranks, n_boot=2000, seed=1)["R@1"] == pytest.approx(np.sqrt(0.25 / 400), rel=0.1)
    assert bootstrap_std(ranks, seed=3) == bootstrap_std(ranks, seed=3)


def test_episode_sampler_is_balanced_and_seeded():
    y = np.array([0] * 5 + [1] * 3 + [2] * 7)
    ep = sample_episodes(y, [0, 1, 2], n_episodes=50, seed=4)
    assert ep.shape == (50, 3)
    assert (y[ep] == np.array([0, 1, 2])).all()  # one window of each class, in class order
    assert (sample_episodes(y, [0, 1, 2], 50, seed=4) == ep).all()
    assert not (sample_episodes(y, [0, 1, 2], 50, seed=5) == ep).all()
    assert len(np.unique(ep[:, 2])) > 1  # windows are actually drawn at random
    with pytest.raises(ValueError, match="class 3"):
        sample_episodes(y, [0, 3], 2)


def test_text_to_emg_hand_computed():
    # windows of class 0 score [1.0, 0.9], of class 1 [0.0, 0.5]: prototype 0 finds its window
    # first; prototype 1 prefers the class-0 window (0.9 > 0.5) -> rank 2. Every episode is alike.
    y = np.array([0, 0, 0, 1, 1])
    S = np.array([[1.0, 0.9]] * 3 + [[0.0, 0.5]] * 2)
    out = text_to_emg(S, y, n_episodes=20, seed=0)
    assert out["R@1"] == pytest.approx(0.5)
    assert out["MRR"] == pytest.approx(0.75)
    assert out["se"]["R@1"] == 0.0
    assert out["n_candidates"] == 2 and "R@3" not in out


def test_text_to_emg_perfect_scores():
    y = np.repeat(np.arange(4), 6)
    out = text_to_emg(np.eye(4)[y], y, n_episodes=100, seed=2)
    assert out["R@1"] == 1.0 and out["MRR"] == 1.0 and out["n_episodes"] == 100


def test_heldout_breakdown_uses_only_heldout_columns():
    keys = ["a", "b", "c"]
    y = np.array([0, 1, 2, 2])
    S = np.array([[0.9, 0.1, 0.0],
                  [0.1, 0.9, 0.0],
                  [0.0, 0.8, 0.5],  # held-out c: rank 2 among all, but its only held-out candidate
                  [0.0, 0.2, 0.9]])
    out = evaluate_scores(S, y, keys, heldout_classes=["c"], n_episodes=10)
    h = out["heldout"]
    assert h["emg_to_text_all_candidates"]["R@1"] == pytest.approx(0.5)
    assert h["emg_to_text_heldout_candidates"]["R@1"] == 1.0
    assert h["emg_to_text_heldout_candidates"]["n_candidates"] == 1
    assert out["seen"]["emg_to_text_all_candidates"]["R@1"] == 1.0
    assert out["emg_to_text"]["n_queries"] == 4


def test_class_centres_and_diagonal_margin():
    from myosem_core.retrieval import class_centres, diagonal_margin
    from myosem_core.scoring import cosine_matrix

    Z = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]])
    C = class_centres(Z, np.array([0, 0, 1]), 3)
    assert np.allclose(C[:2], [[1, 0], [0, 1]]) and np.isnan(C[2]).all()  # class 2 has no window
    M = cosine_matrix(np.eye(2), np.array([[1.0, 1.0], [0.0, 1.0]]))
    assert np.allclose(M, [[2 ** -0.5, 0], [2 ** -0.5, 1]])
    assert diagonal_margin(np.array([[1.0, 0.2], [0.4, 0.8]])) == pytest.approx(0.9 - 0.3)
    assert diagonal_margin(cosine_matrix(C, C)) == pytest.approx(1.0)  # the NaN class is ignored


def test_window_posteriors_keep_each_windows_ranking_and_tame_hubs():
    from myosem_core.metrics import emg_to_text, text_to_emg
    from myosem_core.scoring import window_posteriors

    rng = np.random.default_rng(0)
    n, k = 60, 4
    y = np.repeat(np.arange(k), n // k)
    cos = 0.2 + 0.05 * rng.standard_normal((n, k))
    cos[np.arange(n), y] += 0.1  # each window is closest to its own class
    hubs = y == 0
    cos[hubs] += 0.3  # class-0 windows are close to every prototype (hubs)
    post = window_posteriors(cos)
    assert np.allclose(post.sum(1), 1.0)
    assert (post.argsort(1) == cos.argsort(1)).all()  # EMG->text unchanged
    assert emg_to_text(post, y)["R@1"] == emg_to_text(cos, y)["R@1"]
    raw, fixed = text_to_emg(cos, y, seed=0)["R@1"], text_to_emg(post, y, seed=0)["R@1"]
    assert raw < 0.5 and fixed > 0.8  # raw cosines: hubs win other classes' queries
