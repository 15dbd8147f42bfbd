"""Free text -> EMG: the prototype-mediated ranking, its chunked form for stored indexes, and the end-to-end share."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from myosem_core.retrieval import (
    EMG_TEMPERATURE,
    TEXT_TEMPERATURE,
    RetrievalIndex,
    free_text_to_emg,
    text_to_window_scores,
)
from myosem_core.search import load_index, save_index
from myosem_core.text.benchmark import FreeText


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_prototype_scores_are_class_weights_times_window_posteriors():
    rng = np.random.default_rng(0)
    P, Z, Q = _unit(rng.normal(size=(4, 8))), _unit(rng.normal(size=(50, 8))), _unit(rng.normal(size=(3, 8)))
    want = _softmax(Q @ P.T / TEXT_TEMPERATURE) @ _softmax(Z @ P.T / EMG_TEMPERATURE).T
    np.testing.assert_allclose(text_to_window_scores(Q, Z, P), want, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(text_to_window_scores(Q, Z, P, "cosine"), Q @ Z.T, rtol=1e-5, atol=1e-6)
    # a window far from every prototype but near the sentence wins by cosine, not by prototype score
    P2 = np.eye(3)[:2]
    Z2 = np.array([[0.0, 0.0, 1.0], _unit(np.array([1.0, 0.1, 0.0]))])
    q = _unit(np.array([[0.3, 0.0, 1.0]]))
    assert text_to_window_scores(q, Z2, P2, "cosine").argmax() == 0
    assert text_to_window_scores(q, Z2, P2).argmax() == 1
    with pytest.raises(Exception, match="unknown text search mode"):
        text_to_window_scores(q, Z2, P2, "nearest")


def test_stored_index_chunked_search_matches_in_memory_prototype_ranking(tmp_path):
    rng = np.random.default_rng(1)
    P, Z = _unit(rng.normal(size=(5, 16))).astype(np.float32), _unit(rng.normal(size=(300, 16))).astype(np.float32)
    q = _unit(rng.normal(size=16)).astype(np.float32)
    save_index(tmp_path / "idx", Z, pd.DataFrame({"window": np.arange(300)}), {"dataset": "toy"})
    idx = load_index(tmp_path / "idx")
    hits = idx.search(q, k=7, chunk_rows=64, prototypes=P)
    s = text_to_window_scores(q, Z, P)[0]
    want = np.lexsort((np.arange(300), -s))[:7]
    assert hits["window"].tolist() == want.tolist()
    np.testing.assert_allclose(hits["score"].to_numpy(), s[want], rtol=1e-4, atol=1e-6)


def test_free_text_to_emg_counts_right_windows_in_the_top_k():
    keys = ("ninapro/A/1", "ninapro/A/2")
    y = np.array([0] * 6 + [1] * 6)
    X = np.zeros((12, 5, 2), np.float32)
    X[:, 0, 0] = y
    X[[4, 5], 0, 0] = 1  # two windows of class 1 look like class 2 to the model
    windows = SimpleNamespace(X=X, y=y, labels=np.array([keys[i] for i in y]), subject=np.array(["S1"] * 12),
                              repetition=np.ones(12, int), fs=100.0, channel_names=["a", "b"])
    embed = lambda X: np.eye(2, dtype=np.float32)[X[:, 0, 0].astype(int)]  # noqa: E731
    text = SimpleNamespace(encode_text=lambda t: np.array([[1.0, 0.0] if "bend" in s else [0.0, 1.0] for s in t]))
    index = RetrievalIndex(embed, windows, np.eye(2, dtype=np.float32), keys, text)
    sents = [FreeText("bend it", keys[0], "casual"), FreeText("lift it", keys[1], "direction")]
    r = free_text_to_emg(index, sents, k=5)
    # "bend": windows 0-3 look like class 1, then the exact ties in index order: window 4 (class 1 too) -> 5 of 5;
    # "lift": windows 4-11 tie, in index order 4, 5 (class 1: wrong) then 6, 7, 8 (right) -> 3 of 5
    assert r["by_kind"] == {"casual": pytest.approx(1.0), "direction": pytest.approx(0.6)}
    assert r["top5_right"] == pytest.approx(0.8) and r["top1_right"] == pytest.approx(0.5)
    assert index.search_text("bend it", k=4).hits["class_key"].tolist() == [keys[0]] * 4


def test_a_query_encoder_decides_which_classes_a_sentence_names():
    """With a text space that has a query encoder, free text reaches the windows through its class scores,
    not through the sentence embedding's cosines to the prototypes."""
    keys = ("ninapro/A/1", "ninapro/A/2")
    y = np.array([0] * 4 + [1] * 4)
    X = np.zeros((8, 5, 2), np.float32)
    X[:, 0, 0] = y
    windows = SimpleNamespace(X=X, y=y, labels=np.array([keys[i] for i in y]), subject=np.array(["S1"] * 8),
                              repetition=np.ones(8, int), fs=100.0, channel_names=["a", "b"])
    embed = lambda X: np.eye(2, dtype=np.float32)[X[:, 0, 0].astype(int)]  # noqa: E731
    # the aligned encoder puts every sentence on class 1's prototype; the query encoder knows "lift" is class 2
    text = SimpleNamespace(encode_text=lambda t: np.array([[1.0, 0.0]] * len(t)), query_encoder=object(),
                           class_scores=lambda t, ks: np.array([[0.0, 1.0] if "lift" in s else [1.0, 0.0] for s in t])
                           [:, [keys.index(k) for k in ks]])
    index = RetrievalIndex(embed, windows, np.eye(2, dtype=np.float32), keys, text)
    assert index.search_text("lift it", k=4).hits["class_key"].tolist() == [keys[1]] * 4
    assert index.search_text("bend it", k=4).hits["class_key"].tolist() == [keys[0]] * 4
    plain = RetrievalIndex(embed, windows, np.eye(2, dtype=np.float32), keys,
                           SimpleNamespace(encode_text=text.encode_text))
    assert plain.search_text("lift it", k=4).hits["class_key"].tolist() == [keys[0]] * 4
