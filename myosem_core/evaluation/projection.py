"""2-D UMAP of embeddings with neighbours from scikit-learn (umap-learn's own search is slow to compile).

numba's compiled kernels are cached in ``$NUMBA_CACHE_DIR`` (default ``<repo>/.numba_cache``, as the
Makefile sets it).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from ..paths import repo_root


def umap_2d(X: np.ndarray, n_neighbors: int = 15, seed: int = 0, metric: str = "cosine") -> np.ndarray:
    """UMAP coordinates (N, 2) of ``X`` (N, D); neighbours computed exactly by scikit-learn, passed as precomputed_knn."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(repo_root() / ".numba_cache"))
    import umap
    from sklearn.neighbors import NearestNeighbors

    X = np.asarray(X, dtype=np.float32)
    k = min(n_neighbors, len(X) - 1)
    dist, idx = NearestNeighbors(n_neighbors=k, metric=metric).fit(X).kneighbors(X)
    reducer = umap.UMAP(n_neighbors=k, metric=metric, random_state=seed, precomputed_knn=(idx, dist), n_jobs=1)
    with warnings.catch_warnings():  # "no NNDescent index, transform unavailable": we never transform new data
        warnings.filterwarnings("ignore", message=".*knn_search_index.*")
        return reducer.fit_transform(X)
