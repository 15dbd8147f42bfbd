"""Leave-one-subject-out (LOSO) evaluation of frozen window features: zero-shot and few-shot.

- **Folds**: one per target subject; training rows are every *other* subject's
  windows, test rows the target's (:func:`loso_folds`).
- **Zero-shot**: a classifier trained on the other subjects only labels the
  target's windows: kNN (cosine, majority of ``k`` = 10, ties to the class
  with the larger summed similarity) and a linear probe on embeddings; LDA on
  classical features. The linear probe is a ridge-regularised least-squares
  classifier (one-vs-rest, closed form, on standardised features): on 2 shared
  CPU cores it fits in a fraction of a second where a logistic regression
  takes seconds, and the LOSO x few-shot grid needs hundreds of fits.
- **Few-shot adaptation** with a fraction ``f`` of the target's windows
  (:func:`fewshot_support`): per class, repetitions of the target are taken in
  a seeded random order and windows are taken in time order from the start of
  the first, then the next, until ``max(1, round(f * n_class))`` windows are
  in the support set: a contiguous block of the target's recording. Every
  repetition touched is removed from evaluation, so overlapping neighbours of
  a support window can never be test windows. The probe (or LDA) is refitted
  on the other subjects plus the support windows, which together carry
  ``support_share`` (0.5) of the training weight (LDA: support rows repeated).
  The orders are nested: a larger fraction extends the smaller one's support.
- **Metric**: balanced accuracy (mean per-class recall) per target; mean and
  standard deviation over targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
from tqdm.auto import tqdm

from ..data.windows import WindowSet
from ..errors import DataError
from ..threads import limit_threads
from .probes import balanced_accuracy


@dataclass(frozen=True)
class LOSOConfig:
    fractions: tuple[float, ...] = (0.01, 0.02, 0.05, 0.10, 0.20)  # few-shot shares of the target's windows
    headline_fraction: float = 0.05
    knn_k: int = 10
    probe_alpha: float = 1.0  # L2 strength of the ridge probe (features standardised)
    support_share: float = 0.5  # total training weight carried by the target's support windows
    n_draws: int = 1  # few-shot support draws per target and fraction (averaged)
    seed: int = 0


@dataclass
class Fold:
    target: str
    train: np.ndarray  # indices of windows of every other subject
    test: np.ndarray  # indices of the target's windows


def loso_folds(subject: np.ndarray, targets=None) -> list[Fold]:
    """One fold per target subject (default: every subject, in natural order)."""
    subject = np.asarray(subject).astype(str)
    present = sorted(set(subject.tolist()), key=lambda s: (len(s), s))
    targets = present if targets is None else [str(t) for t in targets]
    missing = [t for t in targets if t not in present]
    if missing:
        raise DataError("<windows>", "subject", f"LOSO targets {missing} have no window; present: {present}")
    if len(present) < 2:
        raise DataError("<windows>", "subject", f"LOSO needs at least two subjects, got {present}")
    folds = []
    for t in targets:
        is_t = subject == t
        folds.append(Fold(t, np.flatnonzero(~is_t), np.flatnonzero(is_t)))
    return folds


def fewshot_support(y: np.ndarray, repetition: np.ndarray, start: np.ndarray, idx: np.ndarray, fraction: float,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(support, evaluation) indices among ``idx`` (one target's windows), by contiguous repetition blocks.

    For every class: ``max(1, round(fraction * n_class))`` windows, taken in
    time order from the start of repetitions drawn in a seeded order; all
    windows of a touched repetition leave the evaluation set.
    """
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"few-shot fraction must lie in (0, 1), got {fraction}")
    idx = np.asarray(idx)
    y, rep, start = np.asarray(y)[idx], np.asarray(repetition)[idx], np.asarray(start)[idx]
    rng = np.random.default_rng(seed)
    support, evaluation = [], []
    for c in np.unique(y):
        in_c = np.flatnonzero(y == c)
        reps = np.unique(rep[in_c])
        order = {r: i for i, r in enumerate(rng.permutation(reps))}
        ranked = in_c[np.lexsort((start[in_c], [order[r] for r in rep[in_c]]))]
        k = max(1, int(round(fraction * len(in_c))))
        chosen = ranked[:k]
        used = np.isin(rep[in_c], np.unique(rep[chosen]))
        support.append(idx[chosen])
        evaluation.append(idx[in_c[~used]])
    return np.sort(np.concatenate(support)), np.sort(np.concatenate(evaluation))


def knn_predict(Z_train: np.ndarray, y_train: np.ndarray, Z_test: np.ndarray, k: int = 10,
                chunk: int = 1024) -> np.ndarray:
    """Majority label of the ``k`` most cosine-similar training rows (ties: larger summed similarity)."""
    A = Z_train / (np.linalg.norm(Z_train, axis=1, keepdims=True) + 1e-12)
    B = Z_test / (np.linalg.norm(Z_test, axis=1, keepdims=True) + 1e-12)
    classes, y_idx = np.unique(np.asarray(y_train), return_inverse=True)
    k = min(int(k), len(A))
    out = []
    for i in range(0, len(B), chunk):
        sim = B[i:i + chunk] @ A.T
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        rows = np.repeat(np.arange(len(sim)), k)
        votes = np.zeros((len(sim), len(classes)))
        np.add.at(votes, (rows, y_idx[top].ravel()), 1.0 + 1e-6 * np.take_along_axis(sim, top, 1).ravel())
        out.append(classes[votes.argmax(1)])
    return np.concatenate(out)


