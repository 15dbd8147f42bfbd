"""What a typed sentence asks for: checked, read as a known hand movement or refused, with class probabilities.

    reader = query_reader(text_space)                 # fitted once per Stage-1 run on development data, then cached
    r = reader.read("bend the ring finger")           # a QueryReading
    r.known, r.nearest(3), r.message()
    read_query(text_space, "bend your knee").message()
    # 'no known hand movement in "bend your knee"; nearest candidates, not matches: ...'

Every caller that takes free text (:meth:`~myosem_core.retrieval.RetrievalIndex.search_text`, ``myosem query``,
the explorer, a live stream) reads it through :meth:`QueryReader.read`, so they all refuse the same text for the
same reason. A reading goes in four steps:

1. :func:`check_query`: bad input is one :class:`~myosem_core.errors.DataError` (not a string, empty or
   whitespace-only, control characters, longer than :data:`MAX_QUERY_CHARS`);
2. text without a single letter (numbers, emoji, symbols) names no movement;
3. the off-topic detector: a logistic regression over the packaged (never fine-tuned) sentence encoder's
   embedding, trained on the descriptions the catalog and the lexicon hold for the family (positives) against
   generated off-topic text (:mod:`myosem_core.text.off_topic`); no benchmark or development sentence, nor a
   near-copy, is among them. Its regularisation and its threshold are chosen on development data only: the
   free-text development sentences and the catalog's held-out paraphrases (which name a movement) against the
   off-topic development set (:func:`choose_threshold`);
4. class probabilities: a softmax of the query encoder's class cosines at a temperature fitted (negative
   log-likelihood) on the same development sentences, so ``p(class | sentence)`` is calibrated.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..io import read_json, write_json
from ..scoring import window_posteriors
from ..score_calibration import fit_temperature
from .benchmark import BENCHMARKS, family_of, load_benchmark, load_off_topic, near_copy_filter
from .catalog import load_catalog
from .lexicon import synonym_sentences
from .off_topic import off_topic_sentences

#: Longest query read, in characters: the sentence encoder reads at most 128 word pieces (about 500 characters
#: of English), so longer text would be cut silently. One movement is described in far fewer.
MAX_QUERY_CHARS = 500
#: Regularisation strengths the detector is chosen among (on development data).
DETECTOR_C = (1.0, 10.0, 100.0)
#: Off-topic sentences generated for the detector, lexicon sentences per known class, and the seed.
N_NEGATIVES, SYNONYMS_PER_CLASS, NEGATIVE_SEED = 1500, 100, 0
#: Target rates the threshold's cost weighs errors by: falsely refused sentences, missed off-topic text.
FALSE_ABSTAIN_TARGET, MISSED_OFF_TOPIC_TARGET = 0.02, 0.05
#: Temperature of the class softmax when no development sentences exist to fit one.
DEFAULT_TEXT_TEMPERATURE = 0.02

_ALLOWED_CONTROL = frozenset("\t\n\r")


def check_query(text) -> str:
    """``text`` with its whitespace collapsed, or one :class:`DataError` saying what is wrong with it."""
    if not isinstance(text, str):
        raise DataError("<query>", "text", f"expected a sentence (str), got {type(text).__name__}")
    bad = sorted({f"U+{ord(c):04X}" for c in text if (unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROL)
                  or unicodedata.category(c) == "Cs"})
    if bad:
        raise DataError("<query>", "text", f"control characters {', '.join(bad[:5])} in the sentence; "
                        "type plain text describing a hand movement")
    visible = [c for c in text if not c.isspace() and unicodedata.category(c) not in ("Cf", "Mn", "Me")]
    if not visible:
        raise DataError("<query>", "text", "the sentence is empty; type a description of a hand movement")
    cleaned = " ".join(text.split())
    if len(cleaned) > MAX_QUERY_CHARS:
        raise DataError("<query>", "text", f"the sentence has {len(cleaned)} characters, more than the "
                        f"{MAX_QUERY_CHARS} read; describe one movement in a sentence")
    return cleaned


def has_letter(text: str) -> bool:
    return any(c.isalpha() for c in text)


@dataclass(frozen=True)
class QueryReading:
    """One sentence as read: whether it names a movement of ``class_keys``, why, and its class probabilities."""

    text: str  # as read (whitespace collapsed)
    known: bool  # it names a movement the reader knows
    reason: str  # why it is known or refused, in words
    class_keys: tuple[str, ...]
    probabilities: np.ndarray = field(repr=False)  # (K,) p(class | sentence), calibrated, in class_keys order
    on_topic: float | None = None  # detector log-odds minus its threshold (>= 0: on topic); None without a detector

    def nearest(self, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` most probable classes with their probabilities."""
        order = np.argsort(-self.probabilities, kind="stable")[:n]
        return [(self.class_keys[i], float(self.probabilities[i])) for i in order]

    def message(self, names: dict[str, str] | None = None) -> str:
        """One plain sentence: the movement read, or that none is known, with the nearest candidates as such."""
        from ..data.catalog import class_name

        name = (names or {}).get
        cands = ", ".join(f"{name(k) or class_name(k)} ({p:.2f})" for k, p in self.nearest(3))
        quoted = self.text if len(self.text) <= 60 else self.text[:57] + "..."
        if not self.known:
            return f'no known hand movement in "{quoted}" ({self.reason}); nearest candidates, not matches: {cands}'
        return f'"{quoted}" reads as {cands}'


