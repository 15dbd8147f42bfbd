"""The four text views of every class, assembled for one dataset and split.

``label``, ``canonical`` and ``paraphrases`` come from the description catalogs
(:mod:`myosem_core.text.catalog`); ``process`` is derived from the training
split's pose stream (:mod:`myosem_core.text.process`). The catalog's held-out
paraphrases ride along for evaluation only: :meth:`ClassViews.trainable_pairs`
never returns them, and classes held out by the ``class`` protocol contribute no
text to training at all (:func:`training_corpus`). An optional fifth view,
``synonym``, holds sentences generated from a lexicon of finger and movement words
(:mod:`myosem_core.text.lexicon`). Catalog paraphrases and generated sentences that
are near-copies of a free-text benchmark sentence (:mod:`myosem_core.text.benchmark`)
are dropped here, so no view ever holds one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

import numpy as np

from ..data.protocols import Split
from ..data.windows import WindowSet
from ..errors import DataError
from .benchmark import family_of, near_copy_filter
from .catalog import descriptions_for
from .lexicon import synonym_sentences
from .process import ProcessConfig, process_descriptions

#: The catalog and pose views, in the order prototypes average them.
VIEWS = ("label", "process", "canonical", "paraphrase")
#: Every view a class may have (``synonym``: generated from the lexicon, optional).
ALL_VIEWS = VIEWS + ("synonym",)


@dataclass
class ClassViews:
    """All text of one class; ``process`` is None where no training pose data exists."""

    key: str
    label: str
    process: str | None
    canonical: str
    paraphrases: list[str]
    heldout_paraphrases: list[str] = field(default_factory=list)
    synonyms: list[str] = field(default_factory=list)

    def view_texts(self) -> dict[str, list[str]]:
        """View name -> its texts (held-out paraphrases excluded; views without text left out)."""
        out = {"label": [self.label], "process": [self.process] if self.process else [],
               "canonical": [self.canonical], "paraphrase": list(self.paraphrases),
               "synonym": list(self.synonyms)}
        return {v: t for v, t in out.items() if t}

    def trainable_pairs(self) -> list[tuple[str, str]]:
        """(view, text) pairs that training may see: never the held-out paraphrases."""
        return [(v, t) for v, texts in self.view_texts().items() for t in texts]


@dataclass
class TextCorpus:
    """Flat list of texts with their class index and view name."""

    texts: list[str]
    class_index: np.ndarray  # (n,) int64 into the class keys
    view: np.ndarray  # (n,) str

    def __len__(self) -> int:
        return len(self.texts)


def build_views(ws: WindowSet, split: Split | None = None, process: ProcessConfig = ProcessConfig(),
                synonyms: int = 0) -> list[ClassViews]:
    """Views of every class of ``ws`` (in ``ws.class_keys`` order).

    The process view is derived from the pose of the split's training windows
    (all windows when ``split`` is None); without a pose stream it is absent.
    ``synonyms`` lexicon sentences per class form the ``synonym`` view (classes
    without a lexicon entry get none). Paraphrases and synonyms that nearly copy
    a free-text benchmark sentence are left out.
    """
    desc = descriptions_for(ws.class_keys)
    proc: dict[str, str] = {}
    if ws.pose is not None and ws.pose_kind != "none":
        idx = np.arange(len(ws)) if split is None else split.train
        proc = process_descriptions(ws, idx, process)
    guard = near_copy_filter(family_of(ws.class_keys))
    out = []
    for d in desc:
        for name, text in (("label", d.label), ("canonical", d.canonical)):
            hit = guard.match(text)
            if hit is not None:
                raise DataError("<description catalog>", f"{d.key}.{name}",
                                f"{text!r} nearly copies the free-text benchmark sentence {hit!r}")
        paras = [p for p in d.paraphrases if guard.match(p) is None]
        syn = synonym_sentences(d.key, synonyms, exclude=guard)
        out.append(ClassViews(d.key, d.label, proc.get(d.key), d.canonical, paras, list(d.heldout_paraphrases), syn))
    return out


def training_corpus(views: list[ClassViews], heldout_classes: list[str] | tuple[str, ...] = ()) -> TextCorpus:
    """Every text Stage-1 training may see: seen classes only, held-out paraphrases never."""
    held = set(heldout_classes)
    texts, cls, view = [], [], []
    for i, cv in enumerate(views):
        if cv.key in held:
            continue
        for v, t in cv.trainable_pairs():
            texts.append(t)
            cls.append(i)
            view.append(v)
    return TextCorpus(texts, np.asarray(cls, dtype=np.int64), np.asarray(view, dtype=str))


def all_texts(views: list[ClassViews], include_heldout_paraphrases: bool = True) -> TextCorpus:
    """Every text of every class (for encoding after training and for plots); held-out paraphrases as view ``heldout``."""
    texts, cls, view = [], [], []
    for i, cv in enumerate(views):
        pairs = cv.trainable_pairs()
        if include_heldout_paraphrases:
            pairs += [("heldout", t) for t in cv.heldout_paraphrases]
        for v, t in pairs:
            texts.append(t)
            cls.append(i)
            view.append(v)
    return TextCorpus(texts, np.asarray(cls, dtype=np.int64), np.asarray(view, dtype=str))


def views_digest(views: list[ClassViews]) -> str:
    """Short hash of every text of every class (part of a Stage-1 run's key)."""
    blob = json.dumps([asdict(v) for v in views], sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def validation_views(views: list[ClassViews], n: int = 1) -> list[ClassViews]:
    """Views for tuning without the test paraphrases: the last ``n`` training paraphrases of every
    class become its held-out paraphrases and the catalog's held-out paraphrases are dropped."""
    out = []
    for cv in views:
        if len(cv.paraphrases) <= n:
            raise ValueError(f"{cv.key}: needs more than {n} paraphrases to hold {n} out for validation")
        out.append(ClassViews(cv.key, cv.label, cv.process, cv.canonical, cv.paraphrases[:-n], cv.paraphrases[-n:],
                              list(cv.synonyms)))
    return out
