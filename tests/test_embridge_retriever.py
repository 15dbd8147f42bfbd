"""CPEP / EMBridge behind the retrieval registry: fit on windows, embed into the text-prototype space, cached."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from test_embridge_training import TINY_ALIGN, TINY_MAE, tiny_windows

from myosem_core.baselines.embridge import PoseAnchoredRetriever
from myosem_core.presets import preset_section

TINY = replace(preset_section("quick", "embridge"), emg=TINY_MAE, pose=TINY_MAE, align=TINY_ALIGN)


def _prototypes(K=4, D=6, seed=0):
    P = np.random.default_rng(seed).normal(size=(K, D))
    return P / np.linalg.norm(P, axis=1, keepdims=True)


def test_retriever_embeds_unit_rows_in_the_prototype_space_and_reuses_its_training(tmp_path):
    ws = tiny_windows(n=120)
    train, test = ws.subset(np.arange(0, 96)), ws.subset(np.arange(96, 120))
    P = _prototypes()
    r = PoseAnchoredRetriever("EMBridge", config=TINY, runs=tmp_path).fit(train, None, P)
    Z = r.embed(test)
    assert Z.shape == (24, 6) and np.allclose(np.linalg.norm(Z, axis=1), 1.0, atol=1e-5)
    # the text head learns: training windows score their own class's prototype highest more often than chance
    acc = np.mean((r.embed(train) @ P.T).argmax(1) == train.y)
    assert acc > 0.5
    again = PoseAnchoredRetriever("EMBridge", config=TINY, runs=tmp_path).fit(train, None, P)
    assert again.run.folder == r.run.folder
    assert np.allclose(again.embed(test), Z, atol=1e-6)


def test_prototypes_of_classes_absent_from_training_never_enter_the_head_loss(tmp_path):
    ws = tiny_windows(n=120)
    seen = ws.subset(np.flatnonzero(ws.y < 3))  # class 3 held out, as under the class protocol
    P = _prototypes()
    P2 = P.copy()
    P2[3] = -P2[3]  # move only the held-out prototype
    a = PoseAnchoredRetriever("CPEP", config=TINY, runs=tmp_path).fit(seen, None, P)
    b = PoseAnchoredRetriever("CPEP", config=TINY, runs=tmp_path).fit(seen, None, P2)
    assert np.allclose(a.embed(ws), b.embed(ws), atol=1e-6)
    P3 = P.copy()
    P3[0] = -P3[0]  # moving a training class's prototype does change the head
    c = PoseAnchoredRetriever("CPEP", config=TINY, runs=tmp_path).fit(seen, None, P3)
    assert not np.allclose(a.embed(ws), c.embed(ws), atol=1e-3)


def test_registry_names_cpep_and_embridge():
    from myosem_core.baselines.registry import RETRIEVERS, make_retriever

    assert "cpep" in RETRIEVERS and "embridge" in RETRIEVERS
    r = make_retriever("embridge", seed=3, preset="quick")
    assert isinstance(r, PoseAnchoredRetriever) and r.model == "EMBridge" and r.seed == 3
    assert make_retriever("cpep", preset="quick").model == "CPEP"