class QueryReader:
    """Reads free text for a text space and a list of classes (see the module docstring)."""

    def __init__(self, text_space, class_keys, detector: dict | None = None, text_temperature: float | None = None,
                 encoder=None, fitted: dict | None = None, prototypes: np.ndarray | None = None):
        self.text_space = text_space
        self.class_keys = tuple(class_keys)
        self.prototypes = prototypes  # (K, D) class prototypes for a space without a query encoder (default: its own)
        self.detector = detector  # {"coef": (D,), "intercept": float, "threshold": float} or None
        self.text_temperature = float(text_temperature or DEFAULT_TEXT_TEMPERATURE)
        self.encoder = encoder  # the packaged sentence encoder the detector reads (None without a detector)
        self.fitted = fitted or {}  # how the settings were chosen (development figures)

    def class_cosines(self, texts: list[str]) -> np.ndarray:
        """(n, K) cosines of the sentences with every class (the query encoder's, if the space has one)."""
        ts = self.text_space
        if hasattr(ts, "class_scores") and getattr(ts, "query_encoder", None) is not None:
            return np.asarray(ts.class_scores(list(texts), self.class_keys), np.float64)
        Q = np.asarray(ts.encode_text(list(texts)), np.float64)
        Q /= np.maximum(np.linalg.norm(Q, axis=1, keepdims=True), 1e-12)
        P = np.asarray(self.prototypes if self.prototypes is not None else _prototypes(ts, self.class_keys), np.float64)
        return Q @ P.T

    def on_topic_scores(self, texts: list[str]) -> np.ndarray | None:
        """(n,) detector log-odds minus the threshold (>= 0: names a hand movement), or None without a detector."""
        if self.detector is None:
            return None
        E = np.asarray(self.encoder.encode(list(texts)), np.float64)
        d = self.detector
        return E @ np.asarray(d["coef"]) + d["intercept"] - d["threshold"]

    def read_many(self, texts) -> list[QueryReading]:
        """Every sentence read (:meth:`read`), encoded in batches; the first bad one raises its DataError."""
        texts = [check_query(t) for t in texts]
        if not texts:
            return []
        probs = window_posteriors(self.class_cosines(texts), self.text_temperature)
        on = self.on_topic_scores(texts)
        out = []
        for i, t in enumerate(texts):
            if not has_letter(t):
                known, reason = False, "no words"
            elif on is None:
                known, reason = True, "no off-topic detector"
            elif on[i] >= 0:
                known, reason = True, "names a hand movement"
            else:
                known, reason = False, "reads as off-topic"
            out.append(QueryReading(t, known, reason, self.class_keys, probs[i], None if on is None else float(on[i])))
        return out

    def read(self, text) -> QueryReading:
        """``text`` checked (:func:`check_query`) and read: known or not, why, and its class probabilities."""
        return self.read_many([text])[0]


def read_query(text_space, text, class_keys=None) -> QueryReading:
    """Read one sentence with the text space's (cached) reader: the one decision every caller uses."""
    return query_reader(text_space, class_keys).read(text)


