"""Stage 1: loss and prototype maths, no held-out text in training, frozen reusable text space."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from myosem_core.data import load_windows, make_split
from myosem_core.data.synthetic import SyntheticConfig
from myosem_core.errors import DataError
from myosem_core.io import read_json
from myosem_core.presets import make_config
from myosem_core.text import stage1 as s1
from myosem_core.text.catalog import descriptions_for, normalize_text
from myosem_core.text.evaluate import (
    class_prototypes,
    paraphrase_retrieval,
    view_consistency,
    view_embeddings,
)
from myosem_core.text.loss import multi_positive_nce, stage1_loss
from myosem_core.text.views import (
    ClassViews,
    all_texts,
    build_views,
    training_corpus,
    validation_views,
)
from myosem_core.presets import preset_section


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


# ------------------------------------------------------------------ maths

def test_multi_positive_nce_matches_hand_computation():
    a = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [0.1, 1.0]]), dim=1)
    b = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [0.9, 0.3], [0.0, 1.0]]), dim=1)
    ya, yb, t = torch.tensor([0, 1]), torch.tensor([0, 0, 1]), 0.5
    logp = torch.log_softmax(a @ b.T / t, dim=1)
    want = (-(logp[0, 0] + logp[0, 1]) / 2 - logp[1, 2]) / 2
    assert torch.allclose(multi_positive_nce(a, b, ya, yb, t), want)
    # within one set an anchor is never its own positive; a lone member has no positive
    e = torch.nn.functional.normalize(torch.randn(3, 4), dim=1)
    y = torch.tensor([0, 0, 1])
    logits = (e @ e.T / t).masked_fill(torch.eye(3, dtype=torch.bool), float("-inf"))
    lp = torch.log_softmax(logits, dim=1)
    assert torch.allclose(multi_positive_nce(e, e, y, y, t, same_set=True), -(lp[0, 1] + lp[1, 0]) / 2)


def test_stage1_loss_prefers_separated_classes_and_drops_missing_views():
    torch.manual_seed(0)
    centers = torch.nn.functional.normalize(torch.randn(3, 16), dim=1)
    views = ["label", "process", "canonical", "paraphrase", "paraphrase"] * 3
    y = torch.arange(3).repeat_interleave(5)
    good = torch.nn.functional.normalize(centers[y] + 0.05 * torch.randn(15, 16), dim=1)
    bad = torch.nn.functional.normalize(torch.randn(15, 16), dim=1)
    lg, parts = stage1_loss(good, y, views, 0.1)
    lb, _ = stage1_loss(bad, y, views, 0.1)
    assert lg < lb and set(parts) == {"process_canonical", "label", "paraphrase"}
    no_proc = [i for i, v in enumerate(views) if v != "process"]
    _, parts = stage1_loss(good[no_proc], y[no_proc], [views[i] for i in no_proc], 0.1)
    assert "process_canonical" not in parts and "label" in parts


def test_prototype_is_normalised_mean_of_view_means():
    rng = np.random.default_rng(0)
    emb = _unit(rng.normal(size=(9, 5)))
    cls = np.array([1, 1, 1, 1, 1, 0, 0, 0, 0])
    view = np.array(["label", "process", "canonical", "paraphrase", "paraphrase",
                     "label", "canonical", "paraphrase", "paraphrase"])
    P = class_prototypes(emb, cls, view, 2)
    para1 = _unit(emb[3] + emb[4])  # a multi-text view is first averaged and normalised
    want1 = _unit((emb[0] + emb[1] + emb[2] + para1) / 4)
    want0 = _unit((emb[5] + emb[6] + _unit(emb[7] + emb[8])) / 3)  # class 0 has no process view
    np.testing.assert_allclose(P[1], want1, atol=1e-6)
    np.testing.assert_allclose(P[0], want0, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(P, axis=1), 1.0, atol=1e-6)
    assert P.dtype == np.float32
    # rows follow class indices: relabelling classes permutes the rows
    P_swapped = class_prototypes(emb, 1 - cls, view, 2)
    np.testing.assert_allclose(P_swapped, P[::-1], atol=1e-6)


def test_retrieval_and_consistency_on_hand_made_embeddings():
    protos = np.eye(3, dtype=np.float32)
    q = np.array([[1, 0, 0], [0.2, 0.9, 0], [0.8, 0, 0.6], [0, 0.1, 0.9]], dtype=np.float32)
    r = paraphrase_retrieval(q, np.array([0, 1, 2, 2]), protos, ["a/b/1", "a/b/2", "a/b/3"], heldout_classes=["a/b/3"])
    assert r["all"]["R@1"] == 0.75 and r["all"]["MRR"] == pytest.approx((1 + 1 + 0.5 + 1) / 4)
    assert r["heldout"]["R@1"] == 0.5 and r["seen"]["R@1"] == 1.0
    assert r["heldout_only_candidates"]["R@1"] == 1.0 and r["heldout_only_candidates"]["n_candidates"] == 1
    ve = np.stack([np.eye(3)] * 2, axis=1)  # every view of class k is e_k: perfectly consistent
    c = view_consistency(ve, ("label", "canonical"))
    assert c["same_class_mean"] == pytest.approx(1.0) and c["other_class_mean"] == pytest.approx(0.0)
    ve = view_embeddings(np.eye(3), np.array([0, 0, 1]), np.array(["label", "canonical", "label"]), 2, ("label", "canonical"))
    assert np.isnan(ve[1, 1]).all() and not np.isnan(ve[0]).any()


# ------------------------------------------------------------------ corpus and leaks

@pytest.fixture(scope="module")
def tiny():
    cfg = make_config("quick", "synthetic", synthetic=SyntheticConfig(n_subjects=2, n_repetitions=10, movement_s=2.0,
                                                                      rest_s=1.0))
    ws = load_windows("synthetic", None, cache_dir=None, progress=False, **cfg.data.load_options())
    return cfg, ws


def test_training_corpus_never_holds_heldout_text(tiny):
    _, ws = tiny
    split = make_split(ws, "class")
    views = build_views(ws, split)
    held = set(split.heldout_classes)
    assert held and all(v.process is None for v in views if v.key in held)  # no training pose for them
    assert all(v.process for v in views if v.key not in held)
    corpus = training_corpus(views, split.heldout_classes)
    assert {views[c].key for c in corpus.class_index}.isdisjoint(held)
    seen = {normalize_text(t) for t in corpus.texts}
    for d in descriptions_for(ws.class_keys):
        assert seen.isdisjoint(normalize_text(t) for t in d.heldout_paraphrases)
        if d.key in held:
            assert seen.isdisjoint(normalize_text(t) for t in [d.label, d.canonical, *d.paraphrases])
    # the guard itself refuses a contaminated corpus
    bad = training_corpus(views, [])
    with pytest.raises(DataError, match="must not reach training"):
        s1._check_no_leak(bad, views, split.heldout_classes)
    val = validation_views(views, 1)
    assert all(v.heldout_paraphrases == [w.paraphrases[-1]] for v, w in zip(val, views))


def test_stage1_folder_ignores_the_emg_but_not_the_texts_or_settings(tiny, tmp_path):
    """Stage 1 never reads the EMG: windows with rescaled EMG (per-subject calibration) share one text space;
    another seed, another setting or another text does not."""
    from dataclasses import replace

    from myosem_core.data.calibration import calibrate_subjects

    cfg, ws = tiny
    split = make_split(ws, "rand")
    settings = replace(preset_section("quick", "stage1"), seed=cfg.seed)

    def folder(w, st=settings, views=None):
        return s1.stage1_folder(w, split, st, views or build_views(w, split, st.process), tmp_path)

    plain = folder(ws)
    calibrated = calibrate_subjects(ws, None)
    assert not np.allclose(calibrated.X, ws.X)  # the EMG did change
    assert folder(calibrated) == plain
    assert folder(ws, replace(settings, seed=settings.seed + 1)) != plain
    assert folder(ws, replace(settings, epochs=settings.epochs + 1)) != plain
    views = build_views(ws, split, settings.process)
    views[0] = replace(views[0], canonical=views[0].canonical + " slowly")
    assert folder(ws, views=views) != plain


def test_stage1_trains_without_heldout_text_then_loads_frozen(tiny, tmp_path, monkeypatch):
    cfg, ws = tiny
    split = make_split(ws, "class")
    seen_in_training: list[str] = []
    real_fit, real_tokenize = s1.fine_tune, s1.SentenceEncoder.tokenize

    def spy_fit(encoder, corpus, scfg, progress=True):
        def spy_tokenize(self, texts):
            seen_in_training.extend(texts)
            return real_tokenize(self, texts)
        monkeypatch.setattr(s1.SentenceEncoder, "tokenize", spy_tokenize)
        try:
            return real_fit(encoder, corpus, scfg, progress)
        finally:
            monkeypatch.setattr(s1.SentenceEncoder, "tokenize", real_tokenize)

    monkeypatch.setattr(s1, "fine_tune", spy_fit)
    small = s1.Stage1Config(train_layers=1, epochs=2)
    space = s1.load_or_train_stage1(ws, split, small, tmp_path, progress=False)

    held = set(split.heldout_classes)
    forbidden = {normalize_text(t) for v in space.views for t in v.heldout_paraphrases}
    forbidden |= {normalize_text(t) for v in space.views if v.key in held for _, t in v.trainable_pairs()}
    assert seen_in_training and not forbidden & {normalize_text(t) for t in seen_in_training}
    # held-out classes are encoded afterwards as candidates
    assert space.class_keys == ws.class_keys and space.prototypes.shape == (12, 384)
    np.testing.assert_allclose(np.linalg.norm(space.prototypes, axis=1), 1.0, atol=1e-5)
    res = read_json(space.run_dir / "results.json")
    assert res["n_training_classes"] == 8 and set(res["heldout_classes"]) == held
    assert {"seen", "heldout", "heldout_only_candidates"} <= set(res["after"]["retrieval"])
    assert len(res["history"]) == 2 and all(np.isfinite(h["loss"]) for h in res["history"])

    # prototypes are recomputable from the saved embeddings with the documented maths
    emb = space.embeddings()
    sel = emb["view"] != "heldout"
    np.testing.assert_allclose(class_prototypes(emb["after"][sel], emb["class_index"][sel], emb["view"][sel], 12),
                               space.prototypes, atol=1e-6)
    # free text maps into the same space, deterministically
    a = space.encode_text(["curl the index finger", "wrist flexion"])
    np.testing.assert_array_equal(a, space.encode_text(["curl the index finger", "wrist flexion"]))
    np.testing.assert_allclose(space.encode_text([space.views[0].label])[0],
                               emb["after"][(emb["class_index"] == 0) & (emb["view"] == "label")][0], atol=1e-5)

    # second call: read from the run folder, not retrained; same numbers; frozen
    monkeypatch.setattr(s1, "fine_tune", lambda *a, **k: pytest.fail("Stage 1 retrained although its run folder exists"))
    again = s1.load_or_train_stage1(ws, split, small, tmp_path, progress=False)
    assert again.run_dir == space.run_dir
    np.testing.assert_array_equal(again.prototypes, space.prototypes)
    np.testing.assert_allclose(again.encode_text(["curl the index finger"]), a[:1], atol=1e-6)
    assert not any(p.requires_grad for p in again.encoder.parameters())
    assert again.views == space.views and isinstance(again.views[0], ClassViews)
    texts = all_texts(space.views)
    assert len(texts) == len(emb["text"])


def test_query_encoder_scores_free_text_apart_from_the_aligned_space(tiny, tmp_path, monkeypatch):
    """With query_epochs > 0 a second encoder is fine-tuned (with the lexicon where one exists) for free text;
    the prototypes Stage 3 aligns to and encode_text stay those of the aligned encoder."""
    cfg, ws = tiny
    split = make_split(ws, "rand")
    calls = []
    real_fit = s1.fine_tune

    def spy_fit(encoder, corpus, scfg, progress=True, **kw):
        calls.append((scfg.epochs, scfg.lr, set(corpus.view.tolist())))
        return real_fit(encoder, corpus, scfg, progress, **kw)

    monkeypatch.setattr(s1, "fine_tune", spy_fit)
    small = s1.Stage1Config(train_layers=1, epochs=2, lr=1e-4, query_epochs=3, query_lr=1e-3, query_synonyms=5)
    space = s1.load_or_train_stage1(ws, split, small, tmp_path, progress=False)
    assert [c[:2] for c in calls] == [(2, 1e-4), (3, 1e-3)]  # aligned encoder, then the query encoder
    assert "synonym" not in calls[0][2]  # the aligned space never trains on lexicon sentences
    assert space.query_encoder is not None and (space.query_dir / s1.QUERY_TOP).is_file()
    assert space.query_dir != space.run_dir  # a run of its own: the prototypes alone never train it
    res = read_json(space.query_dir / "results.json")
    assert len(res["query_history"]) == 3 and res["free_text"]["encoder"] == "query"
    assert space.results["free_text"]["encoder"] == "query"
    prototypes_only = s1.load_or_train_stage1(ws, split, small, tmp_path, progress=False, query=False)
    assert prototypes_only.run_dir == space.run_dir and prototypes_only.query_encoder is None

    texts = ["curl the index finger", "open the whole hand"]
    aligned = space.encode_text(texts) @ space.prototypes.T
    S = space.scores(texts)
    assert S.shape == (2, len(ws.class_keys)) and not np.allclose(S, aligned)  # the query encoder scores free text
    np.testing.assert_allclose(S, space.query_encoder.encode(texts) @ space.query_prototypes.T, atol=1e-6)
    order = list(reversed(space.class_keys))
    np.testing.assert_allclose(space.class_scores(texts, order), S[:, ::-1], atol=1e-6)
    with pytest.raises(DataError, match="not in this text space"):
        space.class_scores(texts, ["ninapro/A/99"])

    monkeypatch.setattr(s1, "fine_tune", lambda *a, **k: pytest.fail("Stage 1 retrained although its run folder exists"))
    again = s1.load_or_train_stage1(ws, split, small, tmp_path, progress=False)
    np.testing.assert_allclose(again.scores(texts), S, atol=1e-5)
    np.testing.assert_allclose(again.encode_text(texts), space.encode_text(texts), atol=1e-6)
    (space.query_dir / s1.QUERY_TOP).unlink()
    with pytest.raises(DataError, match="query encoder file missing"):
        s1.load_stage1(space.run_dir, query_folder=space.query_dir)
