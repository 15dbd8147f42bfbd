"""The ``synonym`` view of Stage 1: sentences built from a lexicon of finger names, verbs and directions.

``lexicon/<family>.yaml`` lists, for the single-finger movements, the words people
use for each finger and for each kind of movement; :func:`synonym_sentences` combines
them with a few sentence templates (imperative, first person, descriptive) into
many short sentences per class. Sentences of classes that share a finger or a
verb are hard negatives of each other in the Stage-1 contrastive loss.

Any sentence that is a near-copy of a free-text benchmark or development sentence
(:func:`myosem_core.text.benchmark.is_near_copy`) is dropped here, so the
benchmark stays a held-out test.
"""

from __future__ import annotations

import hashlib
import itertools
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from ..errors import DataError

LEXICON_DIR = Path(__file__).with_name("lexicon")

TEMPLATES = (
    "{verb} the {finger}",
    "{verb} the {finger} {direction}",
    "{verb} your {finger} {direction}",
    "i {verb} my {finger} {direction}",
    "the {finger} {phrase}",
    "my {finger} {phrase}",
    "{verb} only the {finger} {direction}",
)


@lru_cache(maxsize=4)
def _lexicon(family: str) -> dict | None:
    path = LEXICON_DIR / f"{family}.yaml"
    if not path.is_file():
        return None
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, (finger, action) in doc.get("classes", {}).items():
        if finger not in doc["fingers"] or action not in doc["actions"]:
            raise DataError(path, key, f"unknown finger {finger!r} or action {action!r}")
    return doc


def all_synonym_sentences(class_key: str) -> list[str]:
    """Every sentence the lexicon makes for ``class_key`` (empty when the class has no lexicon entry).

    A sentence the templates make for two classes ("move the thumb": abduction and flexion both move it)
    names no class and is left out.
    """
    family = class_key.split("/", 1)[0]
    lex = _lexicon(family)
    if lex is None or class_key not in lex.get("classes", {}):
        return []
    shared = _shared(family)
    return [t for t in _generate(lex, class_key) if t not in shared]


@lru_cache(maxsize=4)
def _shared(family: str) -> frozenset[str]:
    lex = _lexicon(family)
    seen: dict[str, str] = {}
    shared = set()
    for key in lex.get("classes", {}):
        for t in _generate(lex, key):
            if seen.setdefault(t, key) != key:
                shared.add(t)
    return frozenset(shared)


def _generate(lex: dict, class_key: str) -> list[str]:
    finger, action = lex["classes"][class_key]
    a = lex["actions"][action]
    out = []
    for tpl in TEMPLATES:
        keys = [k for k in ("verb", "finger", "direction", "phrase") if "{" + k + "}" in tpl]
        pools = {"verb": a["verbs"], "finger": lex["fingers"][finger], "direction": a["directions"],
                 "phrase": a["phrases"]}
        for combo in itertools.product(*(pools[k] for k in keys)):
            out.append(tpl.format(**dict(zip(keys, combo))))
    return sorted(set(out))


def synonym_sentences(class_key: str, n: int, seed: int = 0, exclude=None) -> list[str]:
    """``n`` lexicon sentences of ``class_key`` drawn without replacement (deterministic per class and seed).

    ``exclude`` is a :class:`~myosem_core.text.benchmark.NearCopyFilter`: its near-copies are skipped.
    """
    if n <= 0:
        return []
    pool = all_synonym_sentences(class_key)
    if not pool:
        return []
    h = int(hashlib.sha256(f"{class_key}|{seed}".encode()).hexdigest()[:8], 16)
    order = np.random.default_rng(h).permutation(len(pool))
    out = []
    for i in order:
        t = pool[i]
        if exclude is not None and exclude.match(t) is not None:
            continue
        out.append(t)
        if len(out) == n:
            break
    return out
