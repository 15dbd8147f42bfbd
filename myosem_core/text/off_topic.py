"""Text that names no hand movement, generated to teach an abstaining search what to refuse.

``lexicon/off_topic.yaml`` lists other body parts with verbs and directions (the same verbs people use for
fingers: what tells them apart is the body part), whole-body activities, everyday requests and chatter;
:func:`off_topic_sentences` combines them with templates and adds word salad (random words of the encoder's
vocabulary that no known description uses), invented letter strings and code-like lines. Everything is drawn
with a seeded generator, so the same call gives the same sentences. Sentences that nearly copy a guarded
benchmark sentence (``exclude``: a :class:`~myosem_core.text.benchmark.NearCopyFilter`) are dropped, so the
off-topic benchmark and its development set stay held out.

    neg = off_topic_sentences(600, exclude=near_copy_filter())   # list[str]
"""

from __future__ import annotations

import itertools
import re
import string
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from ..errors import DataError

LEXICON = Path(__file__).with_name("lexicon") / "off_topic.yaml"
#: Groups of generated negatives and their share of the total.
GROUPS = {"body": 0.4, "activity": 0.15, "request": 0.15, "chatter": 0.05, "word-salad": 0.1, "letters": 0.1,
          "code": 0.05}


@lru_cache(maxsize=1)
def _lexicon() -> dict:
    doc = yaml.safe_load(LEXICON.read_text(encoding="utf-8"))
    for section in ("body", "activities", "requests", "chatter"):
        if section not in doc:
            raise DataError(LEXICON, section, "section missing")
    return doc


def _fill(templates, pools: dict[str, list[str]]) -> list[str]:
    out = []
    for tpl in templates:
        keys = re.findall(r"{(\w+)}", tpl)
        for combo in itertools.product(*(pools[k] for k in keys)):
            out.append(tpl.format(**dict(zip(keys, combo))))
    return sorted(set(out))


@lru_cache(maxsize=1)
def _templated() -> dict[str, list[str]]:
    lex = _lexicon()
    b, a, r = lex["body"], lex["activities"], lex["requests"]
    return {
        "body": _fill(b["templates"], {"part": b["parts"], "verb": b["verbs"], "direction": b["directions"],
                                        "phrase": b["phrases"]}),
        "activity": _fill(a["templates"], {"action": a["actions"], "modifier": a["modifiers"]}),
        "request": _fill(r["asks"], {"thing": r["things"]}) + _fill(r["task_templates"], {"task": r["tasks"]}),
        "chatter": sorted(set(lex["chatter"])),
    }


def _word_salad(rng, words: list[str]) -> str:
    return " ".join(rng.choice(words, size=int(rng.integers(1, 7))))


def _letters(rng) -> str:
    return " ".join("".join(rng.choice(list(string.ascii_lowercase), size=int(rng.integers(2, 12))))
                    for _ in range(int(rng.integers(1, 5))))


def _code(rng, words: list[str]) -> str:
    a, b, c = (str(w) for w in rng.choice(words, size=3))
    n = int(rng.integers(0, 1000))
    forms = (f"{a} = {n}", f"{a}({b}, {n})", f"SELECT {a} FROM {b} WHERE {c} = {n};", f"def {a}({b}): return {c}",
             f"{a}.{b}({c})", f"<{a}>{b}</{a}>", f"{a}_{b} --{c} {n}", f'{{"{a}": "{b}", "{c}": {n}}}',
             f"import {a}", f"if ({a} > {n}) {{ {b}(); }}")
    return forms[int(rng.integers(len(forms)))]


def off_topic_sentences(n: int, seed: int = 0, exclude=None, vocabulary: list[str] | None = None,
                        known_words: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """``n`` distinct off-topic sentences, shared between :data:`GROUPS` (deterministic per ``n`` and ``seed``).

    ``vocabulary``: words for word salad and code (default: none, so those groups draw on the lexicon's own
    words); ``known_words``: words that describe known movements, never used in word salad;
    ``exclude``: a near-copy filter whose matches are skipped.
    """
    rng = np.random.default_rng(seed)
    pools = _templated()
    words = sorted({w for w in (vocabulary or _lexicon_words()) if w.isalpha() and len(w) > 2} - set(known_words))
    if not words:
        raise DataError(LEXICON, "vocabulary", "no words left for word salad")
    out: list[str] = []
    seen: set[str] = set()
    for group, share in GROUPS.items():
        want = int(round(n * share)) if group != list(GROUPS)[-1] else n - len(out)
        got, tries = 0, 0
        order = rng.permutation(len(pools[group])) if group in pools else None
        while got < want and tries < 50 * max(want, 1):
            if group in pools:
                if tries >= len(order):
                    break
                t = pools[group][order[tries]]
            elif group == "word-salad":
                t = _word_salad(rng, words)
            elif group == "letters":
                t = _letters(rng)
            else:
                t = _code(rng, words)
            tries += 1
            if t in seen or (exclude is not None and exclude.match(t) is not None):
                continue
            seen.add(t)
            out.append(t)
            got += 1
    return out


def _lexicon_words() -> list[str]:
    return sorted({w for texts in _templated().values() for t in texts for w in re.findall(r"[a-z]+", t)})


__all__ = ["GROUPS", "off_topic_sentences"]
