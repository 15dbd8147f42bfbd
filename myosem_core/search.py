"""Exact top-k search over a large stored corpus of embeddings, chunk by chunk.

    hits = topk(corpus, queries, k=5)          # corpus (N, D), e.g. np.load("embeddings.npy", mmap_mode="r")
    hits.indices, hits.scores                   # (Q, k) each, best first

The corpus is read ``chunk_rows`` rows at a time: one float32 matrix product
per chunk gives the chunk's scores, the chunk's k best are merged into a
running top-k. Only one chunk of scores (Q x chunk_rows) exists at a time, so a
million stored 128-d embeddings (512 MB as float32, memory-mapped from a
``.npy``) are searched without ever holding an N-long score matrix per query.
The result is exact: the same rows, in the same order, as sorting every score
(ties broken by the lower row index, like ``np.argsort(-s, kind="stable")``).

An *index folder* (written by ``myosem index``) stores a corpus beside what is
known about each row:

- ``embeddings.npy``: (N, D) float32 unit vectors;
- ``windows.csv``: one row per embedding (class key, class name, subject, ...);
- ``index.json``: where the embeddings came from (runs, dataset, protocol, split);
- ``prototypes.npy`` + ``posteriors.npy`` (when saved with the model's prototypes):
  every window's class posterior (N, K), so a sentence's prototype-mediated search
  reads K numbers a window instead of D and a softmax;
- ``ann.faiss`` + ``ann.json`` past :data:`~myosem_core.ann.ANN_THRESHOLD` rows: an
  approximate (faiss IVF) index of the embeddings for window-to-window search
  (:mod:`myosem_core.ann`); ``exact=True`` searches without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .io import atomic_path, read_json, write_json
from .threads import limit_threads
from .top_k import TopK

DEFAULT_CHUNK_ROWS = 65_536




def _chunk_topk(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best columns of each row of ``s`` (Q, c), ordered by (score desc, column asc)."""
    q, c = s.shape
    if np.isnan(s).any():  # a NaN row in the corpus ranks last instead of breaking the partition
        s = np.where(np.isnan(s), -np.inf, s).astype(np.float32)
    if k >= c:
        cols = np.broadcast_to(np.arange(c), (q, c))
        order = np.lexsort((cols, -s), axis=-1)
        return np.take_along_axis(s, order, -1), order.astype(np.int64)
    kth = np.partition(s, c - k, axis=1)[:, c - k:c - k + 1]  # k-th largest per row
    rows, cols = np.nonzero(s >= kth)  # >= k entries per row (more when the k-th value is tied)
    vals = s[rows, cols]
    order = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[order], cols[order], vals[order]
    take = (np.searchsorted(rows, np.arange(q))[:, None] + np.arange(k)[None]).ravel()
    return vals[take].reshape(q, k), cols[take].reshape(q, k).astype(np.int64)


def _merge(a: TopK, s: np.ndarray, i: np.ndarray, k: int) -> TopK:
    scores, idx = np.concatenate([a.scores, s], 1), np.concatenate([a.indices, i], 1)
    order = np.lexsort((idx, -scores), axis=-1)[:, :k]
    return TopK(np.take_along_axis(scores, order, -1), np.take_along_axis(idx, order, -1))


def _merge_above(a: TopK, s: np.ndarray, offset: int, k: int) -> TopK:
    """Merge the entries of chunk ``s`` that beat each row's current k-th score (ties lose: their index is higher)."""
    rows, cols = np.nonzero(s > a.scores[:, -1:])
    if rows.size == 0:
        return a
    q = len(s)
    all_rows = np.concatenate([np.repeat(np.arange(q), k), rows])
    all_idx = np.concatenate([a.indices.ravel(), cols.astype(np.int64) + offset])
    all_vals = np.concatenate([a.scores.ravel(), s[rows, cols]])
    order = np.lexsort((all_idx, -all_vals, all_rows))
    all_rows, all_idx, all_vals = all_rows[order], all_idx[order], all_vals[order]
    take = (np.searchsorted(all_rows, np.arange(q))[:, None] + np.arange(k)[None]).ravel()
    return TopK(all_vals[take].reshape(q, k), all_idx[take].reshape(q, k))


