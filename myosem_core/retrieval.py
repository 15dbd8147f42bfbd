"""Searching EMG windows by sentence and descriptions by window.

- :class:`RetrievalIndex`: ``search_text("bend the ring finger", k)`` -> a :class:`TextSearch` (the top EMG
  windows with the calibrated probability that each shows the movement, or, when the sentence names no known
  movement, that plain answer with the nearest candidates); ``search_emg(window, k)`` -> ranked descriptions.
- :func:`text_to_window_scores`: the prototype-mediated ranking, :func:`spread_over_repetitions`: varied
  results, and :func:`free_text_to_emg`, the end-to-end measure on the free-text benchmark.

Free text is read by :func:`myosem_core.text.query.QueryReader.read` (checked, refused when it names no known
movement, class probabilities calibrated on development sentences); windows by ``p(class | window)``, a
softmax whose temperature :func:`emg_temperature` fits on windows that are never tested (the validation
repetition). Windows rank by ``sum_c p(c | sentence) p(c | window)``; the probability shown beside each is
that score mapped through a :class:`~myosem_core.score_calibration.ScoreMap` fitted on development sentences
against the same never-tested windows (:func:`fit_score_map`): the fraction of windows at that score that
showed the described movement. The recipe was chosen by cross-validation on development data alone
(``benchmarks/score_calibration.py``, quick ``rand`` run): expected calibration error of the top-5 shown
probabilities 0.043 (plain) / 0.037 (varied) with the score map fitted on all development sentences, against
0.092 / 0.090 for the temperatures alone and 0.055 / 0.056 for the map fitted on the free-text ones only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data.catalog import class_name
from .data.windows import WindowSet
from .errors import ConfigError, DataError
from .score_calibration import ScoreMap, expected_calibration_error, fit_temperature
from .scoring import unit_rows, window_posteriors


@dataclass
class TextSearch:
    """A sentence's search: how it was read and, when it names a known movement, the top windows."""

    reading: object  # myosem_core.text.query.QueryReading
    hits: pd.DataFrame  # rank, window, probability, class_key, class_name, subject, repetition (empty if refused)
    varied: bool = False
    names: dict | None = None  # class key -> name shown in messages

    @property
    def known(self) -> bool:
        return bool(self.reading.known)

    def message(self) -> str:
        """One plain sentence: what the sentence was read as, or that it names no known movement."""
        if not self.known:
            return self.reading.message(self.names)
        how = "spread over subjects and repetitions" if self.varied else "ranked"
        return f"{self.reading.message(self.names)}; top {len(self.hits)} windows, {how}"

    def candidates(self) -> pd.DataFrame:
        """The nearest classes with their probabilities (what a refused sentence shows instead of windows)."""
        rows = self.reading.nearest(3)
        return pd.DataFrame({"candidate": [(self.names or {}).get(k) or class_name(k) for k, _ in rows],
                             "class_key": [k for k, _ in rows], "probability": [p for _, p in rows]})

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        body = self.hits.to_string(index=False, float_format=lambda v: f"{v:.3f}") if self.known else \
            self.candidates().to_string(index=False, float_format=lambda v: f"{v:.3f}")
        return f"{self.message()}\n{body}"

    def _repr_html_(self) -> str:
        import html

        table = (self.hits if self.known else self.candidates()).to_html(index=False, float_format=lambda v: f"{v:.3f}")
        return f"<p>{html.escape(self.message())}</p>{table}"


