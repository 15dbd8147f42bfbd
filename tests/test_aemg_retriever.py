"""AEMG behind the retrieval registry: fit on training windows only, embed into the prototype space, cached."""

from __future__ import annotations

import numpy as np

from myosem_core.baselines.aemg import AEMGRetriever
from myosem_core.baselines.registry import make_retriever
from myosem_core.data import WindowConfig, make_windows
from myosem_core.data.synthetic import SyntheticConfig, generate
from myosem_core.models.aemg import AEMGModelConfig, TokenizerConfig
from myosem_core.training.aemg import AEMGConfig

TINY = AEMGConfig(preset="test", tokenizer=TokenizerConfig(vocab_size=8, segment_s=0.2, fit_segments_per_source=800),
                  model=AEMGModelConfig(d_model=8, n_layers=1, n_heads=2), devices=(), epochs=1, batch_size=32)


def _windows():
    syn = SyntheticConfig(n_subjects=2, n_repetitions=2, movement_s=1.5, rest_s=1.0, gestures=("fist", "pinch", "point"))
    return make_windows(generate(syn), WindowConfig(1.0, 0.5))


def test_aemg_retriever_embeds_into_the_prototype_space_and_reuses_its_pretraining(tmp_path):
    ws = _windows()
    train, test = ws.subset(ws.repetition == 1), ws.subset(ws.repetition == 2)
    val = ws.subset(np.zeros(len(ws), dtype=bool))
    P = np.linalg.qr(np.random.default_rng(0).normal(size=(6, ws.n_classes)))[0].T  # (K, 6) orthonormal prototypes
    r = make_retriever("aemg", seed=0, config=TINY, runs=tmp_path, head_steps=150).fit(train, val, P)
    assert isinstance(r, AEMGRetriever)
    Z = r.embed(test)
    assert Z.shape == (len(test), 6)
    np.testing.assert_allclose(np.linalg.norm(Z, axis=1), 1.0, rtol=1e-5)
    assert r.run.info["sources"][next(iter(r.run.info["sources"]))]["windows"] == len(train)  # no test window
    acc = float(np.mean((Z @ P.T).argmax(1) == test.y))
    assert acc > 1.5 / ws.n_classes  # the head learned something beyond chance on unseen repetitions
    again = AEMGRetriever(config=TINY, runs=tmp_path, head_steps=150).fit(train, val, P)
    assert again.run.folder == r.run.folder
    np.testing.assert_allclose(again.embed(test), Z, rtol=1e-4, atol=1e-5)


def test_a_fitted_head_is_read_back_for_the_same_encoder_windows_and_prototypes_only(tmp_path, monkeypatch):
    from myosem_core.baselines import aemg as aemg_module

    ws = _windows()
    train, test = ws.subset(ws.repetition == 1), ws.subset(ws.repetition == 2)
    val = ws.subset(np.zeros(len(ws), dtype=bool))
    P = np.linalg.qr(np.random.default_rng(0).normal(size=(6, ws.n_classes)))[0].T
    first = AEMGRetriever(config=TINY, runs=tmp_path, head_steps=50).fit(train, val, P)
    fits = []
    fit_head = aemg_module.fit_prototype_head
    monkeypatch.setattr(aemg_module, "fit_prototype_head", lambda *a, **k: fits.append(1) or fit_head(*a, **k))

    again = AEMGRetriever(config=TINY, runs=tmp_path, head_steps=50).fit(train, val, P)
    assert fits == []  # read back, not fitted
    np.testing.assert_array_equal(again.embed(test), first.embed(test))

    AEMGRetriever(config=TINY, runs=tmp_path, head_steps=50).fit(train, val, P[::-1].copy())
    assert fits == [1]  # other prototypes: a head of their own
    AEMGRetriever(config=TINY, runs=tmp_path, head_steps=40).fit(train, val, P)
    assert fits == [1, 1]  # other head settings: fitted again
    assert len(list(tmp_path.glob("head-aemg-*"))) == 3
