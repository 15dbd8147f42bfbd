"""Approximate top-k inner-product search over a large stored corpus (faiss), exact search kept as the reference.

Exact search (:func:`myosem_core.search.topk`) reads every stored vector for every
query: a million 384-d embeddings are 1.5 GB a query. Past :data:`ANN_THRESHOLD`
rows an index folder also gets an inverted-file index (faiss):

- **IVF-Flat** when the vectors fit :data:`MEMORY_BUDGET` (1 M x 384 floats do): the
  corpus is split into ``nlist`` k-means cells; a query scans the ``nprobe`` cells
  nearest to it, with exact inner products;
- **IVF-PQ** when they do not (10 M x 384 floats are 15 GB): each vector is kept as
  ``pq_m`` one-byte product-quantisation codes (96 bytes instead of 1536), the
  probed cells give ``rerank`` candidates by approximate score, and those candidates
  are scored exactly from the memory-mapped ``embeddings.npy`` on disk. What stays
  in memory is the codes, the ids and the cell centroids.

Both return exact inner products of the rows they return, best first, like
:func:`~myosem_core.search.topk`; what they may miss is a row exact search would
have ranked higher (recall@k against exact search, measured in
``benchmarks/bench_search.py``). ``nprobe`` and ``rerank`` can be raised per
search for more recall.

    ann = build_ann(np.load("embeddings.npy", mmap_mode="r"))
    hits = ann.search(queries, k=5)                       # TopK, like search.topk
    ann.save(folder); ann = load_ann(folder, embeddings)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .errors import ConfigError, DataError
from .io import atomic_path, read_json, write_json
from .top_k import TopK

ANN_FILE, ANN_INFO = "ann.faiss", "ann.json"
ANN_THRESHOLD = 100_000  # rows: below, exact search takes ~10 ms a query and stays the only one
MEMORY_BUDGET = 2 * 2**30  # bytes of float32 vectors an IVF-Flat index may hold; beyond, IVF-PQ
KINDS = ("ivf-flat", "ivf-pq")


@dataclass(frozen=True)
class AnnSettings:
    """How an approximate index is built and searched (defaults from :func:`ann_settings`)."""

    kind: str  # "ivf-flat" or "ivf-pq"
    nlist: int  # k-means cells
    nprobe: int  # cells scanned per query
    pq_m: int = 0  # IVF-PQ: bytes per vector (sub-quantisers of 8 bits)
    rerank: int = 0  # IVF-PQ: candidates scored exactly from the stored vectors
    train_rows: int = 0  # rows the k-means (and PQ) are trained on
    seed: int = 0


def ann_settings(n: int, dim: int, kind: str | None = None, nprobe: int | None = None,
                 rerank: int | None = None) -> AnnSettings:
    """Defaults for ``n`` rows of ``dim``: ~4 sqrt(n) cells (a power of two, at most 4096, >= 39 rows each),
    IVF-PQ with dim/8 bytes a vector when the float32 vectors exceed :data:`MEMORY_BUDGET`.

    ``nprobe``, ``rerank`` and the code size come from ``benchmarks/bench_search.py``'s development
    queries (windows of S17-S18 against real DB1 window embeddings; never its test queries): IVF-Flat at
    1 M rows reaches recall@5 0.99 there with 16 cells (0.95 with 8); at 10 M rows IVF-PQ with 48-byte
    codes levels off at 0.90 (800 candidates re-scored, the codes' ranking being the limit), with 96-byte
    codes at 0.96 from 64 cells.
    """
    if n < 1 or dim < 1:
        raise ConfigError(f"an approximate index needs rows and dimensions, got n={n}, dim={dim}")
    kind = kind or ("ivf-pq" if n * dim * 4 > MEMORY_BUDGET else "ivf-flat")
    if kind not in KINDS:
        raise ConfigError(f"unknown approximate index {kind!r}; expected one of {KINDS}")
    nlist = 1
    while nlist * 2 <= min(4096, 4 * np.sqrt(n), n // 39):
        nlist *= 2
    pq_m = 0
    if kind == "ivf-pq":
        pq_m = next((m for m in (dim // 4, dim // 2, dim) if m and dim % m == 0), dim)  # 4 dims a byte
    return AnnSettings(kind=kind, nlist=nlist, nprobe=min(nlist, nprobe or (16 if kind == "ivf-flat" else 64)),
                       pq_m=pq_m, rerank=(rerank or 800) if kind == "ivf-pq" else 0,
                       train_rows=int(min(n, max(64 * nlist, 50_000), 200_000)))


def _faiss(threads: int | None = None):
    import faiss

    if threads is not None:
        faiss.omp_set_num_threads(int(threads))
    return faiss


class AnnIndex:
    """A faiss IVF index over stored unit vectors; :meth:`search` returns exact scores of its candidates."""

    def __init__(self, index, settings: AnnSettings, vectors: np.ndarray, source: object = "<corpus>"):
        self.index, self.settings, self.vectors, self.source = index, settings, vectors, source

    @property
    def memory_bytes(self) -> int:
        """Bytes the faiss index holds in memory (codes, ids, centroids; not the memory-mapped vectors)."""
        return int(_faiss().serialize_index(self.index).nbytes)

    def search(self, queries: np.ndarray, k: int = 5, nprobe: int | None = None, rerank: int | None = None,
               threads: int | None = None) -> TopK:
        """Top-``k`` rows of every query (Q, D) or (D,) by inner product, best first (ties: lower row first)."""
        faiss = _faiss(threads)
        Q = np.ascontiguousarray(np.atleast_2d(np.asarray(queries, np.float32)))
        if Q.ndim != 2 or Q.shape[1] != self.index.d:
            raise DataError(self.source, "queries", f"expected queries of dimension {self.index.d}, got {Q.shape}")
        if not np.isfinite(Q).all():
            raise DataError(self.source, "queries", "queries contain NaN or infinite values")
        k = min(int(k), self.index.ntotal)
        params = faiss.SearchParametersIVF(nprobe=int(nprobe or self.settings.nprobe))
        if self.settings.kind == "ivf-flat":
            scores, idx = self.index.search(Q, k, params=params)
            return _ordered(scores, idx, k)
        wide = max(k, int(rerank or self.settings.rerank))
        _, cand = self.index.search(Q, wide, params=params)
        scores = np.full(cand.shape, -np.inf, np.float32)
        for q in range(len(Q)):  # exact scores of the candidates, read from the stored vectors
            ok = cand[q] >= 0
            rows = np.sort(cand[q][ok])
            scores[q, :ok.sum()] = self._rows(rows) @ Q[q]
            cand[q, :ok.sum()] = rows
            cand[q, ok.sum():] = -1
        return _ordered(scores, cand, k)

    def _rows(self, rows: np.ndarray) -> np.ndarray:
        """The stored vectors of ``rows`` (sorted): read from the ``.npy`` file when it is memory-mapped, so that
        re-scoring never maps the corpus into this process, whose resident memory then stays the index's."""
        v = self.vectors
        if not (isinstance(v, np.memmap) and v.filename and v.dtype == np.float32 and v.flags.c_contiguous):
            return np.asarray(v[rows], np.float32)
        import os

        size = v.shape[1] * 4
        fd = os.open(v.filename, os.O_RDONLY)
        try:
            blob = b"".join(os.pread(fd, size, v.offset + int(r) * size) for r in rows)
        finally:
            os.close(fd)
        return np.frombuffer(blob, np.float32).reshape(len(rows), v.shape[1])

    def save(self, folder: str | Path) -> Path:
        """``ann.faiss`` (atomically) and ``ann.json`` (its settings; written last) in ``folder``."""
        folder = Path(folder)
        faiss = _faiss()
        with atomic_path(folder / ANN_FILE, ".faiss") as tmp:
            faiss.write_index(self.index, str(tmp))
        write_json(folder / ANN_INFO, {**asdict(self.settings), "ntotal": int(self.index.ntotal),
                                       "dim": int(self.index.d), "memory_bytes": self.memory_bytes})
        return folder


def _ordered(scores: np.ndarray, idx: np.ndarray, k: int) -> TopK:
    """Each row sorted by (score desc, index asc), missing (-1) last, cut to k."""
    scores = np.where(idx < 0, -np.inf, scores).astype(np.float32)
    order = np.lexsort((np.where(idx < 0, np.iinfo(np.int64).max, idx), -scores), axis=-1)[:, :k]
    return TopK(np.take_along_axis(scores, order, 1), np.take_along_axis(idx.astype(np.int64), order, 1))


def read_rows(vectors: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Rows ``start:stop`` as a float32 array in memory; from a memory-mapped ``.npy`` they are read from the
    file, so that streaming through a corpus larger than memory never maps it into this process."""
    if isinstance(vectors, np.memmap) and vectors.filename and vectors.dtype == np.float32 and \
            vectors.flags.c_contiguous:
        stop = min(stop, len(vectors))
        dim = vectors.shape[1]
        out = np.fromfile(vectors.filename, dtype=np.float32, count=max(0, stop - start) * dim,
                          offset=vectors.offset + start * dim * 4)
        return out.reshape(-1, dim)
    return np.ascontiguousarray(np.asarray(vectors[start:stop], np.float32))


def build_ann(vectors: np.ndarray, settings: AnnSettings | None = None, chunk_rows: int = 100_000,
              threads: int | None = None, progress: bool = False, source: object = "<corpus>") -> AnnIndex:
    """Train on a seeded sample of ``vectors`` (N, D) (memory-mapped is fine) and add them chunk by chunk."""
    faiss = _faiss(threads)
    n, dim = vectors.shape
    s = settings or ann_settings(n, dim)
    factory = f"IVF{s.nlist},Flat" if s.kind == "ivf-flat" else f"IVF{s.nlist},PQ{s.pq_m}"
    index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
    index.cp.seed = s.seed
    index.cp.niter = 10
    if s.kind == "ivf-pq":
        index.pq.cp.seed = s.seed
        index.pq.cp.niter = 10
        index.do_polysemous_training = False  # only for Hamming pre-filtering, which is not used; 10-20x the training
    rows = np.sort(np.random.default_rng(s.seed).choice(n, min(n, s.train_rows), replace=False))
    train = np.concatenate([read_rows(vectors, a, a + chunk_rows)[rows[(rows >= a) & (rows < a + chunk_rows)] - a]
                            for a in range(0, n, chunk_rows)]) if isinstance(vectors, np.memmap) else \
        np.ascontiguousarray(np.asarray(vectors[rows], np.float32))
    index.train(train)
    del train
    from tqdm.auto import tqdm

    for a in tqdm(range(0, n, chunk_rows), desc=f"building {factory}", disable=not progress, leave=False):
        index.add(read_rows(vectors, a, a + chunk_rows))
    return AnnIndex(index, s, vectors, source)


def load_ann(folder: str | Path, vectors: np.ndarray) -> AnnIndex | None:
    """The approximate index saved in ``folder`` over ``vectors`` (its stored embeddings), or None if none."""
    folder = Path(folder)
    if not (folder / ANN_INFO).is_file():
        return None
    info = read_json(folder / ANN_INFO)
    index = _faiss().read_index(str(folder / ANN_FILE))
    if index.ntotal != len(vectors) or index.d != vectors.shape[1]:
        raise DataError(folder / ANN_FILE, "ntotal", f"the approximate index holds {index.ntotal} x {index.d}, the "
                        f"stored embeddings are {vectors.shape}; rebuild it with `myosem index`")
    settings = AnnSettings(**{k: info[k] for k in AnnSettings.__dataclass_fields__})
    return AnnIndex(index, settings, vectors, folder / ANN_FILE)