class RetrievalIndex:
    """Search a window collection by sentence, or rank descriptions for a window.

    ``embed`` maps raw windows (N, L, C) to unit vectors in the prototype space;
    ``text_space`` (Stage 1) supplies ``encode_text(list[str]) -> (n, D)``, so any
    sentence can query. ``descriptions`` maps class keys to the text shown for
    them (default: the catalog's class name). ``emg_temperature`` is the temperature of
    ``p(class | window)`` (:func:`emg_temperature`; default :data:`EMG_TEMPERATURE`, not calibrated);
    ``reader`` reads sentences (default: the text space's :func:`~myosem_core.text.query.query_reader`);
    ``score_map`` turns ranking scores into the probabilities shown (default: none, the scores themselves).
    """

    def __init__(self, embed, windows: WindowSet, prototypes: np.ndarray, class_keys, text_space=None,
                 descriptions: dict[str, str] | None = None, batch_size: int = 512, emg_temperature: float | None = None,
                 reader=None, score_map: ScoreMap | None = None):
        self.embed_fn, self.windows, self.text_space = embed, windows, text_space
        self.class_keys = tuple(class_keys)
        self.prototypes = np.asarray(prototypes, dtype=np.float32)
        self.descriptions = {k: (descriptions or {}).get(k) or class_name(k) for k in self.class_keys}
        self.embeddings = unit_rows(np.asarray(embed(windows.X), dtype=np.float32))
        self.calibrated = emg_temperature is not None
        self.emg_temperature = float(emg_temperature) if emg_temperature is not None else EMG_TEMPERATURE
        self.window_probabilities = class_posterior(self.embeddings, self.prototypes, self.emg_temperature)  # (N, K)
        self._reader = reader
        self.score_map = score_map

    @classmethod
    def from_run(cls, run, windows: WindowSet, text_space=None, descriptions=None,
                 calibration: WindowSet | None = None) -> "RetrievalIndex":
        """Index ``windows`` with a trained :class:`~myosem_core.training.Stage3Run`; ``calibration``: labelled
        windows that are never tested (the protocol's validation windows) on which ``p(class | window)``'s
        temperature (:func:`emg_temperature`) and the shown probabilities (:func:`fit_score_map`) are fitted."""
        if calibration is None:
            return cls(run.embed, windows, run.prototypes, run.class_keys, text_space, descriptions)
        Zc = run.embed(calibration.X)
        T = emg_temperature(Zc, calibration.labels, run.prototypes, run.class_keys)
        index = cls(run.embed, windows, run.prototypes, run.class_keys, text_space, descriptions, emg_temperature=T)
        if text_space is not None:
            index.score_map = fit_score_map(index.reader, Zc, calibration.labels, index.prototypes, T)
        return index

    def probability(self, scores: np.ndarray) -> np.ndarray:
        """The probabilities shown for ranking scores (:attr:`score_map`; the scores themselves without one)."""
        return np.asarray(scores, np.float64) if self.score_map is None else self.score_map(scores)

    @property
    def reader(self):
        """The :class:`~myosem_core.text.query.QueryReader` every sentence goes through."""
        if self._reader is None:
            if self.text_space is None:
                raise ConfigError("this index has no text encoder (pass text_space=...) so it cannot read sentences")
            from .text.query import query_reader

            self._reader = query_reader(self.text_space, self.class_keys, self.prototypes)
        return self._reader

    def encode_text(self, sentences: list[str]) -> np.ndarray:
        if self.text_space is None:
            raise ConfigError("this index has no text encoder (pass text_space=...) so it cannot embed new sentences")
        return unit_rows(np.asarray(self.text_space.encode_text(list(sentences)), dtype=np.float32))

    def text_scores(self, readings) -> np.ndarray:
        """(n, N) probability that each window shows the movement each read sentence describes."""
        probs = np.stack([r.probabilities for r in readings]).astype(np.float32)
        return np.clip(probs @ self.window_probabilities.T, 0.0, 1.0)

    def search_text(self, sentence: str, k: int = 5, mode: str = "prototype", varied: bool = False) -> TextSearch:
        """The ``k`` windows that best match ``sentence``, with their true labels, as a :class:`TextSearch`.

        The sentence is read first (:meth:`reader`): bad input raises one DataError; a sentence that names no
        known movement returns no windows and says so, with its nearest candidate classes.
        ``mode="prototype"`` (default) ranks windows by the probability that they show the described movement
        (column ``probability``); ``"cosine"`` by the raw cosine between sentence and window embeddings (column
        ``cosine``). ``varied=True`` keeps at most one window per repetition, spread over subjects
        (:func:`spread_over_repetitions`).
        """
        if mode not in ("prototype", "cosine"):
            raise ConfigError(f"unknown text search mode {mode!r}; expected 'prototype' or 'cosine'")
        reading = self.reader.read(sentence)
        w = self.windows
        if not reading.known:
            empty = pd.DataFrame(columns=["rank", "window", "probability", "class_key", "class_name", "subject",
                                          "repetition"])
            return TextSearch(reading, empty, varied)
        q = self.encode_text([reading.text])[0]
        cos = self.embeddings @ q
        s = self.text_scores([reading])[0] if mode == "prototype" else cos
        order = rank_windows(s, cos)
        top = spread_over_repetitions(order, w.subject, w.repetition, k) if varied else order[:k]
        col = "probability" if mode == "prototype" else "cosine"
        shown = self.probability(s[top]) if mode == "prototype" else s[top]
        hits = pd.DataFrame({"rank": np.arange(1, len(top) + 1), "window": top, col: shown,
                             "class_key": w.labels[top], "class_name": [class_name(c) for c in w.labels[top]],
                             "subject": w.subject[top], "repetition": w.repetition[top]})
        return TextSearch(reading, hits, varied)
    def search_emg(self, window, k: int = 5, sentences: list[str] | None = None) -> pd.DataFrame:
        """Descriptions ranked for one window (an index into the indexed windows, or an (L, C) array).

        Candidates are the class prototypes, or ``sentences`` (encoded by the text space) if given.
        """
        z = self.embeddings[int(window)] if np.isscalar(window) else unit_rows(
            np.asarray(self.embed_fn(np.asarray(window, np.float32)[None]), np.float32))[0]
        if sentences is None:
            s = self.prototypes @ z
            top = np.argsort(-s, kind="stable")[:k]
            return pd.DataFrame({"rank": np.arange(1, len(top) + 1), "class_key": [self.class_keys[i] for i in top],
                                 "description": [self.descriptions[self.class_keys[i]] for i in top],
                                 "score": s[top]})
        s = self.encode_text(sentences) @ z
        top = np.argsort(-s, kind="stable")[:k]
        return pd.DataFrame({"rank": np.arange(1, len(top) + 1), "description": [sentences[i] for i in top],
                             "score": s[top]})


