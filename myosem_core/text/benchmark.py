"""Free-text benchmark: sentences typed the way people describe hand movements, as a held-out test set.

``benchmarks/free_text_ninapro.yaml`` holds, per class key, sentences grouped by
kind of phrasing (synonym, casual, direction, body-relative, use); they were
written before any tuning and no training ever sees them or a near-copy of them
(:func:`is_near_copy`, :func:`guarded_texts`; Stage 1 drops near-copies from its
views and refuses a corpus that holds one). ``benchmarks/free_text_dev.yaml`` is
a smaller development set in the same format for choosing settings.

``benchmarks/off_topic.yaml`` (test) and ``benchmarks/off_topic_dev.yaml``
(development) hold text that names no movement of the catalog (other body parts,
requests, numbers, gibberish, code, empty input, emoji, very long input, ...): what
an abstaining search must refuse (:mod:`myosem_core.text.query`). They are guarded
like the free-text sentences, for every family.

    bench = load_benchmark()                          # list[FreeText]
    report = evaluate_free_text(space, bench, ws.class_keys)
    report["all"]["R@1"], report["by_kind"]["synonym"]["MRR"]
    off = load_off_topic()                            # list[OffTopic]: raw text and kind
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import numpy as np
import yaml

from ..errors import DataError
from ..metrics import retrieval_summary, true_ranks

BENCHMARK_DIR = Path(__file__).with_name("benchmarks")
KINDS = ("synonym", "casual", "direction", "body-relative", "use")
#: A sentence's family ``ninapro`` -> the benchmark files (test set first, then development).
BENCHMARKS = {"ninapro": ("free_text_ninapro", "free_text_dev")}
#: Off-topic text (test set first, then development): guarded for every family.
OFF_TOPIC = ("off_topic", "off_topic_dev")
OFF_TOPIC_KINDS = ("body-part", "whole-body", "request", "number", "gibberish", "code", "empty", "emoji", "long",
                   "other-language", "control")
MIN_PER_CLASS = {"free_text_ninapro": 10}
#: Jaccard overlap of content words at or above which two sentences count as near-copies.
NEAR_COPY_JACCARD = 0.7

_STOP = frozenset("""a an the my your his her their its it i you he she we they me to of and or with is are be
just only so as at on in this that then while keep keeps stay stays rest others other all one own
""".split()) - {"in", "on"}


@dataclass(frozen=True)
class FreeText:
    text: str
    class_key: str
    kind: str


@dataclass(frozen=True)
class OffTopic:
    text: str  # exactly as written (whitespace, control characters and length kept)
    kind: str


def benchmark_path(name: str) -> Path:
    return BENCHMARK_DIR / f"{name}.yaml"


def load_benchmark(name: str = "free_text_ninapro") -> list[FreeText]:
    """The sentences of one benchmark file (``free_text_ninapro`` or ``free_text_dev``), validated."""
    path = benchmark_path(name)
    if not path.is_file():
        raise DataError(path, None, f"no free-text benchmark {name!r}; known: "
                        f"{sorted(p.stem for p in BENCHMARK_DIR.glob('*.yaml'))}")
    return list(_load(path, path.stat().st_mtime_ns, MIN_PER_CLASS.get(name, 1)))


@lru_cache(maxsize=8)
def _load(path: Path, _mtime: int, min_per_class: int) -> tuple[FreeText, ...]:
    from .catalog import load_catalog, normalize_text

    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("classes"), dict):
        raise DataError(path, "classes", "expected 'classes: {<class key>: {<kind>: [sentences]}}'")
    catalog = load_catalog(doc.get("family", "ninapro"))
    out, seen = [], {}
    for key, kinds in doc["classes"].items():
        if key not in catalog:
            raise DataError(path, key, "class key not in the description catalog")
        if not isinstance(kinds, dict):
            raise DataError(path, key, "expected a mapping kind -> list of sentences")
        n = 0
        for kind, texts in kinds.items():
            if kind not in KINDS:
                raise DataError(path, f"{key}.{kind}", f"unknown kind; expected one of {list(KINDS)}")
            if not isinstance(texts, list) or not all(isinstance(t, str) and t.strip() for t in texts):
                raise DataError(path, f"{key}.{kind}", "expected a list of non-empty strings")
            for t in texts:
                norm = normalize_text(t)
                if norm in seen:
                    raise DataError(path, f"{key}.{kind}", f"{t!r} repeats a sentence of {seen[norm]}")
                seen[norm] = key
                out.append(FreeText(" ".join(t.split()), str(key), str(kind)))
                n += 1
        if n < min_per_class:
            raise DataError(path, key, f"needs at least {min_per_class} sentences, has {n}")
    anchors = [(f"{k}.{name}", content_words(t)) for k, cd in catalog.items()
               for name, t in (("label", cd.label), ("canonical", cd.canonical))]
    for s in out:  # labels and canonical descriptions always train: a sentence copying one tests nothing
        w = content_words(s.text)
        hit = next((a for a, aw in anchors if w & aw and is_near_copy(w, aw)), None)
        if hit is not None:
            raise DataError(path, s.class_key, f"{s.text!r} nearly copies the catalog's {hit}, which training sees")
    return tuple(out)


def load_off_topic(name: str = "off_topic") -> list[OffTopic]:
    """The inputs of one off-topic file (``off_topic`` or ``off_topic_dev``), validated, raw text kept."""
    if name not in OFF_TOPIC:
        raise DataError(BENCHMARK_DIR / f"{name}.yaml", None, f"no off-topic benchmark {name!r}; known: {list(OFF_TOPIC)}")
    path = benchmark_path(name)
    return list(_load_off_topic(path, path.stat().st_mtime_ns))


@lru_cache(maxsize=4)
def _load_off_topic(path: Path, _mtime: int) -> tuple[OffTopic, ...]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("sentences"), dict):
        raise DataError(path, "sentences", "expected 'sentences: {<kind>: [text or {repeat: TEXT, times: N}]}'")
    out, seen = [], set()
    for kind, items in doc["sentences"].items():
        if kind not in OFF_TOPIC_KINDS:
            raise DataError(path, kind, f"unknown kind; expected one of {list(OFF_TOPIC_KINDS)}")
        if not isinstance(items, list) or not items:
            raise DataError(path, kind, "expected a non-empty list")
        for item in items:
            if isinstance(item, dict):
                if set(item) != {"repeat", "times"} or not isinstance(item["repeat"], str) \
                        or not isinstance(item["times"], int) or item["times"] < 1:
                    raise DataError(path, kind, f"{item!r}: expected {{repeat: TEXT, times: N >= 1}}")
                item = item["repeat"] * item["times"]
            if not isinstance(item, str):
                raise DataError(path, kind, f"{item!r}: expected a string (quote numbers)")
            if item in seen:
                raise DataError(path, kind, f"{item[:40]!r} appears twice")
            seen.add(item)
            out.append(OffTopic(item, str(kind)))
    return tuple(out)


# ------------------------------------------------------------------ leak guard

def content_words(text: str) -> frozenset[str]:
    """Lower-case words without stop words, a plural ``s`` stripped: what near-copy tests compare."""
    words = re.findall(r"[a-z]+", text.casefold())
    return frozenset(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
                     for w in words if w not in _STOP)


def is_near_copy(a: str | frozenset, b: str | frozenset, threshold: float = NEAR_COPY_JACCARD) -> bool:
    """True when two sentences share most of their content words (Jaccard >= threshold), or one holds all
    the content words (at least 3) of the other plus at most two more (a padded copy)."""
    wa = a if isinstance(a, frozenset) else content_words(a)
    wb = b if isinstance(b, frozenset) else content_words(b)
    if not wa or not wb:
        return False
    inter, small, large = len(wa & wb), min(len(wa), len(wb)), max(len(wa), len(wb))
    return inter / len(wa | wb) >= threshold or (small >= 3 and inter == small and large - small <= 2)


def guarded_texts(families: Iterable[str] = ("ninapro",)) -> list[str]:
    """Every benchmark and development sentence of these families, and every off-topic one: text that must
    never reach training."""
    out = []
    for fam in families:
        for name in BENCHMARKS.get(fam, ()):
            out += [s.text for s in load_benchmark(name)]
    for name in OFF_TOPIC:
        out += [s.text for s in load_off_topic(name)]
    return out


class NearCopyFilter:
    """Finds texts that are near-copies of any guarded sentence (an inverted index over content words)."""

    def __init__(self, guarded: Iterable[str]):
        self.sets = [content_words(t) for t in guarded]
        self.texts = list(guarded)
        self.by_word: dict[str, list[int]] = {}
        for i, ws in enumerate(self.sets):
            for w in ws:
                self.by_word.setdefault(w, []).append(i)

    def match(self, text: str) -> str | None:
        """The first guarded sentence ``text`` nearly copies, or None."""
        ws = content_words(text)
        cands = sorted({i for w in ws for i in self.by_word.get(w, ())})
        for i in cands:
            if is_near_copy(ws, self.sets[i]):
                return self.texts[i]
        return None


@lru_cache(maxsize=4)
def near_copy_filter(families: tuple[str, ...] = ("ninapro",)) -> NearCopyFilter:
    return NearCopyFilter(guarded_texts(families))


def family_of(class_keys: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({str(k).split("/", 1)[0] for k in class_keys}))


# ------------------------------------------------------------------ evaluation

def evaluate_free_text(space, sentences: list[FreeText], class_keys: Iterable[str] | None = None,
                       prototypes: np.ndarray | None = None, encode=None) -> dict:
    """R@1/R@3/MRR of free-text sentences against class prototypes, overall, per kind and per class.

    ``space`` is a Stage-1 :class:`~myosem_core.text.stage1.TextSpace` (its encoder
    and prototypes are used unless ``prototypes`` / ``encode`` are given).
    Candidates are ``class_keys`` (default: the space's classes); sentences of other
    classes are left out.
    """
    keys = [str(k) for k in (class_keys if class_keys is not None else space.class_keys)]
    P = np.asarray(prototypes if prototypes is not None else _prototypes_in_order(space, keys), dtype=np.float64)
    col = {k: i for i, k in enumerate(keys)}
    sel = [s for s in sentences if s.class_key in col]
    if not sel:
        raise DataError("<free-text benchmark>", "class_key", f"no sentence for any of the classes {keys[:3]}...")
    enc = encode or space.encode_text
    Q = np.asarray(enc([s.text for s in sel]), dtype=np.float64)
    S = Q @ P.T
    y = np.array([col[s.class_key] for s in sel])
    ranks = true_ranks(S, y)
    ks = tuple(k for k in (1, 3) if k <= len(keys))

    def summ(mask):
        return {**retrieval_summary(ranks[mask], ks), "n_queries": int(mask.sum()), "n_candidates": len(keys)}

    kinds = np.array([s.kind for s in sel])
    cls = np.array([s.class_key for s in sel])
    top = S.argmax(1)
    return {
        "all": summ(np.ones(len(sel), bool)),
        "by_kind": {k: summ(kinds == k) for k in KINDS if (kinds == k).any()},
        "by_class": {k: summ(cls == k) for k in keys if (cls == k).any()},
        "misses": [{"text": s.text, "class_key": s.class_key, "kind": s.kind, "top1": keys[int(t)], "rank": int(r)}
                   for s, t, r in zip(sel, top, ranks) if r > 1],
    }


def _prototypes_in_order(space, keys: list[str]) -> np.ndarray:
    pos = {k: i for i, k in enumerate(space.class_keys)}
    missing = [k for k in keys if k not in pos]
    if missing:
        raise DataError(getattr(space, "run_dir", "<text space>"), "class_keys", f"no prototype for {missing}")
    return np.asarray(space.prototypes)[[pos[k] for k in keys]]


def benchmark_sets(class_keys) -> dict[str, list[FreeText]]:
    """Free-text sentence sets for these classes: ``benchmark`` (the test set) and ``dev``; empty without one."""
    if family_of(class_keys) != ("ninapro",):
        return {}
    keys = set(class_keys)
    sets = {"benchmark": load_benchmark("free_text_ninapro"), "dev": load_benchmark("free_text_dev")}
    return {name: [x for x in sents if x.class_key in keys] for name, sents in sets.items()
            if any(x.class_key in keys for x in sents)}


def benchmark_results(sets: dict, embeddings: dict, class_keys, prototypes: np.ndarray) -> dict:
    """:func:`evaluate_free_text` of every set of :func:`benchmark_sets` from its sentences' embeddings."""
    return {name: evaluate_free_text(None, sents, list(class_keys), prototypes,
                                     encode=lambda _t, e=embeddings[name]: e)
            for name, sents in sets.items()}
