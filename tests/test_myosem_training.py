"""A tiny Stage-2 + Stage-3 run on made-up windows: losses fall, seeds repeat, runs are cached, the index searches."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from myosem_core.baselines.myosem import MyoSemRetriever
from myosem_core.data.protocols import make_split
from myosem_core.data.windows import WindowSet
from myosem_core.evaluation.retrieval_results import evaluate_retriever
from myosem_core.models.activation_encoder import EncoderConfig
from myosem_core.models.semantic_queries import QueryHeadConfig
from myosem_core.retrieval import RetrievalIndex
from myosem_core.training import (
    Stage2Config,
    Stage3Config,
    load_or_train_stage2,
    load_or_train_stage3,
    train_stage2,
    train_stage3,
)

K, C, L = 4, 4, 20
NAMES = ["alpha", "bravo", "charlie", "delta"]
S2 = Stage2Config(encoder=EncoderConfig(d_model=16, n_layers=1, n_heads=2, code_dim=8, codebook_size=8,
                                        descriptor_hidden=8, dropout=0.0),
                  patch_s=0.05, max_epochs=6, patience=6, batch_size=32, lr=5e-3)
S3 = Stage3Config(head=QueryHeadConfig(n_queries=2, n_heads=2, dropout=0.0), phase1_epochs=4, phase2_epochs=2, phase1_lr=1e-2,
                  patience=6, batch_size=32, temperature=0.1)


def tiny_windows(n_per_class: int = 30, seed: int = 0) -> WindowSet:
    """RMS-like windows: class k drives channel k, with noise; 3 'subjects', 10 repetitions."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(K), n_per_class)
    X = np.abs(rng.normal(0.2, 0.1, (len(y), L, C)))
    X[np.arange(len(y)), :, y] += 1.0 + 0.3 * rng.random((len(y), 1)).squeeze(-1)[:, None]
    rep = np.tile(np.arange(1, 11), len(y) // 10 + 1)[:len(y)]
    return WindowSet(X=X.astype(np.float32), y=y, class_keys=tuple(f"tiny/T/{k + 1}" for k in range(K)),
                     subject=np.array([f"S{i % 3 + 1}" for i in range(len(y))]), repetition=rep,
                     dataset=np.full(len(y), "synthetic"), start=np.zeros(len(y), int), recording=np.zeros(len(y), int),
                     fs=100.0, signal_kind="rms", channel_names=tuple(f"ch{i}" for i in range(C)),
                     meta={"dataset": "synthetic"})


def prototypes(dim: int = 8, seed: int = 0) -> np.ndarray:
    P = np.random.default_rng(seed).normal(size=(K, dim))
    return (P / np.linalg.norm(P, axis=1, keepdims=True)).astype(np.float32)


class KeywordTextSpace:
    """A stand-in Stage-1 text space: a sentence naming a class maps to its prototype."""

    def __init__(self, P):
        self.class_keys = tuple(f"tiny/T/{k + 1}" for k in range(K))
        self.prototypes = P

    def encode_text(self, texts):
        out = []
        for t in texts:
            hits = [k for k, n in enumerate(NAMES) if n in t.lower()]
            out.append(self.prototypes[hits[0]] if hits else np.ones(self.prototypes.shape[1]) / 8 ** 0.5)
        return np.stack(out)


@pytest.fixture(scope="module")
def data():
    ws = tiny_windows()
    return ws, make_split(ws, "rand")


def test_training_reduces_loss_and_is_deterministic(data):
    ws, split = data
    tr, va = ws.subset(split.train), ws.subset(split.val)
    a = train_stage2(tr, va, S2, seed=3, progress=False)
    b = train_stage2(tr, va, S2, seed=3, progress=False)
    assert a.curves[-1]["train_total"] < a.curves[0]["train_total"]
    assert a.curves[-1]["train_ce"] < 0.5 * a.curves[0]["train_ce"]
    assert [r["train_total"] for r in a.curves] == [r["train_total"] for r in b.curves]
    assert all(torch.equal(p, q) for p, q in zip(a.model.state_dict().values(), b.model.state_dict().values()))
    P = prototypes()
    s3a = train_stage3(tr, va, a, P, S3, seed=3, progress=False)
    s3b = train_stage3(tr, va, b, P, S3, seed=3, progress=False)
    assert s3a.curves[-1]["train_nce"] < s3a.curves[0]["train_nce"]
    assert {r["phase"] for r in s3a.curves} == {"head", "finetune"}
    test = ws.subset(split.test)
    Za, Zb = s3a.embed(test.X), s3b.embed(test.X)
    assert np.array_equal(Za, Zb)
    assert np.allclose(np.linalg.norm(Za, axis=1), 1, atol=1e-5)
    r1 = np.mean((Za @ P.T).argmax(1) == test.y)
    assert r1 > 0.9  # channel k <-> class k is easy; chance is 0.25
    assert s3a.attention(test.X[:3]).shape == (3, 2, 4)
    # phase 1 leaves the encoder untouched
    enc_before = a.model.state_dict()
    s3_head_only = train_stage3(tr, va, a, P, replace(S3, phase2_epochs=0), seed=3, progress=False)
    assert all(torch.equal(enc_before[k], v) for k, v in s3_head_only.model.encoder.state_dict().items())


def test_cached_runs_and_results(tmp_path, data):
    ws, split = data
    P = prototypes()
    tr, va = ws.subset(split.train), ws.subset(split.val)
    s2 = load_or_train_stage2(tr, va, S2, 0, tmp_path, progress=False)
    s3 = load_or_train_stage3(tr, va, s2, P, S3, 0, tmp_path, progress=False)
    for name in ("stage2.pt", "curves.json", "normalizer.json", "results.json", "config.json"):
        assert (s2.folder / name).is_file()
    again = load_or_train_stage3(tr, va, load_or_train_stage2(tr, va, S2, 0, tmp_path), P, S3, 0, tmp_path,
                                 progress=False)
    assert again.folder == s3.folder and again.config == S3
    assert np.array_equal(again.embed(ws.X[:5]), s3.embed(ws.X[:5]))
    other = load_or_train_stage3(tr, va, s2, prototypes(seed=1), S3, 0, tmp_path, progress=False)
    assert other.folder != s3.folder  # new prototypes, new run
    res = evaluate_retriever("myosem", ws, split, P, seed=0, folder=tmp_path / "res",
                             retriever=MyoSemRetriever.from_run(s3))
    assert (tmp_path / "res" / "synthetic__rand__myosem__seed0.json").is_file()
    assert res["emg_to_text"]["R@1"] > 0.9 and res["text_to_emg"]["n_episodes"] == 100
    lda = evaluate_retriever("lda", ws, split, P, seed=0, folder=tmp_path / "res")
    assert lda["emg_to_text"]["R@1"] > 0.9


def test_retrieval_index(data):
    ws, split = data
    tr, va, te = ws.subset(split.train), ws.subset(split.val), ws.subset(split.test)
    P = prototypes()
    s3 = train_stage3(tr, va, train_stage2(tr, va, S2, seed=0, progress=False), P, S3, seed=0, progress=False)
    index = RetrievalIndex.from_run(s3, te, KeywordTextSpace(P), descriptions={"tiny/T/3": "the charlie gesture"})
    res = index.search_text("show me charlie, please", k=5)
    top = res.hits
    assert res.known and list(top.columns[:3]) == ["rank", "window", "probability"]
    assert (top["class_key"] == "tiny/T/3").all()
    assert top["probability"].is_monotonic_decreasing
    i = int(np.flatnonzero(te.y == 1)[0])
    ranked = index.search_emg(i, k=K)
    assert ranked["class_key"].iloc[0] == "tiny/T/2" and len(ranked) == K
    assert ranked.loc[ranked["class_key"] == "tiny/T/3", "description"].item() == "the charlie gesture"
    assert index.search_emg(te.X[i], k=1)["class_key"].item() == "tiny/T/2"  # a raw window works too
    free = index.search_emg(i, k=2, sentences=["delta move", "bravo move", "alpha move"])
    assert free["description"].iloc[0] == "bravo move"


def test_log_normalizer_turns_gains_into_offsets_and_round_trips():
    from myosem_core.training.normalization import InputNormalizer

    rng = np.random.default_rng(0)
    X = np.exp(rng.normal(-2, 1, (50, 20, 3))).astype(np.float32)  # envelope-like, median ~0.14
    norm = InputNormalizer.fit(X, log=True)
    assert norm.eps == pytest.approx(np.quantile(X, 0.1), rel=1e-5)
    big = X + 1.0  # well above the floor: a x5 gain must become one constant shift per channel
    d = norm.transform(5 * big) - norm.transform(big)
    assert np.allclose(d, d[0, 0], atol=0.05)
    again = InputNormalizer.from_dict(norm.to_dict())
    assert np.array_equal(again.transform(X), norm.transform(X))
    plain = InputNormalizer.fit(X, log=False)
    assert plain.eps is None and np.allclose(plain.transform(X).reshape(-1, 3).mean(0), 0, atol=1e-4)


def test_augmentation_is_seeded_and_off_by_default():
    from myosem_core.training.augment import AugmentConfig, augment

    x = torch.zeros(4, 5, 3)
    assert augment(x, AugmentConfig()) is x
    torch.manual_seed(0)
    a = augment(x, AugmentConfig(channel_offset=1.0))
    torch.manual_seed(0)
    b = augment(x, AugmentConfig(channel_offset=1.0))
    assert torch.equal(a, b)
    assert torch.allclose(a, a[:, :1].expand_as(a))  # one offset per window and channel, constant over time
    assert a.std() > 0.3
