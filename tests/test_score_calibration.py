"""Scores that mean something: the fitted temperature, the reliability table and ECE against independent
references, the isotonic score map, and varied results (one window per repetition, spread over subjects)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.calibration import calibration_curve

from myosem_core.errors import DataError
from myosem_core.retrieval import emg_temperature, spread_over_repetitions
from myosem_core.score_calibration import ScoreMap, expected_calibration_error, fit_temperature, reliability


def test_fit_temperature_recovers_the_temperature_labels_were_drawn_with():
    rng = np.random.default_rng(0)
    C = rng.uniform(-1, 1, size=(20000, 6))
    for T in (0.05, 0.2):
        p = np.exp(C / T)
        p /= p.sum(1, keepdims=True)
        y = np.array([rng.choice(6, p=row) for row in p])
        assert fit_temperature(C, y) == pytest.approx(T, rel=0.05)
    with pytest.raises(DataError, match="labels"):
        fit_temperature(C[:3], np.array([0, 1, 6]))


def test_emg_temperature_uses_only_the_index_classes():
    rng = np.random.default_rng(1)
    P = np.eye(3)
    Z = rng.normal(size=(300, 3)) + 3 * np.eye(3)[np.repeat([0, 1, 2], 100)]
    labels = np.repeat(["a", "b", "z"], 100)  # "z" is no class of the index: left out
    T = emg_temperature(Z, labels, P, ("a", "b", "c"))
    Zu = Z[:200] / np.linalg.norm(Z[:200], axis=1, keepdims=True)
    assert T == pytest.approx(fit_temperature(Zu @ P.T, np.repeat([0, 1], 100)), rel=1e-6)


def test_reliability_bins_match_scikit_learn_and_ece_is_their_weighted_gap():
    rng = np.random.default_rng(2)
    p = rng.uniform(0.001, 0.999, 5000)
    y = rng.uniform(size=5000) < p ** 1.5  # an overconfident score
    t = reliability(p, y, bins=10)
    true, pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
    np.testing.assert_allclose(t["fraction_right"], true, atol=1e-12)
    np.testing.assert_allclose(t["mean_probability"], pred, atol=1e-12)
    # hand-computed ECE: two bins, [0.1, 0.1, 0.9, 0.9] with outcomes [0, 1, 1, 1]
    assert expected_calibration_error([0.1, 0.1, 0.9, 0.9], [0, 1, 1, 1], bins=10) == pytest.approx(
        0.5 * abs(0.1 - 0.5) + 0.5 * abs(0.9 - 1.0))
    assert expected_calibration_error(p, rng.uniform(size=5000) < p) < 0.03  # a calibrated score
    with pytest.raises(DataError, match="one outcome per probability"):
        reliability([0.5], [1, 0])


def test_score_map_is_monotone_and_levels_follow_the_rule_of_succession():
    m = ScoreMap.fit([0.1, 0.2, 0.8, 0.9, 0.95], [0, 0, 1, 1, 1])
    # two isotonic levels: 0 over 2 scores -> (0 + 1) / (2 + 2); 1 over 3 scores -> (3 + 1) / (3 + 2)
    np.testing.assert_allclose(m([0.0, 0.15, 0.85, 1.0]), [0.25, 0.25, 0.8, 0.8])
    rng = np.random.default_rng(3)
    s = rng.uniform(size=3000)
    m = ScoreMap.fit(s, rng.uniform(size=3000) < s ** 2)
    grid = np.linspace(0, 1, 200)
    assert np.all(np.diff(m(grid)) >= 0) and m(grid).max() < 1.0
    assert np.abs(m(grid[20:-20]) - grid[20:-20] ** 2).max() < 0.1  # it learns the true curve
    assert ScoreMap.from_dict(m.to_dict())(0.5) == m(0.5)


def test_varied_results_take_each_subject_once_before_any_twice_and_no_repetition_twice():
    # ranking:   0    1    2    3    4    5    6    7
    subject = np.array(["A", "A", "A", "B", "B", "C", "A", "B"])
    rep = np.array([1, 1, 2, 1, 1, 3, 3, 2])
    order = np.arange(8)
    # round 0: A (0), B (3), C (5); round 1: A's next new repetition (2), B's (7); round 2: A (6)
    assert spread_over_repetitions(order, subject, rep, 5).tolist() == [0, 3, 5, 2, 7]
    assert spread_over_repetitions(order, subject, rep, 10).tolist() == [0, 3, 5, 2, 7, 6]  # every repetition once
    assert spread_over_repetitions(order[::-1], subject, rep, 2).tolist() == [7, 6]
