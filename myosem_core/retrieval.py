"""Searching EMG windows by sentence and descriptions by window.

- :class:`RetrievalIndex`: ``search_text("bend the ring finger", k)`` -> top EMG
  windows; ``search_emg(window, k)`` -> ranked descriptions.
- :func:`text_to_window_scores`: the prototype-mediated ranking both use, and
  :func:`free_text_to_emg`, its end-to-end measure on the free-text benchmark.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data.catalog import class_name
from .data.windows import WindowSet
from .errors import ConfigError
from .scoring import unit_rows, window_posteriors


class RetrievalIndex:
    """Search a window collection by sentence, or rank descriptions for a window.

    ``embed`` maps raw windows (N, L, C) to unit vectors in the prototype space;
    ``text_space`` (Stage 1) supplies ``encode_text(list[str]) -> (n, D)``, so any
    sentence can query. ``descriptions`` maps class keys to the text shown for
    them (default: the catalog's class name).
    """

    def __init__(self, embed, windows: WindowSet, prototypes: np.ndarray, class_keys, text_space=None,
                 descriptions: dict[str, str] | None = None, batch_size: int = 512):
        self.embed_fn, self.windows, self.text_space = embed, windows, text_space
        self.class_keys = tuple(class_keys)
        self.prototypes = np.asarray(prototypes, dtype=np.float32)
        self.descriptions = {k: (descriptions or {}).get(k) or class_name(k) for k in self.class_keys}
        self.embeddings = unit_rows(np.asarray(embed(windows.X), dtype=np.float32))

    @classmethod
    def from_run(cls, run, windows: WindowSet, text_space=None, descriptions=None) -> "RetrievalIndex":
        """Index ``windows`` with a trained :class:`~myosem_core.training.Stage3Run`."""
        return cls(run.embed, windows, run.prototypes, run.class_keys, text_space, descriptions)

    def encode_text(self, sentences: list[str]) -> np.ndarray:
        if self.text_space is None:
            raise ConfigError("this index has no text encoder (pass text_space=...) so it cannot embed new sentences")
        return unit_rows(np.asarray(self.text_space.encode_text(list(sentences)), dtype=np.float32))

    def sentence_class_scores(self, sentences: list[str]) -> np.ndarray | None:
        """(n, K) class cosines of the text space's query encoder in this index's class order, or None
        when the text space has none (then the sentence embeddings meet the prototypes directly)."""
        if getattr(self.text_space, "query_encoder", None) is None:
            return None
        return self.text_space.class_scores(list(sentences), self.class_keys)

    def text_scores(self, sentences: list[str], mode: str = "prototype", Q: np.ndarray | None = None) -> np.ndarray:
        """(n, N) scores of every indexed window for every sentence (see :func:`text_to_window_scores`);
        ``Q``: the sentences' :meth:`encode_text` when the caller already has it."""
        Q = self.encode_text(sentences) if Q is None else Q
        return text_to_window_scores(Q, self.embeddings, self.prototypes, mode,
                                     self.sentence_class_scores(sentences) if mode == "prototype" else None)

    def search_text(self, sentence: str, k: int = 5, mode: str = "prototype") -> pd.DataFrame:
        """The ``k`` windows that best match ``sentence``, with their true labels.

        ``mode="prototype"`` (default) ranks windows by how surely the model puts them in the classes the
        sentence describes; ``"cosine"`` by the raw cosine between sentence and window embeddings.
        """
        q = self.encode_text([sentence])
        s = self.text_scores([sentence], mode, q)[0]
        top = rank_windows(s, (self.embeddings @ q[0]))[:k]
        w = self.windows
        return pd.DataFrame({"rank": np.arange(1, len(top) + 1), "window": top, "score": s[top],
                             "class_key": w.labels[top], "class_name": [class_name(c) for c in w.labels[top]],
                             "subject": w.subject[top], "repetition": w.repetition[top]})

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


#: Softmax temperatures of the prototype-mediated text -> EMG ranking, chosen on the free-text development
#: sentences (benchmarks/free_text_emg.py, issue 15): dev top-5 right 40 % with raw cosine, 84 % with these
#: (0.83-0.84 for every pair in {0.02, 0.05, 0.1} x {0.01, 0.02, 0.05}).
EMG_TEMPERATURE = 0.02
TEXT_TEMPERATURE = 0.02


def class_posterior(Z: np.ndarray, prototypes: np.ndarray, temperature: float = EMG_TEMPERATURE) -> np.ndarray:
    """(N, K) p(class | window): softmax over the prototypes of the window embeddings' cosines."""
    return window_posteriors(np.asarray(Z, np.float32) @ np.asarray(prototypes, np.float32).T, temperature).astype(np.float32)


def rank_windows(scores: np.ndarray, cosine: np.ndarray) -> np.ndarray:
    """Window order for one query: by score, descending; windows whose scores tie (a saturated posterior)
    by their cosine to the query, then by index."""
    return np.lexsort((np.arange(len(scores)), -np.asarray(cosine, np.float64), -np.asarray(scores, np.float64)))


def text_to_window_scores(Q: np.ndarray, Z: np.ndarray, prototypes: np.ndarray, mode: str = "prototype",
                          class_scores: np.ndarray | None = None) -> np.ndarray:
    """(n, N) text -> window scores of sentence embeddings ``Q`` against window embeddings ``Z``.

    ``prototype``: sum over classes of q(class | sentence) x p(class | window), each a softmax over the
    Stage-1 prototypes; the windows the EMG model most surely places in the sentence's classes rank first.
    The sentence is free text: a sentence between two classes weights both. ``class_scores`` (n, K), when
    given, are the sentences' class cosines from the text space's query encoder
    (:meth:`~myosem_core.text.stage1.TextSpace.class_scores`) and replace ``Q @ prototypes.T``.
    ``cosine``: ``Q @ Z.T``.
    """
    Q = np.atleast_2d(np.asarray(Q, np.float32))
    if mode == "cosine":
        return Q @ np.asarray(Z, np.float32).T
    if mode != "prototype":
        raise ConfigError(f"unknown text search mode {mode!r}; expected 'prototype' or 'cosine'")
    S = Q @ np.asarray(prototypes, np.float32).T if class_scores is None else np.atleast_2d(class_scores)
    qc = window_posteriors(np.asarray(S, np.float32), TEXT_TEMPERATURE).astype(np.float32)
    return qc @ class_posterior(Z, prototypes).T


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


def free_text_to_emg(index: RetrievalIndex, sentences, k: int = 5) -> dict:
    """Free text -> EMG end to end: for every sentence, the share of its top-``k`` windows of the right class.

    ``sentences`` are :class:`~myosem_core.text.benchmark.FreeText` (text, class_key, kind); those whose
    class has no indexed window are left out. Returns the mean share overall and per kind, and the
    fraction of sentences whose top-1 window is right.
    """
    present = set(np.asarray(index.windows.labels).tolist())
    sel = [s for s in sentences if s.class_key in present]
    if not sel:
        raise ConfigError("no free-text sentence names a class of the indexed windows")
    Q = index.encode_text([s.text for s in sel])
    S = index.text_scores([s.text for s in sel], Q=Q)  # (n, N), the ranking search_text uses
    C = Q @ index.embeddings.T
    top = np.stack([rank_windows(S[i], C[i])[:k] for i in range(len(sel))])
    labels = np.asarray(index.windows.labels)
    hit = labels[top] == np.array([s.class_key for s in sel])[:, None]  # (n, k)
    kinds = np.array([s.kind for s in sel])
    share = hit.mean(1)
    return {"k": k, "n_sentences": len(sel), f"top{k}_right": float(share.mean()), "top1_right": float(hit[:, 0].mean()),
            "by_kind": {kd: float(share[kinds == kd].mean()) for kd in dict.fromkeys(kinds.tolist())},
            "worst": sorted(({"text": s.text, "class_key": s.class_key, "share": float(v)} for s, v in zip(sel, share)),
                            key=lambda d: d["share"])[:10]}