def topk(corpus: np.ndarray, queries: np.ndarray, k: int = 5, chunk_rows: int = DEFAULT_CHUNK_ROWS,
         source: object = "<corpus>", threads: int | None = None, transform=None) -> TopK:
    """Exact inner-product top-k of every query (Q, D) or (D,) over ``corpus`` (N, D), in row chunks.

    ``threads`` limits the BLAS threads of the products (None: leave numpy's setting). ``transform``
    maps each chunk of rows (c, D) to (c, D') before the product (queries are then (Q, D')), e.g. window
    embeddings to class posteriors for the prototype-mediated text search.
    """
    if corpus.ndim != 2:
        raise DataError(source, "embeddings", f"expected a 2-d (N, D) array, got shape {corpus.shape}")
    Q = np.asarray(queries, dtype=np.float32)
    Q = Q[None] if Q.ndim == 1 else Q
    dim = corpus.shape[1] if transform is None else transform(np.asarray(corpus[:1], dtype=np.float32)).shape[1]
    if Q.ndim != 2 or Q.shape[1] != dim:
        raise DataError(source, "queries", f"expected queries of dimension {dim}, got shape {Q.shape}")
    if not np.isfinite(Q).all():
        raise DataError(source, "queries", "queries contain NaN or infinite values")
    if k < 1 or chunk_rows < 1:
        raise DataError(source, "k", f"k and chunk_rows must be positive, got k={k}, chunk_rows={chunk_rows}")
    n = corpus.shape[0]
    k = min(k, n)
    best = TopK(np.empty((len(Q), 0), np.float32), np.empty((len(Q), 0), np.int64))
    with limit_threads(threads, torch=False, native="blas", rescan=False):  # one library scan, not one per query
        for start in range(0, n, chunk_rows):
            block = np.asarray(corpus[start:start + chunk_rows], dtype=np.float32)  # a view of a float32 memmap
            if transform is not None:
                block = np.asarray(transform(block), dtype=np.float32)
            s = Q @ block.T
            if best.indices.shape[1] < k:  # still filling the first k per row
                cs, ci = _chunk_topk(s, k)
                best = _merge(best, cs, ci + start, k)
            else:  # only entries above the current k-th score can enter
                best = _merge_above(best, s, start, k)
    return best


def brute_force_topk(corpus: np.ndarray, queries: np.ndarray, k: int = 5) -> TopK:
    """Reference: every score in float64, full stable sort (small corpora only)."""
    Q = np.atleast_2d(np.asarray(queries, np.float64))
    S = Q @ np.asarray(corpus, np.float64).T
    order = np.argsort(-S, axis=1, kind="stable")[:, :k]
    return TopK(np.take_along_axis(S, order, 1), order)


# ------------------------------------------------------------------ index folders

INDEX_FILES = ("embeddings.npy", "windows.csv", "index.json")


def save_index(folder: str | Path, embeddings: np.ndarray, windows: pd.DataFrame, info: dict,
               prototypes: np.ndarray | None = None, ann: str | None = "auto", progress: bool = False) -> Path:
    """Write an index folder atomically file by file (``index.json`` last: it marks the index complete).

    ``prototypes`` (K, D): also store every window's class posterior for sentence search. ``ann``: "auto"
    builds an approximate index past :data:`~myosem_core.ann.ANN_THRESHOLD` rows, "ivf-flat" / "ivf-pq"
    always, None never.
    """
    folder = Path(folder)
    E = np.asarray(embeddings, dtype=np.float32)
    if E.ndim != 2 or len(E) != len(windows):
        raise DataError(folder, "embeddings", f"expected ({len(windows)}, D) embeddings, got shape {E.shape}")
    (folder / "index.json").unlink(missing_ok=True)  # the folder is incomplete until index.json is back
    with atomic_path(folder / "embeddings.npy", suffix=".npy") as tmp:
        np.save(tmp, E)
    with atomic_path(folder / "windows.csv") as tmp:
        windows.to_csv(tmp, index=False)
    for name in ("prototypes.npy", "posteriors.npy", "ann.json", "ann.faiss"):  # what an earlier index left
        (folder / name).unlink(missing_ok=True)
    extra = {}
    if prototypes is not None:
        from .retrieval import EMG_TEMPERATURE, class_posterior

        P = np.asarray(prototypes, np.float32)
        T = info.get("emg_temperature") or EMG_TEMPERATURE  # the temperature sentence search will ask for
        with atomic_path(folder / "posteriors.npy", suffix=".npy") as tmp:
            np.save(tmp, np.concatenate([class_posterior(E[a:a + DEFAULT_CHUNK_ROWS], P, T)
                                         for a in range(0, len(E), DEFAULT_CHUNK_ROWS)]).astype(np.float32))
        with atomic_path(folder / "prototypes.npy", suffix=".npy") as tmp:
            np.save(tmp, P)
        extra.update(posteriors=True, posteriors_temperature=T)
    if ann is not None and (ann != "auto" or len(E) >= _ann().ANN_THRESHOLD):
        m = _ann()
        settings = m.ann_settings(len(E), E.shape[1], None if ann == "auto" else ann)
        index = m.build_ann(np.load(folder / "embeddings.npy", mmap_mode="r"), settings, progress=progress,
                            source=folder / "embeddings.npy")
        index.save(folder)
        extra["ann"] = settings.kind
    write_json(folder / "index.json", {**info, "n": int(E.shape[0]), "dim": int(E.shape[1]), **extra})
    return folder


