"""Bidirectional EMG<->text retrieval: evaluation of a model on a split, and a searchable index.

- :func:`evaluate_scores`: EMG->text (R@1/3/5, MRR, bootstrap std) and text->EMG
  (100 balanced episodes: R@1/3, MRR, standard error) from a (windows x classes)
  score matrix; under the ``class`` protocol also the held-out figures.
- :func:`evaluate_retriever`: fit a registry entry, score the test split, write
  ``<dataset>__<protocol>__<model>__seed<seed>.json``.
- :class:`RetrievalIndex`: ``search_text("bend the ring finger", k)`` -> top EMG
  windows; ``search_emg(window, k)`` -> ranked descriptions.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .data.catalog import class_name
from .data.protocols import Split
from .data.windows import WindowSet
from .errors import ConfigError, DataError
from .io import write_json
from .metrics import emg_to_text, text_to_emg
from .retrievers import make_retriever, retriever_scores, window_posteriors


def prototypes_for(text_space, class_keys) -> np.ndarray:
    """Rows of ``text_space.prototypes`` reordered to ``class_keys`` (an array is returned as is)."""
    if isinstance(text_space, np.ndarray):
        return text_space.astype(np.float32)
    index = {k: i for i, k in enumerate(text_space.class_keys)}
    missing = [k for k in class_keys if k not in index]
    if missing:
        raise DataError("<text space>", "class_keys", f"no prototype for {missing}; Stage 1 must cover every class")
    P = np.asarray(text_space.prototypes, dtype=np.float32)
    return P[[index[k] for k in class_keys]]


def evaluate_scores(scores: np.ndarray, y: np.ndarray, class_keys, heldout_classes=(), n_episodes: int = 100,
                    seed: int = 0) -> dict:
    """Both directions from scores (N test windows, K classes); held-out breakdown when classes are held out."""
    scores, y = np.asarray(scores), np.asarray(y)
    out = {"emg_to_text": emg_to_text(scores, y, seed=seed),
           "text_to_emg": text_to_emg(scores, y, n_episodes=n_episodes, seed=seed)}
    held = np.array([class_keys.index(k) for k in heldout_classes], dtype=np.int64)
    if held.size:
        is_held = np.isin(y, held)
        local = {c: i for i, c in enumerate(held)}
        out["heldout"] = {
            "classes": list(heldout_classes),
            "emg_to_text_all_candidates": emg_to_text(scores[is_held], y[is_held], seed=seed),
            "emg_to_text_heldout_candidates": emg_to_text(scores[is_held][:, held],
                                                          np.array([local[c] for c in y[is_held]]), seed=seed),
            "text_to_emg_heldout": text_to_emg(scores, y, classes=held, n_episodes=n_episodes, seed=seed),
        }
        seen = ~is_held
        out["seen"] = {"emg_to_text_all_candidates": emg_to_text(scores[seen], y[seen], seed=seed)}
    return out


def result_path(folder: str | Path, dataset: str, protocol: str, model: str, seed: int) -> Path:
    return Path(folder) / f"{dataset}__{protocol}__{model}__seed{seed}.json"


def save_result(folder: str | Path, result: dict) -> Path:
    """Write one result (it carries dataset, protocol, model, seed) atomically; returns its path."""
    path = result_path(folder, result["dataset"], result["protocol"], result["model"], result["seed"])
    write_json(path, result)
    return path


def evaluate_retriever(name: str, ws: WindowSet, split: Split, prototypes: np.ndarray, seed: int = 0,
                       folder: str | Path | None = None, retriever=None, **options) -> dict:
    """Fit registry entry ``name`` (or use the fitted ``retriever``), evaluate on the test split, save the JSON."""
    if retriever is None:
        retriever = make_retriever(name, seed=seed, **options)
        retriever.fit(ws.subset(split.train), ws.subset(split.val), prototypes)
    test = ws.subset(split.test)
    S = retriever_scores(retriever, test, prototypes)
    result = {"dataset": str(ws.meta.get("dataset") or test.dataset[0]), "protocol": split.config.name,
              "model": name, "seed": int(seed), "synthetic": bool(test.is_synthetic), "class_keys": list(ws.class_keys),
              "n_test": int(len(test)), **evaluate_scores(S, test.y, list(ws.class_keys), split.heldout_classes,
                                                          seed=seed)}
    run = getattr(retriever, "run", None)
    if run is not None and getattr(run, "folder", None) is not None:
        result["run_folder"] = str(run.folder)
    if folder is not None:
        result["path"] = str(save_result(folder, result))
    return result


def results_table(results: list[dict], keys=(("emg_to_text", "R@1"), ("emg_to_text", "R@3"), ("emg_to_text", "MRR"),
                                              ("text_to_emg", "R@1"), ("text_to_emg", "R@3"),
                                              ("text_to_emg", "MRR"))) -> pd.DataFrame:
    """One row per (dataset, protocol, model, seed), columns ``direction metric`` (fractions)."""
    rows = []
    for r in results:
        row = {"dataset": r["dataset"], "protocol": r["protocol"], "model": r["model"], "seed": r["seed"]}
        for d, m in keys:
            row[f"{d} {m}"] = r[d][m]
        rows.append(row)
    return pd.DataFrame(rows)


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
        self.embeddings = _unit(np.asarray(embed(windows.X), dtype=np.float32))

    @classmethod
    def from_run(cls, run, windows: WindowSet, text_space=None, descriptions=None) -> "RetrievalIndex":
        """Index ``windows`` with a trained :class:`~myosem_core.training.Stage3Run`."""
        return cls(run.embed, windows, run.prototypes, run.class_keys, text_space, descriptions)

    def encode_text(self, sentences: list[str]) -> np.ndarray:
        if self.text_space is None:
            raise ConfigError("this index has no text encoder (pass text_space=...) so it cannot embed new sentences")
        return _unit(np.asarray(self.text_space.encode_text(list(sentences)), dtype=np.float32))

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
        z = self.embeddings[int(window)] if np.isscalar(window) else _unit(
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


def _unit(Z: np.ndarray) -> np.ndarray:
    return Z / (np.linalg.norm(Z, axis=-1, keepdims=True) + 1e-12)


#: Softmax temperatures of the prototype-mediated text -> EMG ranking, chosen on the free-text development
#: sentences (benchmarks/free_text_emg.py, issue 15): dev top-5 right 40 % with raw cosine, 84 % with these
#: (0.83-0.84 for every pair in {0.02, 0.05, 0.1} x {0.01, 0.02, 0.05}).
EMG_TEMPERATURE = 0.02
TEXT_TEMPERATURE = 0.02


def softmax_rows(S: np.ndarray, temperature: float) -> np.ndarray:
    """Row-wise softmax at ``temperature`` (the per-window posteriors of :func:`window_posteriors`)."""
    return window_posteriors(S, temperature)


def class_posterior(Z: np.ndarray, prototypes: np.ndarray, temperature: float = EMG_TEMPERATURE) -> np.ndarray:
    """(N, K) p(class | window): softmax over the prototypes of the window embeddings' cosines."""
    return softmax_rows(np.asarray(Z, np.float32) @ np.asarray(prototypes, np.float32).T, temperature).astype(np.float32)


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
    qc = softmax_rows(np.asarray(S, np.float32), TEXT_TEMPERATURE).astype(np.float32)
    return qc @ class_posterior(Z, prototypes).T


def class_centres(Z: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, D) unit-norm mean embedding per class (a row of NaN for a class without windows)."""
    out = np.full((n_classes, Z.shape[1]), np.nan, dtype=np.float64)
    for k in range(n_classes):
        if np.any(y == k):
            out[k] = Z[y == k].mean(0)
    return _unit(out)


def cosine_matrix(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Cosine similarity of every row of ``A`` with every row of ``B``."""
    return _unit(np.asarray(A, np.float64)) @ _unit(np.asarray(B, np.float64)).T


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
