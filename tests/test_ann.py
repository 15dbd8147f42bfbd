"""Approximate search (faiss IVF) against exact search: the same rows when every cell is probed, exact scores,
high recall on clustered data, and index folders that use it past the size threshold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from myosem_core.ann import AnnSettings, ann_settings, build_ann, load_ann
from myosem_core.errors import DataError
from myosem_core.search import load_index, save_index, topk


def clustered(n: int = 12_000, dim: int = 32, centres: int = 40, seed: int = 0) -> np.ndarray:
    """Unit vectors around ``centres`` directions (as window embeddings gather around movements)."""
    rng = np.random.default_rng(seed)
    C = rng.standard_normal((centres, dim))
    X = C[rng.integers(0, centres, n)] + 0.35 * rng.standard_normal((n, dim))
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def queries(n: int = 40, seed: int = 1) -> np.ndarray:
    return clustered(n, seed=seed)


def recall(found, exact) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(b) for a, b in zip(found.indices, exact.indices)]))


def test_default_settings_follow_size_and_memory():
    small = ann_settings(12_000, 32)
    assert small.kind == "ivf-flat" and small.nlist == 256 and 12_000 / small.nlist >= 39  # ~4 sqrt(n), a power of 2
    assert ann_settings(1_000_000, 384).kind == "ivf-flat" and ann_settings(1_000_000, 384).nlist == 2048
    big = ann_settings(10_000_000, 384)
    assert big.kind == "ivf-pq" and big.pq_m == 96 and big.nlist == 4096 and big.rerank == 800 and big.nprobe == 64
    with pytest.raises(Exception, match="unknown approximate index"):
        ann_settings(1000, 8, kind="hnsw-lsh")


@pytest.mark.parametrize("kind", ["ivf-flat", "ivf-pq"])
def test_probing_every_cell_finds_exactly_what_exact_search_finds(kind):
    E, Q = clustered(), queries()
    s = ann_settings(len(E), E.shape[1], kind)
    ann = build_ann(E, s, threads=1)
    exact = topk(E, Q, 5)
    full = ann.search(Q, 5, nprobe=s.nlist, rerank=len(E), threads=1)
    np.testing.assert_array_equal(full.indices, exact.indices)
    np.testing.assert_allclose(full.scores, exact.scores, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["ivf-flat", "ivf-pq"])
def test_default_probes_keep_recall_high_and_scores_exact(kind):
    E, Q = clustered(), queries()
    ann = build_ann(E, ann_settings(len(E), E.shape[1], kind), threads=1)
    found = ann.search(Q, 5, threads=1)
    assert recall(found, topk(E, Q, 5)) >= 0.95
    for q, (rows, scores) in enumerate(zip(found.indices, found.scores)):
        np.testing.assert_allclose(scores, E[rows] @ Q[q], rtol=1e-5, atol=1e-6)  # exact inner products
        assert list(scores) == sorted(scores, reverse=True)


def test_pq_codes_take_a_fraction_of_the_vectors():
    E = clustered(20_000, 64)
    flat = build_ann(E, ann_settings(len(E), 64, "ivf-flat"), threads=1)
    pq = build_ann(E, ann_settings(len(E), 64, "ivf-pq"), threads=1)
    assert flat.memory_bytes >= E.nbytes  # the vectors themselves
    assert pq.memory_bytes < E.nbytes / 2  # 16 one-byte codes + an id per row instead of 64 floats


def test_saved_and_loaded_it_answers_the_same(tmp_path):
    E, Q = clustered(), queries()
    ann = build_ann(E, ann_settings(len(E), E.shape[1], "ivf-pq"), threads=1)
    ann.save(tmp_path)
    np.save(tmp_path / "embeddings.npy", E)
    stored = np.load(tmp_path / "embeddings.npy", mmap_mode="r")  # re-scored from the file, as an index folder does
    back = load_ann(tmp_path, stored)
    assert back.settings == ann.settings
    a, b = ann.search(Q, 5, threads=1), back.search(Q, 5, threads=1)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.scores, b.scores)
    with pytest.raises(DataError, match="rebuild it with `myosem index`"):
        load_ann(tmp_path, E[:100])
    assert load_ann(tmp_path / "none", E) is None


def test_an_index_folder_uses_it_past_the_threshold_and_exact_search_stays(tmp_path):
    E, Q = clustered(), queries()
    windows = pd.DataFrame({"window": np.arange(len(E))})
    P = clustered(6, seed=9)
    save_index(tmp_path / "small", E[:500], windows[:500], {}, prototypes=P)  # "auto": below the threshold
    small = load_index(tmp_path / "small")
    assert small.ann is None and small.info["posteriors"] and "ann" not in small.info
    save_index(tmp_path / "big", E, windows, {}, prototypes=P, ann="ivf-flat")
    idx = load_index(tmp_path / "big")
    assert idx.info["ann"] == "ivf-flat" and idx.ann is not None
    exact = idx.search(Q[0], 5, exact=True)
    assert exact["window"].tolist() == topk(E, Q[0], 5).indices[0].tolist()
    approx = idx.search(Q[0], 5)
    assert set(approx["window"]) <= set(range(len(E))) and len(approx) == 5
    # a sentence's prototype-mediated search reads the stored posteriors and ranks as the chunked transform does
    from myosem_core.retrieval import text_to_window_scores

    stored = idx.search(Q[1], 7, prototypes=P)
    s = text_to_window_scores(Q[1], E, P)[0]
    assert stored["window"].tolist() == np.lexsort((np.arange(len(E)), -s))[:7].tolist()
    other = idx.search(Q[1], 7, prototypes=clustered(6, seed=10))  # other prototypes: computed, not stored
    assert len(other) == 7


def test_settings_record_round_trips():
    s = AnnSettings("ivf-pq", 64, 8, 16, 100, 5000)
    assert AnnSettings(**s.__dict__) == s