def probe_predict(Z_train: np.ndarray, y_train: np.ndarray, Z_test: np.ndarray, weight: np.ndarray | None = None,
                  alpha: float = 1.0) -> np.ndarray:
    """Ridge classifier on features standardised with the (unweighted) training rows; optional row weights."""
    from sklearn.linear_model import RidgeClassifier
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(Z_train)
    clf = RidgeClassifier(alpha=alpha).fit(scaler.transform(Z_train), y_train, sample_weight=weight)
    return clf.predict(scaler.transform(Z_test))


def lda_predict(F_train: np.ndarray, y_train: np.ndarray, F_test: np.ndarray) -> np.ndarray:
    """Standardised linear discriminant analysis."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LinearDiscriminantAnalysis()).fit(F_train, y_train).predict(F_test)


def _support_weights(n_source: int, n_support: int, share: float) -> np.ndarray:
    w = np.ones(n_source + n_support)
    w[n_source:] = share / (1 - share) * n_source / n_support
    return w * (len(w) / w.sum())


def fit_predict(method: str, M: np.ndarray, y: np.ndarray, source: np.ndarray, support: np.ndarray,
                test: np.ndarray, cfg: LOSOConfig) -> np.ndarray:
    """Predictions of ``method`` ("knn", "probe" or "lda") for ``test`` rows of feature matrix ``M``."""
    if method == "knn":
        train = np.concatenate([source, support])
        return knn_predict(M[train], y[train], M[test], cfg.knn_k)
    if method == "probe":
        train = np.concatenate([source, support])
        w = _support_weights(len(source), len(support), cfg.support_share) if len(support) else None
        return probe_predict(M[train], y[train], M[test], w, cfg.probe_alpha)
    if method == "lda":
        reps = int(round(cfg.support_share / (1 - cfg.support_share) * len(source) / len(support))) if len(support) else 0
        train = np.concatenate([source, np.tile(support, max(reps, 1))]) if len(support) else source
        return lda_predict(M[train], y[train], M[test])
    raise ValueError(f"unknown method {method!r}; expected 'knn', 'probe' or 'lda'")


#: A feature source: name -> (method, target -> (N, D) features of every window).
FeatureFn = Callable[[str], np.ndarray]


def evaluate_loso(ws: WindowSet, features: Mapping[str, tuple[str, FeatureFn]], targets=None,
                  cfg: LOSOConfig = LOSOConfig(), few_shot: Mapping[str, bool] | None = None,
                  progress: bool = True) -> dict:
    """Zero-shot and few-shot balanced accuracy of every entry of ``features`` under LOSO on ``ws``.

    ``features[row] = (method, fn)``: ``fn(target)`` gives the (N, D) features
    of all windows as seen by the fold whose target subject is ``target`` (an
    encoder pretrained without that subject); ``method`` is "knn", "probe" or
    "lda". ``few_shot[row]`` (default True except kNN) says whether the row
    gets the few-shot curve.
    """
    with limit_threads(1, torch=False, native="all"):  # the machine is shared: one BLAS thread (a second mostly spins)
        return _evaluate_loso(ws, features, targets, cfg, few_shot, progress)


def _evaluate_loso(ws, features, targets, cfg, few_shot, progress) -> dict:
    folds = loso_folds(ws.subject, targets)
    few_shot = {row: method != "knn" for row, (method, _) in features.items()} | dict(few_shot or {})
    zero = {row: {} for row in features}
    few = {row: {f"{f:g}": {} for f in cfg.fractions} for row in features if few_shot[row]}
    sizes = {f"{f:g}": {"support": [], "evaluation": []} for f in cfg.fractions}
    for fold in tqdm(folds, desc="LOSO folds", disable=not progress):
        if set(ws.subject[fold.train].tolist()) & {fold.target}:
            raise AssertionError(f"fold {fold.target}: the target subject leaked into training")
        mats = {row: fn(fold.target) for row, (_, fn) in features.items()}
        for row, (method, _) in features.items():
            pred = fit_predict(method, mats[row], ws.y, fold.train, np.zeros(0, np.int64), fold.test, cfg)
            zero[row][fold.target] = balanced_accuracy(ws.y[fold.test], pred)
        for f in cfg.fractions:
            key = f"{f:g}"
            accs = {row: [] for row in few}
            for d in range(cfg.n_draws):
                support, evaluation = fewshot_support(ws.y, ws.repetition, ws.start, fold.test, f,
                                                      seed=cfg.seed * 1000 + d)
                sizes[key]["support"].append(len(support))
                sizes[key]["evaluation"].append(len(evaluation))
                for row in few:
                    pred = fit_predict(features[row][0], mats[row], ws.y, fold.train, support, evaluation, cfg)
                    accs[row].append(balanced_accuracy(ws.y[evaluation], pred))
            for row in few:
                few[row][key][fold.target] = float(np.mean(accs[row]))
    return {
        "targets": [f.target for f in folds],
        "fractions": list(cfg.fractions),
        "headline_fraction": cfg.headline_fraction,
        "zero_shot": {row: summarize(v) | {"method": features[row][0]} for row, v in zero.items()},
        "few_shot": {row: {"method": features[row][0], "fractions": {k: summarize(v) for k, v in per.items()}}
                     for row, per in few.items()},
        "few_shot_sizes": {k: {s: float(np.mean(v)) for s, v in d.items()} for k, d in sizes.items()},
    }


def summarize(per_subject: Mapping[str, float]) -> dict:
    """Per-subject values with their mean and standard deviation over subjects."""
    vals = np.array(list(per_subject.values()), dtype=np.float64)
    return {"per_subject": {k: float(v) for k, v in per_subject.items()}, "mean": float(vals.mean()),
            "std": float(vals.std(ddof=1)) if len(vals) > 1 else 0.0}
