"""Chunked top-k search is exact: same rows, same order, same scores as sorting every score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from myosem_core.errors import DataError
from myosem_core.search import brute_force_topk, load_index, save_index, topk


@pytest.mark.parametrize("chunk_rows", [1, 3, 64, 999, 1000, 5000])
@pytest.mark.parametrize("k", [1, 5, 37])
def test_exact_against_brute_force_on_random_unit_vectors(chunk_rows, k):
    rng = np.random.default_rng(0)
    corpus = rng.standard_normal((1000, 16)).astype(np.float32)
    corpus /= np.linalg.norm(corpus, axis=1, keepdims=True)
    queries = rng.standard_normal((4, 16)).astype(np.float32)
    got, ref = topk(corpus, queries, k, chunk_rows), brute_force_topk(corpus, queries, k + 1)
    np.testing.assert_allclose(got.scores, ref.scores[:, :k], atol=1e-5)
    # rows must agree wherever a reference score is not within float32 rounding of its neighbours
    s = np.concatenate([ref.scores[:, :1] + 1, ref.scores], 1)
    clear = (s[:, :-2] - s[:, 1:-1] > 1e-5) & (s[:, 1:-1] - s[:, 2:] > 1e-5)
    assert clear.mean() > 0.9
    assert np.array_equal(got.indices[clear], ref.indices[:, :k][clear])


@pytest.mark.parametrize("chunk_rows", [1, 2, 7, 50, 400])
def test_ties_are_broken_by_lower_row_like_a_stable_sort(chunk_rows):
    """Integer vectors make many exact ties; the order must equal np.argsort(-s, kind='stable')."""
    rng = np.random.default_rng(1)
    corpus = rng.integers(-2, 3, (400, 4)).astype(np.float32)
    queries = rng.integers(-2, 3, (6, 4)).astype(np.float32)
    for k in (1, 10, 399, 400, 1000):
        got = topk(corpus, queries, k, chunk_rows)
        ref = np.argsort(-(queries @ corpus.T), axis=1, kind="stable")[:, :k]
        assert np.array_equal(got.indices, ref), (chunk_rows, k)
        assert got.indices.shape == (6, min(k, 400))


def test_single_query_vector_and_memory_mapped_corpus(tmp_path):
    rng = np.random.default_rng(2)
    corpus = rng.standard_normal((3000, 8)).astype(np.float32)
    np.save(tmp_path / "c.npy", corpus)
    mm = np.load(tmp_path / "c.npy", mmap_mode="r")
    got = topk(mm, corpus[17], 3, chunk_rows=256)
    assert got.indices.shape == (1, 3)
    ref = brute_force_topk(corpus, corpus[17], 3)
    assert np.array_equal(got.indices, ref.indices)


def test_nan_rows_never_outrank_numbers():
    corpus = np.eye(4, dtype=np.float32)
    corpus[1] = np.nan
    got = topk(corpus, np.array([0.0, 1.0, 0.5, 0.0], np.float32), 2, chunk_rows=2)
    assert got.indices[0].tolist() == [2, 0]


def test_bad_inputs_raise_data_errors():
    corpus = np.zeros((10, 4), np.float32)
    with pytest.raises(DataError, match="dimension 4"):
        topk(corpus, np.zeros(5, np.float32), 1)
    with pytest.raises(DataError, match="NaN"):
        topk(corpus, np.full(4, np.nan, np.float32), 1)
    with pytest.raises(DataError, match="2-d"):
        topk(np.zeros(4, np.float32), np.zeros(4, np.float32), 1)
    with pytest.raises(DataError, match="positive"):
        topk(corpus, np.zeros(4, np.float32), 0)


def test_index_folder_round_trip_and_search(tmp_path):
    rng = np.random.default_rng(3)
    E = rng.standard_normal((50, 8)).astype(np.float32)
    windows = pd.DataFrame({"window": np.arange(50), "class_key": [f"c/{i % 5}" for i in range(50)],
                            "subject": ["S1"] * 50})
    save_index(tmp_path / "idx", E, windows, {"dataset": "synthetic"})
    index = load_index(tmp_path / "idx")
    assert isinstance(index.embeddings, np.memmap)
    hits = index.search(E[7], k=3)
    assert hits["window"].iloc[0] == 7 and hits["rank"].tolist() == [1, 2, 3]
    assert hits["subject"].iloc[0] == "S1"


def test_index_with_mismatched_files_is_a_data_error(tmp_path):
    E = np.zeros((5, 3), np.float32)
    save_index(tmp_path / "idx", E, pd.DataFrame({"window": range(5)}), {})
    np.save(tmp_path / "idx" / "embeddings.npy", np.zeros((4, 3), np.float32))
    with pytest.raises(DataError, match="shape"):
        load_index(tmp_path / "idx")
    with pytest.raises(FileNotFoundError, match="myosem index"):
        load_index(tmp_path / "missing")