# ------------------------------------------------------------------ fitting on development data

def _prototypes(ts, class_keys) -> np.ndarray:
    from ..scoring import prototypes_for

    return np.asarray(prototypes_for(ts, class_keys), np.float64)


@dataclass
class ReaderData:
    """What the reader of one family and class list is fitted on (texts only; nothing is encoded yet)."""

    positives: list[str]  # training: catalog descriptions of the family + lexicon sentences of the classes
    negatives: list[str]  # training: generated off-topic text
    dev_known: list[str]  # development: sentences that name a class (free-text dev + held-out paraphrases)
    dev_labels: np.ndarray  # their class index in class_keys
    dev_off_topic: list[str]  # development: off-topic text the detector judges (valid, with a letter)


def development_sentences(class_keys) -> tuple[list[str], np.ndarray]:
    """Sentences that name one of ``class_keys`` and train nothing: the free-text development set and the
    catalog's held-out paraphrases, with their class index in ``class_keys``."""
    keys = tuple(class_keys)
    texts, labels = [], []
    for fam in family_of(keys):
        for k, cd in load_catalog(fam).items():
            if k in keys:
                texts += list(cd.heldout_paraphrases)
                labels += [keys.index(k)] * len(cd.heldout_paraphrases)
        for name in BENCHMARKS.get(fam, ())[1:]:  # development sets only, never the test set (the first)
            for s in load_benchmark(name):
                if s.class_key in keys:
                    texts.append(s.text)
                    labels.append(keys.index(s.class_key))
    return texts, np.asarray(labels, int)


def reader_data(class_keys, vocabulary: list[str] | None = None) -> ReaderData:
    """The detector's training texts and the development texts for ``class_keys`` (one family)."""
    keys = tuple(class_keys)
    fams = family_of(keys)
    guard = near_copy_filter(fams)
    positives: list[str] = []
    for fam in fams:
        for cd in load_catalog(fam).values():
            positives += [t for t in (cd.label, cd.canonical, *cd.paraphrases) if guard.match(t) is None]
    for k in keys:
        positives += synonym_sentences(k, SYNONYMS_PER_CLASS, exclude=guard)
    positives = list(dict.fromkeys(positives))
    known_words = {w for t in positives for w in _words(t)}
    negatives = off_topic_sentences(N_NEGATIVES, NEGATIVE_SEED, exclude=guard, vocabulary=vocabulary,
                                    known_words=known_words)
    for t in positives + negatives:  # the leak guard: no benchmark or development sentence trains the detector
        hit = guard.match(t)
        if hit is not None:
            raise DataError("<query reader corpus>", "texts", f"{t!r} nearly copies the benchmark sentence {hit!r}")
    dev_known, dev_labels = development_sentences(keys)
    dev_off = []
    for s in load_off_topic("off_topic_dev"):
        try:
            t = check_query(s.text)
        except DataError:
            continue  # refused as bad input before any detector
        if has_letter(t):
            dev_off.append(t)
    return ReaderData(positives, negatives, dev_known, dev_labels, dev_off)


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.casefold())


def choose_threshold(known: np.ndarray, off_topic: np.ndarray) -> tuple[float, float]:
    """``(threshold, cost)`` on detector log-odds (below the threshold: refused), chosen on development scores.

    The cost of a threshold is its false refusals of ``known`` sentences / 2 % plus its missed ``off_topic`` texts
    / 5 % (each error weighed by the target's allowance). The scores cut the line into gaps, each with one cost;
    the threshold is the middle of the cheapest gap (the widest, if several are as cheap).
    """
    K, O = np.sort(np.asarray(known, float)), np.sort(np.asarray(off_topic, float))
    values = np.unique(np.r_[K, O])
    lower = np.r_[-np.inf, values]  # gap i spans (lower[i], upper[i]]
    upper = np.r_[values, np.inf]
    refused_known = np.searchsorted(K, lower, side="right")  # known scores <= lower: below any t in the gap
    missed_off = len(O) - np.searchsorted(O, upper, side="left")  # off-topic scores >= upper: kept
    cost = refused_known / max(len(K), 1) / FALSE_ABSTAIN_TARGET + missed_off / max(len(O), 1) / MISSED_OFF_TOPIC_TARGET
    cheapest = np.flatnonzero(np.isclose(cost, cost.min()))
    width = np.where(np.isfinite(upper - lower), upper - lower, np.inf)[cheapest]
    i = int(cheapest[np.argmax(width)])
    lo, hi = lower[i], upper[i]
    t = hi - 1.0 if not np.isfinite(lo) else lo + 1.0 if not np.isfinite(hi) else (lo + hi) / 2
    return float(t), float(cost[i])