#: Softmax temperatures of the prototype-mediated text -> EMG ranking when none is fitted (an index without
#: calibration windows, a reader without development sentences), chosen on the free-text development sentences
#: (benchmarks/free_text_emg.py): dev top-5 right 40 % with raw cosine, 84 % with these (0.83-0.84 for every
#: pair in {0.02, 0.05, 0.1} x {0.01, 0.02, 0.05}). Their scores rank well but are not probabilities (they
#: saturate at 1); fitted temperatures (:func:`emg_temperature`, the reader's) make them so.
EMG_TEMPERATURE = 0.02
TEXT_TEMPERATURE = 0.02


def class_posterior(Z: np.ndarray, prototypes: np.ndarray, temperature: float = EMG_TEMPERATURE) -> np.ndarray:
    """(N, K) p(class | window): softmax over the prototypes of the window embeddings' cosines."""
    return window_posteriors(np.asarray(Z, np.float32) @ np.asarray(prototypes, np.float32).T, temperature).astype(np.float32)


def emg_temperature(Z: np.ndarray, labels, prototypes: np.ndarray, class_keys) -> float:
    """The temperature of ``p(class | window)`` fitted (negative log-likelihood, :func:`fit_temperature`) on
    labelled window embeddings ``Z`` that are never tested (e.g. the validation repetition); windows of classes
    outside ``class_keys`` are left out."""
    col = {k: i for i, k in enumerate(class_keys)}
    labels = np.asarray(labels)
    keep = np.array([lab in col for lab in labels], bool)
    if not keep.any():
        raise DataError("<calibration windows>", "labels", f"no window of the classes {list(class_keys)[:3]}...")
    C = unit_rows(np.asarray(Z, np.float64)[keep]) @ np.asarray(prototypes, np.float64).T
    return fit_temperature(C, np.array([col[lab] for lab in labels[keep]]), "<calibration windows>")


