"""Model-free few-shot baselines for a new device's prompts: what a MyoSem calibration has to beat.

Both read the same few labelled windows (in the model's layout, an envelope per
channel) that :meth:`myosem_core.cross_device.CrossDevice.fit_few_shot` reads, and
score every test window against every prompt class:

- :func:`nearest_class_mean_scores`: per-channel mean log envelope, centred across
  channels (gain-free), and the negative squared distance to each class's mean
  shot. The floor.
- :class:`PerFingerLogistic`: finger-state prompts (``fingers/<bits>``, thumb..little)
  share fingers, so one logistic regression per finger ("is it closed?") learns
  from every shot, and a prompt's score is the log-probability of its five states.
  Features per channel: the mean and the spread of the log envelope and the log
  mean absolute change (:func:`envelope_features`), standardised on the shots.
  ``C = 10`` was chosen on synthetic development sessions (subjects 11-13 of the
  simulated devices, never an evaluated one) from {0.1, 1, 10}, as the
  feature set was from three candidates.
"""

from __future__ import annotations

import numpy as np

from ..data import finger_states as fs_


def _centred_log_mean(X: np.ndarray) -> np.ndarray:
    f = np.log(X.mean(axis=1) + 1e-6)
    return f - f.mean(axis=1, keepdims=True)


def nearest_class_mean_scores(X_shots: np.ndarray, y_shots: np.ndarray, X_test: np.ndarray,
                              n_classes: int) -> np.ndarray:
    """(N_test, n_classes) negative squared distances of gain-free log-envelope means to each class's mean shot."""
    F, G = _centred_log_mean(X_shots), _centred_log_mean(X_test)
    C = np.stack([F[y_shots == k].mean(0) for k in range(n_classes)])
    return -((G[:, None, :] - C[None]) ** 2).sum(-1)


def envelope_features(X: np.ndarray) -> np.ndarray:
    """(N, 3C) per channel: mean and std of the log envelope over the window, log mean |change|."""
    X = np.asarray(X, np.float64)
    lx = np.log(X + 1e-3 * X.mean(axis=(1, 2), keepdims=True) + 1e-12)  # a floor of each window's own level
    rough = np.log(np.abs(np.diff(X, axis=1)).mean(axis=1) + 1e-6)
    return np.concatenate([lx.mean(axis=1), lx.std(axis=1), rough], axis=1)


def finger_states_of(class_keys) -> np.ndarray:
    """(K, 5) 0/1 states of ``fingers/<bits>`` class keys (any other key is a ValueError)."""
    out = []
    for key in class_keys:
        prefix, _, number = str(key).partition("/")
        if prefix != fs_.PREFIX or not number.isdigit():
            raise ValueError(f"class {key!r} is not a finger-state prompt (expected '{fs_.PREFIX}/<bits>')")
        out.append(fs_.from_bits(int(number)))
    return np.array(out, dtype=np.int64)


class PerFingerLogistic:
    """One logistic regression per finger on :func:`envelope_features`; prompts scored by their five states."""

    def __init__(self, C: float = 10.0):
        self.C = C

    def fit(self, X: np.ndarray, y: np.ndarray, class_keys) -> "PerFingerLogistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        self.states = finger_states_of(class_keys)
        F = envelope_features(X)
        self.scaler = StandardScaler().fit(F)
        F = self.scaler.transform(F)
        self.models = []
        for f in range(5):
            target = self.states[y, f]
            if target.min() == target.max():  # every shot has this finger in one state: a constant
                self.models.append(float(target[0]))
            else:
                self.models.append(LogisticRegression(C=self.C, max_iter=5000).fit(F, target))
        return self

    def scores(self, X: np.ndarray) -> np.ndarray:
        """(N, K) log-probability of each prompt's five finger states."""
        F = self.scaler.transform(envelope_features(X))
        out = np.zeros((len(F), len(self.states)))
        for f, m in enumerate(self.models):
            p = np.full(len(F), m) if isinstance(m, float) else m.predict_proba(F)[:, 1]
            p = np.clip(p, 1e-6, 1 - 1e-6)
            out += np.where(self.states[None, :, f] == 1, np.log(p)[:, None], np.log(1 - p)[:, None])
        return out