def fit_reader(text_space, class_keys=None) -> QueryReader:
    """Fit the detector and the text temperature for ``text_space`` on :func:`reader_data` (see the module docstring)."""
    from sklearn.linear_model import LogisticRegression

    from .encoder import load_encoder

    keys = tuple(class_keys if class_keys is not None else text_space.class_keys)
    encoder = load_encoder(_encoder_name(text_space))
    data = reader_data(keys, _vocabulary(encoder))
    E_pos, E_neg = encoder.encode(data.positives), encoder.encode(data.negatives)
    E_known, E_off = encoder.encode(data.dev_known), encoder.encode(data.dev_off_topic)
    X = np.vstack([E_pos, E_neg]).astype(np.float64)
    y = np.r_[np.ones(len(E_pos)), np.zeros(len(E_neg))]
    trials = []
    for C in DETECTOR_C:
        lr = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(X, y)
        zk, zo = lr.decision_function(E_known), lr.decision_function(E_off)
        thr, cost = choose_threshold(zk, zo)
        spread = float(np.std(np.r_[zk, zo])) or 1.0
        gap = (zk.min() - zo.max()) / spread  # > 0: the development sets are separated, by this many std
        trials.append({"C": C, "threshold": thr, "cost": cost, "gap_std": float(gap),
                       "false_abstain_dev": float((zk < thr).mean()), "off_topic_abstained_dev": float((zo < thr).mean()),
                       "coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0])})
    best = min(trials, key=lambda t: (t["cost"], -t["gap_std"]))
    T = fit_temperature(QueryReader(text_space, keys).class_cosines(data.dev_known), data.dev_labels,
                        "<development sentences>") if len(data.dev_known) else DEFAULT_TEXT_TEMPERATURE
    fitted = {"class_keys": list(keys), "C": best["C"], "threshold": best["threshold"],
              "text_temperature": T, "n_positives": len(data.positives), "n_negatives": len(data.negatives),
              "n_dev_known": len(data.dev_known), "n_dev_off_topic": len(data.dev_off_topic),
              "trials": [{k: v for k, v in t.items() if k not in ("coef", "intercept")} for t in trials]}
    detector = {"coef": np.asarray(best["coef"]), "intercept": best["intercept"], "threshold": best["threshold"]}
    return QueryReader(text_space, keys, detector, T, encoder, fitted)


def _encoder_name(text_space) -> str:
    results = getattr(text_space, "results", None) or {}
    return (results.get("stage1") or {}).get("encoder", "minilm")


def _vocabulary(encoder) -> list[str]:
    return sorted(w for w in encoder.tokenizer.get_vocab() if w.isalpha() and w.isascii())


def reader_key(text_space, class_keys) -> str:
    """Run-store key of a fitted reader: the classes, the packaged encoder, every file its texts come from
    (catalogs, lexicons, benchmark and development sets: the guard reads them all), its settings and its code."""
    from ..run_store import run_key
    from .encoder import encoder_spec

    here = Path(__file__).parent
    files = sorted([*here.glob("catalogs/*.yaml"), *here.glob("lexicon/*.yaml"), *here.glob("benchmarks/*.yaml")])
    return run_key("query-reader",
                   data={"keys": list(class_keys), "encoder": encoder_spec(_encoder_name(text_space)).sha256,
                         "files": {f"{f.parent.name}/{f.name}": hashlib.sha256(f.read_bytes()).hexdigest()
                                   for f in files}},
                   sections={"C": DETECTOR_C, "n": [N_NEGATIVES, SYNONYMS_PER_CLASS, NEGATIVE_SEED, MAX_QUERY_CHARS]},
                   code=(__name__,))


def query_reader(text_space, class_keys=None, prototypes: np.ndarray | None = None) -> QueryReader:
    """The text space's reader for ``class_keys`` (default: all its classes): read from
    ``<Stage-1 run>/query-reader-<key>.json`` when fitted before, else fitted (:func:`fit_reader`) and saved there.

    A text space without a run folder or without catalog views (a stand-in) gets a reader without a detector:
    it checks input and refuses text without letters, and reads every other sentence as known (its class
    cosines against ``prototypes``, default the space's, when the space has no query encoder).
    """
    keys = tuple(class_keys if class_keys is not None else text_space.class_keys)
    run_dir = getattr(text_space, "run_dir", None)
    if run_dir is None or not getattr(text_space, "views", None):
        return QueryReader(text_space, keys, prototypes=prototypes)
    return _cached_reader(text_space, keys)


_READERS: dict[tuple, QueryReader] = {}


def _cached_reader(text_space, keys: tuple[str, ...]) -> QueryReader:
    folder = getattr(text_space, "query_dir", None) or text_space.run_dir  # the run whose encoder it reads
    memo = (id(text_space), str(folder), keys)
    if memo in _READERS and _READERS[memo].text_space is text_space:
        return _READERS[memo]
    path = Path(folder) / f"query-reader-{reader_key(text_space, keys)}.json"
    if path.is_file():
        from .encoder import load_encoder

        saved = read_json(path)
        detector = {"coef": np.asarray(saved["detector"]["coef"]), "intercept": saved["detector"]["intercept"],
                    "threshold": saved["detector"]["threshold"]}
        reader = QueryReader(text_space, keys, detector, saved["fitted"]["text_temperature"],
                             load_encoder(_encoder_name(text_space)), saved["fitted"])
    else:
        reader = fit_reader(text_space, keys)
        d = reader.detector
        write_json(path, {"fitted": reader.fitted, "detector": {"coef": np.asarray(d["coef"]).tolist(),
                                                                "intercept": d["intercept"], "threshold": d["threshold"]}})
    _READERS[memo] = reader
    return reader


# ------------------------------------------------------------------ measuring

def abstention_report(reader: QueryReader, off_topic, free_text) -> dict:
    """How the reader treats off-topic text (refused as bad input or read as unknown) and free-text sentences
    that name a class (falsely refused; R@1 / R@3 of the class probabilities on the ones it reads as known).

    ``off_topic``: :class:`~myosem_core.text.benchmark.OffTopic`; ``free_text``: :class:`FreeText` of the
    reader's classes (others are left out).
    """
    from ..metrics import retrieval_summary, true_ranks

    rows = []
    for s in off_topic:
        try:
            r = reader.read(s.text)
            rows.append({"text": s.text, "kind": s.kind, "refused": False, "abstained": not r.known,
                         "reason": r.reason, "nearest": r.nearest(1)[0][0]})
        except DataError as exc:
            rows.append({"text": s.text, "kind": s.kind, "refused": True, "abstained": True, "reason": exc.problem,
                         "nearest": None})
    sents = [s for s in free_text if s.class_key in reader.class_keys]
    readings = reader.read_many([s.text for s in sents])
    known = np.array([r.known for r in readings])
    y = np.array([reader.class_keys.index(s.class_key) for s in sents])
    P = np.stack([r.probabilities for r in readings])
    ranks = true_ranks(P, y)
    kinds = sorted({r["kind"] for r in rows}, key=[r["kind"] for r in rows].index)
    return {
        "off_topic": {"n": len(rows), "abstained": float(np.mean([r["abstained"] for r in rows])),
                      "refused_as_bad_input": int(sum(r["refused"] for r in rows)),
                      "by_kind": {k: float(np.mean([r["abstained"] for r in rows if r["kind"] == k])) for k in kinds},
                      "read_as_known": [r for r in rows if not r["abstained"]]},
        "free_text": {"n": len(sents), "falsely_abstained": float((~known).mean()),
                      "abstained_sentences": [s.text for s, k in zip(sents, known) if not k],
                      "known": {**retrieval_summary(ranks[known], (1, 3)), "n_queries": int(known.sum())},
                      "all": {**retrieval_summary(ranks, (1, 3)), "n_queries": len(sents)}},
    }


__all__ = ["MAX_QUERY_CHARS", "QueryReading", "QueryReader", "check_query", "read_query", "query_reader",
           "fit_reader", "reader_data", "development_sentences", "choose_threshold", "abstention_report"]