def _ann():
    from . import ann

    return ann


@dataclass
class StoredIndex:
    folder: Path
    embeddings: np.ndarray  # (N, D) memory-mapped float32
    windows: pd.DataFrame
    info: dict
    posteriors: np.ndarray | None = None  # (N, K) memory-mapped class posteriors, with the prototypes they used
    prototypes: np.ndarray | None = None
    ann: object = None  # myosem_core.ann.AnnIndex over the embeddings, past the size threshold

    def search(self, queries: np.ndarray | None, k: int = 5, chunk_rows: int = DEFAULT_CHUNK_ROWS,
               prototypes: np.ndarray | None = None, class_scores: np.ndarray | None = None,
               class_probabilities: np.ndarray | None = None, text_temperature: float | None = None,
               emg_temperature: float | None = None, exact: bool = False) -> pd.DataFrame:
        """Top-k rows for one query vector, with their stored metadata (rank, score, then the windows.csv columns).

        With ``prototypes`` (K, D) the query is a sentence ranked by the prototype-mediated score of
        :func:`myosem_core.retrieval.text_to_window_scores`: its class probabilities
        ``class_probabilities`` (1, K) when given (a :class:`~myosem_core.text.query.QueryReading`'s), else a
        softmax at ``text_temperature`` of ``class_scores`` (the query encoder's class cosines) or of
        ``queries @ prototypes.T``; windows' class probabilities are a softmax at ``emg_temperature`` (default: the
        index's fitted ``emg_temperature`` in ``index.json``, else the ranking default), read from the stored
        posteriors when they were computed with these prototypes at this temperature, else chunk by chunk from
        the embeddings; exact either way. Without, by inner product with the embeddings: through the
        approximate index when there is one (``exact=True``: never).
        """
        transform, corpus = None, self.embeddings
        if prototypes is not None:
            from .retrieval import EMG_TEMPERATURE, TEXT_TEMPERATURE, class_posterior
            from .scoring import window_posteriors

            P = np.asarray(prototypes, np.float32)
            if class_probabilities is None:
                S = (np.atleast_2d(np.asarray(queries, np.float32)) @ P.T if class_scores is None
                     else np.atleast_2d(np.asarray(class_scores, np.float32)))
                class_probabilities = window_posteriors(S, text_temperature or TEXT_TEMPERATURE)
            queries = np.atleast_2d(np.asarray(class_probabilities, np.float32))
            T = emg_temperature or self.info.get("emg_temperature") or EMG_TEMPERATURE
            if self.posteriors is not None and self.prototypes is not None and np.array_equal(self.prototypes, P) \
                    and self.info.get("posteriors_temperature") == T:
                corpus = self.posteriors
            else:
                transform = lambda block: class_posterior(block, P, T)  # noqa: E731
        if prototypes is None and self.ann is not None and not exact:
            hits = self.ann.search(queries, k)
        else:
            hits = topk(corpus, queries, k, chunk_rows, source=self.folder / "embeddings.npy", transform=transform)
        rows = self.windows.iloc[hits.indices[0]].reset_index(drop=True)
        return pd.concat([pd.DataFrame({"rank": np.arange(1, len(rows) + 1), "score": hits.scores[0]}), rows], axis=1)


def load_index(folder: str | Path) -> StoredIndex:
    """Open an index folder, the embeddings memory-mapped (nothing is read until searched)."""
    folder = Path(folder)
    for name in INDEX_FILES:
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name}: index file missing; build the index with `myosem index`")
    info = read_json(folder / "index.json")
    try:
        E = np.load(folder / "embeddings.npy", mmap_mode="r")
    except ValueError as exc:
        raise DataError(folder / "embeddings.npy", None, f"not a readable .npy array ({exc})") from exc
    windows = pd.read_csv(folder / "windows.csv", dtype={"subject": str})
    if E.ndim != 2 or len(E) != len(windows) or E.shape[1] != info.get("dim"):
        raise DataError(folder / "embeddings.npy", "shape", f"expected ({len(windows)}, {info.get('dim')}) "
                        f"to match windows.csv and index.json, got {E.shape}")
    posteriors = prototypes = None
    if info.get("posteriors"):
        posteriors = np.load(folder / "posteriors.npy", mmap_mode="r")
        prototypes = np.load(folder / "prototypes.npy")
        if len(posteriors) != len(E) or posteriors.shape[1] != len(prototypes):
            raise DataError(folder / "posteriors.npy", "shape", f"expected ({len(E)}, {len(prototypes)}) posteriors, "
                            f"got {posteriors.shape}; rebuild the index with `myosem index`")
    ann = _ann().load_ann(folder, E) if info.get("ann") else None
    return StoredIndex(folder, E, windows, info, posteriors, prototypes, ann)