def fit_score_map(reader, Z: np.ndarray, labels, prototypes: np.ndarray, emg_temperature: float) -> ScoreMap | None:
    """The map from ranking score to shown probability: isotonic regression, over every pair of a development
    sentence (:func:`~myosem_core.text.query.development_sentences`, read by ``reader``) and a never-tested window
    (embeddings ``Z`` with their ``labels``), of "the window shows the sentence's class" on the pair's score.
    None without development sentences for the reader's classes."""
    from .text.query import development_sentences

    keys = np.asarray(reader.class_keys)
    texts, y = development_sentences(reader.class_keys)
    if not texts:
        return None
    probs = np.stack([r.probabilities for r in reader.read_many(texts)]).astype(np.float32)
    pw = class_posterior(unit_rows(np.asarray(Z, np.float32)), prototypes, emg_temperature)
    S = np.clip(probs @ pw.T, 0.0, 1.0)
    right = np.asarray(labels)[None, :] == keys[y][:, None]
    return ScoreMap.fit(S.ravel(), right.ravel())


def spread_over_repetitions(order: np.ndarray, subject, repetition, k: int) -> np.ndarray:
    """Varied results: ``k`` windows taken from ``order`` (best first) with at most one window per
    (subject, repetition), each subject's best window before any subject's second, and so on.

    Round r takes, in rank order, the best window not yet shown of every subject shown r times so far,
    from a repetition of that subject not yet shown; rounds go on until ``k`` windows are taken or no
    repetition is left.
    """
    order = np.asarray(order)
    subject, repetition = np.asarray(subject)[order], np.asarray(repetition)[order]
    picked: list[int] = []
    used: set = set()
    shown: dict = {}  # subject -> windows shown so far
    rnd = 0
    while len(picked) < k:
        before = len(picked)
        for pos in range(len(order)):
            s, key = subject[pos], (subject[pos], repetition[pos])
            if key in used or shown.get(s, 0) != rnd:
                continue
            picked.append(int(order[pos]))
            used.add(key)
            shown[s] = rnd + 1
            if len(picked) == k:
                break
        if len(picked) == before:
            break
        rnd += 1
    return np.asarray(picked, dtype=np.int64)


def rank_windows(scores: np.ndarray, cosine: np.ndarray) -> np.ndarray:
    """Window order for one query: by score, descending; windows whose scores tie (a saturated posterior)
    by their cosine to the query, then by index."""
    return np.lexsort((np.arange(len(scores)), -np.asarray(cosine, np.float64), -np.asarray(scores, np.float64)))


def text_to_window_scores(Q: np.ndarray, Z: np.ndarray, prototypes: np.ndarray, mode: str = "prototype",
                          class_scores: np.ndarray | None = None, text_temperature: float = TEXT_TEMPERATURE,
                          emg_temperature: float = EMG_TEMPERATURE) -> np.ndarray:
    """(n, N) text -> window scores of sentence embeddings ``Q`` against window embeddings ``Z``.

    ``prototype``: sum over classes of q(class | sentence) x p(class | window), each a softmax over the
    Stage-1 prototypes; the windows the EMG model most surely places in the sentence's classes rank first.
    The sentence is free text: a sentence between two classes weights both. ``class_scores`` (n, K), when
    given, are the sentences' class cosines from the text space's query encoder
    (:meth:`~myosem_core.text.stage1.TextSpace.class_scores`) and replace ``Q @ prototypes.T``; the two
    temperatures are those of the sentence's and the window's softmax. ``cosine``: ``Q @ Z.T``.
    """
    Q = np.atleast_2d(np.asarray(Q, np.float32))
    if mode == "cosine":
        return Q @ np.asarray(Z, np.float32).T
    if mode != "prototype":
        raise ConfigError(f"unknown text search mode {mode!r}; expected 'prototype' or 'cosine'")
    S = Q @ np.asarray(prototypes, np.float32).T if class_scores is None else np.atleast_2d(class_scores)
    qc = window_posteriors(np.asarray(S, np.float32), text_temperature).astype(np.float32)
    return qc @ class_posterior(Z, prototypes, emg_temperature).T


