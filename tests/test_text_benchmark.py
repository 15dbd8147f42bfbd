"""Free-text and off-topic benchmarks: data checks, the leak guard (no benchmark sentence nor a near-copy reaches
Stage-1 training or the query reader's detector), the lexicon view and the metrics."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from myosem_core.errors import DataError
from myosem_core.text import stage1 as s1
from myosem_core.text.benchmark import (
    KINDS,
    OFF_TOPIC_KINDS,
    _load,
    _load_off_topic,
    content_words,
    evaluate_free_text,
    family_of,
    guarded_texts,
    is_near_copy,
    load_benchmark,
    load_off_topic,
    near_copy_filter,
)
from myosem_core.text.catalog import load_catalog, normalize_text
from myosem_core.text.lexicon import all_synonym_sentences, synonym_sentences
from myosem_core.text.views import TextCorpus, build_views, training_corpus
from myosem_core.presets import preset_section

DB1 = tuple(f"ninapro/A/{i}" for i in range(1, 13))


def _fake_ws(keys):
    return SimpleNamespace(class_keys=tuple(keys), pose=None, pose_kind="none")


def test_benchmark_covers_every_ninapro_class_with_all_kinds():
    bench = load_benchmark()
    catalog = load_catalog("ninapro")
    per = {k: [s for s in bench if s.class_key == k] for k in catalog}
    assert all(len(v) >= 10 for v in per.values()), {k: len(v) for k, v in per.items() if len(v) < 10}
    assert all(len(per[k]) >= 12 and {s.kind for s in per[k]} == set(KINDS) for k in DB1)
    dev = load_benchmark("free_text_dev")
    assert {s.class_key for s in dev} == set(DB1)
    # development and test sentences are different sentences
    assert not {normalize_text(s.text) for s in dev} & {normalize_text(s.text) for s in bench}


def test_benchmark_file_errors_name_the_field(tmp_path):
    p = tmp_path / "b.yaml"
    p.write_text("family: ninapro\nclasses:\n  ninapro/A/1:\n    slang: [curl it]\n")
    with pytest.raises(DataError, match="unknown kind"):
        _load(p, 0, 1)
    p.write_text("family: ninapro\nclasses:\n  ninapro/Z/1:\n    casual: [curl it]\n")
    with pytest.raises(DataError, match="not in the description catalog"):
        _load(p, 1, 1)
    p.write_text("family: ninapro\nclasses:\n  ninapro/A/1:\n    casual: [curl it]\n  ninapro/A/2:\n    use: [Curl it.]\n")
    with pytest.raises(DataError, match="repeats"):
        _load(p, 2, 1)
    p.write_text("family: ninapro\nclasses:\n  ninapro/A/1:\n    casual: [curl it]\n")
    with pytest.raises(DataError, match="at least 10"):
        _load(p, 3, 10)


def test_near_copy_rule():
    assert content_words("The fingers bend, and I curl my thumb") == {"finger", "bend", "curl", "thumb"}
    assert is_near_copy("move the index finger down toward the palm", "Curl your index finger down toward the palm.")
    assert is_near_copy("raise my ring finger", "Straighten the ring finger and raise it.")
    assert is_near_copy("bend the pointer finger", "please bend the pointer finger")
    assert not is_near_copy("bend the pointer finger", "straighten the pointer finger")
    assert not is_near_copy("The ring finger bends at all its joints.", "bend the ring finger backward")


@pytest.mark.parametrize("preset", ["quick", "full"])
def test_no_benchmark_sentence_nor_near_copy_reaches_stage1_training(preset):
    cfg = preset_section(preset, "stage1")
    keys = list(load_catalog("ninapro"))  # every NinaPro class, DB1 exercise 1 included
    for synonyms in sorted({cfg.synonyms, cfg.query_synonyms, 400}):  # aligned space, query encoder, more
        views = build_views(_fake_ws(keys), None, cfg.process, synonyms)
        corpus = training_corpus(views)
        s1._check_no_leak(corpus, views, [])  # the guard train_stage1 runs passes ...
        guarded = guarded_texts()
        assert len(guarded) >= 12 * 12 + 49 * 10
        words = [content_words(g) for g in guarded]
        for t in corpus.texts:  # ... and, checked here without the guard's index, nothing is a near-copy
            w = content_words(t)
            assert not any(is_near_copy(w, g) for g in words if w & g), t
        if synonyms:
            assert sum(len(v.synonyms) for v in views) >= 12 * min(synonyms, 100)
    # the catalog paraphrases that nearly copy a benchmark sentence were dropped from the views
    cat = load_catalog("ninapro")["ninapro/A/1"]
    view = build_views(_fake_ws(["ninapro/A/1"]), None, cfg.process, 0)[0]
    dropped = [p for p in cat.paraphrases if p not in view.paraphrases]
    assert "Curl your index finger down toward the palm." in dropped


def test_leak_guard_refuses_benchmark_sentences_and_near_copies():
    views = build_views(_fake_ws(DB1), None, s1.Stage1Config().process, 0)
    base = training_corpus(views)
    sentence = next(s for s in load_benchmark() if s.class_key == "ninapro/A/2")
    for text in (sentence.text, sentence.text.upper() + ".", "please " + sentence.text + " now"):
        bad = TextCorpus(base.texts + [text], np.append(base.class_index, 1), np.append(base.view, "paraphrase"))
        with pytest.raises(DataError, match="benchmark sentence"):
            s1._check_no_leak(bad, views, [])
    dev = load_benchmark("free_text_dev")[0].text
    bad = TextCorpus(base.texts + [dev], np.append(base.class_index, 0), np.append(base.view, "synonym"))
    with pytest.raises(DataError, match="benchmark sentence"):
        s1._check_no_leak(bad, views, [])
    # the off-topic benchmark and its development set are guarded the same way
    for name in ("off_topic", "off_topic_dev"):
        off = next(s.text for s in load_off_topic(name) if s.kind == "body-part" and len(content_words(s.text)) >= 3)
        for text in (off, off.capitalize() + "!", "please " + off + " now"):
            bad = TextCorpus(base.texts + [text], np.append(base.class_index, 0), np.append(base.view, "paraphrase"))
            with pytest.raises(DataError, match="benchmark sentence"):
                s1._check_no_leak(bad, views, [])


def test_off_topic_benchmark_has_every_kind_and_a_separate_development_set():
    test, dev = load_off_topic(), load_off_topic("off_topic_dev")
    assert len(test) >= 100 and len(dev) >= 50
    for items in (test, dev):
        assert {s.kind for s in items} == set(OFF_TOPIC_KINDS)
    assert not {s.text for s in test} & {s.text for s in dev}
    assert not any(is_near_copy(a.text, b.text) for a in test for b in dev if content_words(a.text))
    texts = [s.text for s in test]
    assert "" in texts and " " in texts and "\x00\x01" in texts  # raw text kept: empty, a space, controls
    assert "x" * 20000 in texts  # {repeat: x, times: 20000}
    assert "👍 ✊ 🤙" in texts and "DROP TABLE windows;" in texts
    # no off-topic sentence names a movement: none nearly copies a catalog or lexicon text of any class
    words = [content_words(t) for fam in ("ninapro", "emg2pose", "synthetic") for k, cd in load_catalog(fam).items()
             for t in (cd.label, cd.canonical, *cd.paraphrases, *all_synonym_sentences(k))]
    for s in test + dev:
        w = content_words(s.text)
        assert not any(is_near_copy(w, c) for c in words if w & c), s.text


def test_off_topic_file_errors_name_the_field(tmp_path):
    p = tmp_path / "o.yaml"
    p.write_text("sentences:\n  weather: [it rains]\n")
    with pytest.raises(DataError, match="unknown kind"):
        _load_off_topic(p, 0)
    p.write_text("sentences:\n  long:\n    - {repeat: x, times: 0}\n")
    with pytest.raises(DataError, match="repeat"):
        _load_off_topic(p, 1)
    p.write_text("sentences:\n  number: [42]\n")
    with pytest.raises(DataError, match="quote numbers"):
        _load_off_topic(p, 2)
    p.write_text("sentences:\n  request: [tell me a joke]\n  gibberish: [tell me a joke]\n")
    with pytest.raises(DataError, match="twice"):
        _load_off_topic(p, 3)
    with pytest.raises(DataError, match="no off-topic benchmark"):
        load_off_topic("off_topic_extra")


@pytest.mark.parametrize("keys", [DB1, tuple(load_catalog("synthetic"))])
def test_no_benchmark_sentence_nor_near_copy_trains_the_query_reader(keys):
    """The detector's corpus (catalog and lexicon descriptions, generated off-topic text) holds no sentence of
    the four benchmark files nor a near-copy, checked here without the guard's index; its development texts
    are development sentences only."""
    from myosem_core.text.query import reader_data

    data = reader_data(keys, vocabulary=["apple", "river", "window", "seventeen", "orbit", "pencil"])
    guarded = [content_words(g) for g in guarded_texts(family_of(keys))]  # the family's benchmarks + off-topic
    assert len(data.negatives) >= 1000 and len(data.positives) >= 50
    for t in data.positives + data.negatives:
        w = content_words(t)
        assert not any(is_near_copy(w, g) for g in guarded if w & g), t
    test_sentences = {s.text for s in load_benchmark()} | {s.text for s in load_off_topic()}
    assert not test_sentences & set(data.dev_known + data.dev_off_topic + data.positives + data.negatives)


def test_lexicon_sentences_are_deterministic_and_name_one_class():
    owner = {}
    for k in DB1:
        for t in all_synonym_sentences(k):
            assert owner.setdefault(t, k) == k, f"{t!r} generated for {owner[t]} and {k}"
    assert all_synonym_sentences("ninapro/B/1") == []
    a = synonym_sentences("ninapro/A/1", 30, exclude=near_copy_filter())
    assert a == synonym_sentences("ninapro/A/1", 30, exclude=near_copy_filter()) and len(set(a)) == 30
    assert a != synonym_sentences("ninapro/A/1", 30, seed=1, exclude=near_copy_filter())


def test_evaluate_free_text_metrics_overall_and_per_kind():
    sents = [s for s in load_benchmark() if s.class_key in DB1[:2]]
    P = np.eye(3, dtype=np.float32)[:2]  # two unit prototypes in 3-d
    rows = []
    for s in sents:  # the synonyms of class 1 are ranked wrong, every other sentence right
        right = DB1.index(s.class_key)
        rows.append(np.eye(3)[1 - right] if (s.class_key == DB1[0] and s.kind == "synonym") else np.eye(3)[right])
    r = evaluate_free_text(None, sents, DB1[:2], P, encode=lambda _t: np.stack(rows))
    n_wrong = sum(s.class_key == DB1[0] and s.kind == "synonym" for s in sents)
    assert r["all"]["n_queries"] == len(sents) and r["all"]["n_candidates"] == 2
    assert r["all"]["R@1"] == pytest.approx(1 - n_wrong / len(sents))
    assert r["all"]["MRR"] == pytest.approx(1 - n_wrong / len(sents) / 2)
    syn = r["by_kind"]["synonym"]
    assert syn["R@1"] == pytest.approx(0.5) and r["by_kind"]["casual"]["R@1"] == 1.0
    assert r["by_class"][DB1[1]]["R@1"] == 1.0 and len(r["misses"]) == n_wrong