def class_centres(Z: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, D) unit-norm mean embedding per class (a row of NaN for a class without windows)."""
    out = np.full((n_classes, Z.shape[1]), np.nan, dtype=np.float64)
    for k in range(n_classes):
        if np.any(y == k):
            out[k] = Z[y == k].mean(0)
    return unit_rows(out)


def diagonal_margin(M: np.ndarray) -> float:
    """Mean diagonal minus mean off-diagonal of a square similarity matrix (NaN rows ignored)."""
    ok = ~np.isnan(np.diag(M))
    M = M[ok][:, ok]
    off = M[~np.eye(len(M), dtype=bool)]
    return float(np.diag(M).mean() - off.mean())


def free_text_to_emg(index: RetrievalIndex, sentences, k: int = 5, varied: bool = False) -> dict:
    """Free text -> EMG end to end, as :meth:`RetrievalIndex.search_text` answers: every sentence is read
    (refused ones are counted, not searched); for the others, the share of their top-``k`` windows of the right
    class, and the probabilities shown beside those windows with whether each was right (for a reliability
    diagram and :func:`~myosem_core.score_calibration.expected_calibration_error`).

    ``sentences`` are :class:`~myosem_core.text.benchmark.FreeText` (text, class_key, kind); those whose
    class has no indexed window are left out. ``varied``: the top-``k`` of :func:`spread_over_repetitions`.
    """
    present = set(np.asarray(index.windows.labels).tolist())
    sel = [s for s in sentences if s.class_key in present]
    if not sel:
        raise ConfigError("no free-text sentence names a class of the indexed windows")
    readings = index.reader.read_many([s.text for s in sel])
    known = np.array([r.known for r in readings])
    kept = [s for s, ok in zip(sel, known) if ok]
    out = {"k": k, "varied": varied, "n_sentences": len(sel), "n_abstained": int((~known).sum()),
           "abstained": [s.text for s, ok in zip(sel, known) if not ok]}
    if not kept:
        return {**out, f"top{k}_right": float("nan"), "top1_right": float("nan"), "by_kind": {}, "worst": [],
                "subjects": float("nan"), "repetitions": float("nan"),
                "shown_probability": [], "shown_right": [], "ece_shown": float("nan")}
    Q = index.encode_text([r.text for r in readings if r.known])
    S = index.text_scores([r for r in readings if r.known])  # (n, N), the ranking search_text uses
    C = Q @ index.embeddings.T
    w = index.windows
    tops = []
    for i in range(len(kept)):
        order = rank_windows(S[i], C[i])
        tops.append(spread_over_repetitions(order, w.subject, w.repetition, k) if varied else order[:k])
    top = np.stack(tops)
    labels = np.asarray(w.labels)
    hit = labels[top] == np.array([s.class_key for s in kept])[:, None]  # (n, k)
    shown = index.probability(np.take_along_axis(S, top, 1))
    kinds = np.array([s.kind for s in kept])
    share = hit.mean(1)
    subj, rep = np.asarray(w.subject)[top], np.asarray(w.repetition)[top]
    return {**out, f"top{k}_right": float(share.mean()), "top1_right": float(hit[:, 0].mean()),
            "subjects": float(np.mean([len(set(r)) for r in subj])),  # distinct subjects among a sentence's top k
            "repetitions": float(np.mean([len(set(zip(a, b))) for a, b in zip(subj, rep)])),  # distinct repetitions
            "by_kind": {kd: float(share[kinds == kd].mean()) for kd in dict.fromkeys(kinds.tolist())},
            "worst": sorted(({"text": s.text, "class_key": s.class_key, "share": float(v)} for s, v in zip(kept, share)),
                            key=lambda d: d["share"])[:10],
            "shown_probability": shown.ravel().astype(float).tolist(), "shown_right": hit.ravel().tolist(),
            "ece_shown": expected_calibration_error(shown.ravel().clip(0, 1), hit.ravel())}
