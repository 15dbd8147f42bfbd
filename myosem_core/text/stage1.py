"""MyoSem Stage 1: fine-tune the sentence encoder on multi-view class descriptions, export frozen prototypes.

Flow of :func:`load_or_train_stage1`:

1. views of every class (:func:`~myosem_core.text.views.build_views`): catalog
   text plus the process view derived from the training windows' pose;
2. the training corpus: seen classes only (the ``class`` protocol's held-out
   classes contribute nothing), held-out paraphrases never;
3. "before": every text encoded by the frozen packaged encoder and evaluated;
4. fine-tuning of the top ``train_layers`` transformer layers with the
   multi-positive contrastive objective (:mod:`~myosem_core.text.loss`); the
   frozen bottom's output is computed once and cached, which is what makes this
   fit in minutes on two CPU cores;
5. "after": every text (held-out classes and paraphrases included) encoded by
   the fine-tuned encoder; prototypes = L2-normalised mean of each class's view
   embeddings; everything saved atomically to the run folder and frozen.
6. the *query encoder* (``query_epochs > 0``): a second copy of the packaged
   encoder fine-tuned the same way with the lexicon's sentences (the
   ``synonym`` view: casual words, finger synonyms, hard negatives). It maps
   free text to classes (:meth:`TextSpace.class_scores`); the aligned space
   above, which Stage 3 aligns EMG to, never sees the lexicon. Training the
   lexicon into the aligned space improved free text but cost EMG retrieval
   about a point of validation R@1 and R@3 (issue 15), so the two roles are split.

A second call with the same data, split, views and config reads the run folder
instead of training again.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.protocols import Split
from ..data.windows import WindowSet
from ..errors import DataError
from ..io import atomic_path, read_json, save_npz, write_json
from ..paths import runs_root
from ..run_store import claimed, is_complete, run_folder
from .benchmark import benchmark_results, benchmark_sets, family_of, near_copy_filter
from .catalog import normalize_text
from .encoder import SentenceEncoder, encoder_spec, load_encoder
from .evaluate import class_prototypes, evaluate_embeddings
from .loss import stage1_loss
from .process import ProcessConfig
from .views import (
    VIEWS,
    ClassViews,
    TextCorpus,
    all_texts,
    build_views,
    training_corpus,
    views_digest,
)


@dataclass(frozen=True)
class Stage1Config:
    """Hyper-parameters of Stage 1 (``quick`` for CI, ``full`` for the book)."""

    encoder: str = "minilm"
    train_layers: int = 1  # fine-tune the top N transformer layers; the rest stay frozen (their output cached)
    epochs: int = 30  # passes over the training corpus
    batch_classes: int = 0  # classes per step (all their texts); 0 = every class, one step per epoch
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup: float = 0.1  # fraction of the steps with a linear learning-rate ramp
    temperature: float = 0.05
    w_process_canonical: float = 1.0  # main term
    w_label: float = 0.5  # label anchoring
    w_paraphrase: float = 0.5  # paraphrase consistency
    synonyms: int = 0  # lexicon sentences per class (the `synonym` view, myosem_core.text.lexicon); 0 = none
    w_synonym: float = 0.5  # weight of the synonym term (hard negatives: same finger or same verb, other class)
    prototype_views: tuple[str, ...] = VIEWS  # views a class prototype averages
    grad_clip: float = 1.0
    seed: int = 0
    process: ProcessConfig = field(default_factory=ProcessConfig)
    # the query encoder (free text -> classes); 0 epochs = none: free text uses the aligned space itself
    query_epochs: int = 0
    query_lr: float = 1e-3
    query_synonyms: int = 40  # lexicon sentences per class in its training corpus and its prototypes

    def query_config(self) -> "Stage1Config":
        """The settings the query encoder trains with: these, with the lexicon and the query's epochs and lr."""
        return replace(self, epochs=self.query_epochs, lr=self.query_lr, synonyms=self.query_synonyms,
                       prototype_views=_WITH_SYNONYMS, query_epochs=0)


_WITH_SYNONYMS = VIEWS + ("synonym",)

QUERY_TOP = "query_top.safetensors"  # the query encoder's fine-tuned layers (runs with query_epochs > 0)
_FILES = ("encoder_top.safetensors", "embeddings.npz", "prototypes.npz", "views.json", "results.json")


@dataclass
class TextSpace:
    """The frozen Stage-1 text space: class prototypes and an encoder for any sentence."""

    class_keys: tuple[str, ...]
    prototypes: np.ndarray  # (K, D) float32, unit rows, in class_keys order: what Stage 3 aligns EMG to
    views: list[ClassViews]
    encoder: SentenceEncoder
    heldout_classes: list[str]
    run_dir: Path
    results: dict
    query_encoder: SentenceEncoder | None = None  # free text -> classes (None: the aligned encoder does it)
    query_prototypes: np.ndarray | None = None  # (K, D) its class prototypes (lexicon included)
    query_dir: Path | None = None  # the query encoder's run folder

    def encode_text(self, texts: list[str] | str) -> np.ndarray:
        """(n, D) unit vectors of any sentences, in the aligned space (the prototypes', and EMG's after Stage 3)."""
        if isinstance(texts, str):
            texts = [texts]
        return self.encoder.encode(list(texts))

    def scores(self, texts: list[str] | str) -> np.ndarray:
        """(n, K) how well free-text sentences match every class (cosines of the query encoder, if any)."""
        if isinstance(texts, str):
            texts = [texts]
        if self.query_encoder is None:
            return self.encode_text(texts) @ self.prototypes.T
        return self.query_encoder.encode(list(texts)) @ self.query_prototypes.T

    def class_scores(self, texts: list[str] | str, class_keys) -> np.ndarray:
        """:meth:`scores` with columns in the order of ``class_keys`` (each must be one of this space's)."""
        col = {k: i for i, k in enumerate(self.class_keys)}
        missing = [k for k in class_keys if k not in col]
        if missing:
            raise DataError(self.run_dir, "class_keys", f"classes {missing[:3]} are not in this text space")
        return self.scores(texts)[:, [col[k] for k in class_keys]]

    def embeddings(self) -> dict[str, np.ndarray]:
        """All view texts with class index, view name and their embeddings before and after fine-tuning."""
        with np.load(self.run_dir / "embeddings.npz", allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    @property
    def dim(self) -> int:
        return int(self.prototypes.shape[1])


# ------------------------------------------------------------------ training

def _check_no_leak(corpus: TextCorpus, views: list[ClassViews], heldout_classes) -> None:
    """Raise if any held-out paraphrase, held-out-class text or benchmark sentence (free-text or off-topic), or a
    near-copy of one (:func:`myosem_core.text.benchmark.is_near_copy`), is in the training corpus."""
    forbidden = {}
    for cv in views:
        for t in cv.heldout_paraphrases:
            forbidden[normalize_text(t)] = f"{cv.key} held-out paraphrase"
        if cv.key in set(heldout_classes):
            for _, t in cv.trainable_pairs():
                forbidden.setdefault(normalize_text(t), f"{cv.key} (held-out class)")
    for t in corpus.texts:
        if normalize_text(t) in forbidden:
            raise DataError("<stage-1 corpus>", "texts", f"{t!r} ({forbidden[normalize_text(t)]}) must not reach training")
    guard = near_copy_filter(family_of(cv.key for cv in views))
    for t in corpus.texts:
        hit = guard.match(t)
        if hit is not None:
            raise DataError("<stage-1 corpus>", "texts",
                            f"{t!r} nearly copies the benchmark sentence {hit!r} (free-text or off-topic): it must not reach training")


def _buckets(encoder: SentenceEncoder, texts: list[str], start_layer: int, size: int = 16):
    """Length-sorted buckets of (text positions, attention mask, frozen hidden states at ``start_layer``)."""
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = []
    with torch.no_grad():
        for a in range(0, len(texts), size):
            pos = order[a:a + size]
            batch = encoder.tokenize([texts[i] for i in pos])
            out.append((torch.as_tensor(pos), batch["attention_mask"], encoder.bottom(batch, start_layer)))
    return out


def fine_tune(encoder: SentenceEncoder, corpus: TextCorpus, cfg: Stage1Config, progress: bool = True,
        desc: str = "stage 1: fine-tuning text encoder") -> list[dict]:
    """Fine-tune the top ``cfg.train_layers`` layers of ``encoder`` on ``corpus`` in place; return the loss history."""
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    params = encoder.set_trainable_top(cfg.train_layers)
    start = encoder.n_layers - cfg.train_layers
    buckets = _buckets(encoder, corpus.texts, start)
    y_all = torch.as_tensor(corpus.class_index)
    classes = np.unique(corpus.class_index)
    per_epoch = 1 if not cfg.batch_classes or cfg.batch_classes >= len(classes) else int(np.ceil(len(classes) / cfg.batch_classes))
    total = cfg.epochs * per_epoch
    history: list[dict] = []
    if total == 0 or not params:
        return history
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    warm = max(1, int(cfg.warmup * total))
    sched = torch.optim.lr_scheduler.LambdaLR(  # linear warm-up, then linear decay to zero
        opt, lambda s: (s + 1) / warm if s < warm else max(0.0, (total - s) / max(1, total - warm)))
    encoder.train()
    t0 = time.perf_counter()
    bar = tqdm(range(total), desc=desc, disable=not progress)
    for step in bar:
        if per_epoch == 1:
            chosen = classes
        else:
            if step % per_epoch == 0:
                perm = rng.permutation(classes)
            chosen = perm[(step % per_epoch) * cfg.batch_classes:(step % per_epoch + 1) * cfg.batch_classes]
        embs, rows = [], []
        for pos, mask, hidden in buckets:
            keep = torch.as_tensor(np.isin(corpus.class_index[pos.numpy()], chosen))
            if not bool(keep.any()):
                continue
            h = encoder.run_layers(hidden[keep], mask[keep], start)
            embs.append(encoder.pool(h, mask[keep]))
            rows.append(pos[keep])
        emb, rows = torch.cat(embs), torch.cat(rows)
        loss, parts = stage1_loss(emb, y_all[rows], corpus.view[rows.numpy()].tolist(), cfg.temperature,
                                  cfg.w_process_canonical, cfg.w_label, cfg.w_paraphrase, cfg.w_synonym)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        opt.step()
        sched.step()
        history.append({"step": step, "loss": float(loss.detach()), **parts, "seconds": time.perf_counter() - t0})
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}")
    encoder.eval()
    for p in encoder.model.parameters():
        p.requires_grad_(False)
    return history


# ------------------------------------------------------------------ saving / loading

def _save_top(path: Path, encoder: SentenceEncoder, n_top: int) -> None:
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous().clone() for k, v in encoder.top_parameters(n_top).items()}
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata={"base_sha256": encoder.spec.sha256, "train_layers": str(n_top)})


def _load_top(path: Path, encoder: SentenceEncoder) -> None:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("base_sha256") != encoder.spec.sha256:
            raise DataError(path, "base_sha256", f"fine-tuned layers belong to another base model "
                            f"({meta.get('base_sha256')}), expected {encoder.spec.sha256}")
        state = {k: f.get_tensor(k) for k in f.keys()}
    own = dict(encoder.model.named_parameters())
    unknown = sorted(set(state) - set(own))
    if unknown:
        raise DataError(path, unknown[0], "parameter not in the encoder")
    with torch.no_grad():
        for k, v in state.items():
            own[k].copy_(v)
    for p in encoder.model.parameters():
        p.requires_grad_(False)
    encoder.eval()


def _views_json(views: list[ClassViews], heldout) -> list[dict]:
    return [{**asdict(v), "heldout_class": v.key in set(heldout)} for v in views]


@dataclass
class QueryEncoder:
    """The query encoder as trained: the encoder, its class prototypes before and after, its loss history."""

    encoder: SentenceEncoder
    prototypes: np.ndarray
    prototypes_before: np.ndarray
    history: list[dict]


def _train_query_encoder(cfg: Stage1Config, ws: WindowSet, views: list[ClassViews], heldout: list[str],
                         progress: bool) -> QueryEncoder:
    """The query encoder fine-tuned with the lexicon (its own corpus, views and prototypes)."""
    qcfg = cfg.query_config()
    corpus = training_corpus(views, heldout)
    _check_no_leak(corpus, views, heldout)
    texts = all_texts(views)
    sel, K, pv = texts.view != "heldout", len(ws.class_keys), tuple(qcfg.prototype_views)
    encoder = load_encoder(qcfg.encoder)
    before = class_prototypes(encoder.encode(list(np.asarray(texts.texts)[sel])), texts.class_index[sel],
                              texts.view[sel], K, pv)
    history = fine_tune(encoder, corpus, qcfg, progress, desc="stage 1: fine-tuning the query encoder")
    after = class_prototypes(encoder.encode(list(np.asarray(texts.texts)[sel])), texts.class_index[sel],
                             texts.view[sel], K, pv)
    return QueryEncoder(encoder, after, before, history)


@dataclass
class Stage1Training:
    """What training the aligned space produced: the fine-tuned encoder, its history and cost."""

    encoder: SentenceEncoder
    n_texts: int
    n_classes: int
    history: list[dict]
    timing: dict


def _timing(t0: float, c0: float, load0: float, steps: int) -> dict:
    return {"train_seconds": time.perf_counter() - t0, "train_cpu_seconds": time.process_time() - c0,
            "torch_threads": torch.get_num_threads(), "steps": steps, "cpu_count": os.cpu_count(),
            "load_average": [load0, os.getloadavg()[0]]}  # 1-min load before/after: was the machine shared?


def fit_stage1(cfg: Stage1Config, ws: WindowSet, views: list[ClassViews], heldout: list[str],
               progress: bool = True) -> Stage1Training:
    """Fine-tune the packaged encoder on the seen classes' views: the aligned space."""
    corpus = training_corpus(views, heldout)
    _check_no_leak(corpus, views, heldout)
    encoder = load_encoder(cfg.encoder)
    t0, c0, load0 = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    history = fine_tune(encoder, corpus, cfg, progress)
    return Stage1Training(encoder, len(corpus), int(len(np.unique(corpus.class_index))), history,
                          _timing(t0, c0, load0, len(history)))


def evaluate_stage1(cfg: Stage1Config, ws: WindowSet, views: list[ClassViews], heldout: list[str],
                    trained: Stage1Training) -> tuple[dict, dict]:
    """Every text and the free-text benchmark before (packaged encoder) and after fine-tuning.

    Returns ``(arrays, report)``: the embeddings and prototypes to save, and the metrics (view retrieval and
    consistency, :func:`~myosem_core.text.evaluate.evaluate_embeddings`; free text,
    :func:`~myosem_core.text.benchmark.benchmark_results`).
    """
    texts, pv, K = all_texts(views), tuple(cfg.prototype_views), len(ws.class_keys)
    packaged = load_encoder(cfg.encoder)
    emb_before, emb_after = packaged.encode(texts.texts), trained.encoder.encode(texts.texts)
    sel = texts.view != "heldout"
    protos_before = class_prototypes(emb_before[sel], texts.class_index[sel], texts.view[sel], K, pv)
    protos = class_prototypes(emb_after[sel], texts.class_index[sel], texts.view[sel], K, pv)
    sets = benchmark_sets(ws.class_keys)  # scored, never trained on (_check_no_leak)
    free_text = {when: benchmark_results(sets, {n: enc.encode([x.text for x in v]) for n, v in sets.items()},
                                         ws.class_keys, P)
                 for when, (enc, P) in (("before", (packaged, protos_before)), ("after", (trained.encoder, protos)))}
    free_text["encoder"] = "aligned"
    report = {"before": evaluate_embeddings(emb_before, texts.class_index, texts.view, ws.class_keys, heldout, pv),
              "after": evaluate_embeddings(emb_after, texts.class_index, texts.view, ws.class_keys, heldout, pv),
              "free_text": free_text}
    arrays = {"texts": texts, "before": emb_before, "after": emb_after, "prototypes": protos,
              "prototypes_before": protos_before}
    return arrays, report


def train_stage1(cfg: Stage1Config, ws: WindowSet, split: Split, views: list[ClassViews], folder: Path,
                 progress: bool = True) -> TextSpace:
    """Train (:func:`fit_stage1`), evaluate (:func:`evaluate_stage1`), save everything into ``folder``; return the
    frozen text space (without a query encoder: :func:`train_query_encoder` adds one)."""
    heldout = list(split.heldout_classes)
    trained = fit_stage1(cfg, ws, views, heldout, progress)
    arrays, report = evaluate_stage1(cfg, ws, views, heldout, trained)
    texts = arrays["texts"]
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "views.json", _views_json(views, heldout))
    save_npz(folder / "embeddings.npz", text=np.asarray(texts.texts, dtype=str), class_index=texts.class_index,
             view=texts.view, before=arrays["before"], after=arrays["after"])
    save_npz(folder / "prototypes.npz", class_keys=np.asarray(ws.class_keys, dtype=str),
             prototypes=arrays["prototypes"], prototypes_before=arrays["prototypes_before"])
    _save_top(folder / "encoder_top.safetensors", trained.encoder, cfg.train_layers)
    results = {
        "dataset": sorted(set(ws.dataset.tolist())), "synthetic": ws.is_synthetic, "protocol": split.config.name,
        "class_keys": list(ws.class_keys), "heldout_classes": heldout,
        "n_training_texts": trained.n_texts, "n_training_classes": trained.n_classes,
        **report, "history": trained.history, "timing": trained.timing, "stage1": asdict(cfg),
    }
    write_json(folder / "results.json", results)  # written last: its presence marks a complete run
    return TextSpace(tuple(ws.class_keys), arrays["prototypes"], views, trained.encoder, heldout, folder, results)


def train_query_encoder(cfg: Stage1Config, ws: WindowSet, split: Split, query_views: list[ClassViews],
                        folder: Path, progress: bool = True) -> dict:
    """Fine-tune the query encoder (free text -> classes) on ``query_views`` (the views with the lexicon), score
    the free-text benchmark before and after, and save it into ``folder``; returns its results."""
    heldout = list(split.heldout_classes)
    t0, c0, load0 = time.perf_counter(), time.process_time(), os.getloadavg()[0]
    query = _train_query_encoder(cfg, ws, query_views, heldout, progress)
    timing = _timing(t0, c0, load0, len(query.history))
    sets = benchmark_sets(ws.class_keys)  # scored, never trained on (_check_no_leak)
    packaged = load_encoder(cfg.encoder)
    free_text = {when: benchmark_results(sets, {n: enc.encode([x.text for x in v]) for n, v in sets.items()},
                                         ws.class_keys, P)
                 for when, (enc, P) in (("before", (packaged, query.prototypes_before)),
                                        ("after", (query.encoder, query.prototypes)))}
    folder.mkdir(parents=True, exist_ok=True)
    save_npz(folder / "prototypes.npz", class_keys=np.asarray(ws.class_keys, dtype=str),
             query_prototypes=query.prototypes, query_prototypes_before=query.prototypes_before)
    _save_top(folder / QUERY_TOP, query.encoder, cfg.train_layers)
    results = {"free_text": {**free_text, "encoder": "query"}, "query_history": query.history, "timing": timing,
               "query": asdict(cfg.query_config())}
    write_json(folder / "results.json", results)  # written last: its presence marks a complete run
    return results


def load_stage1(folder: str | Path, encoder_name: str | None = None, query_folder: str | Path | None = None
                ) -> TextSpace:
    """The frozen text space saved in a Stage-1 run folder, with the query encoder of ``query_folder`` if given."""
    folder = Path(folder)
    for name in _FILES:
        if not (folder / name).is_file():
            raise DataError(folder / name, None, "Stage-1 run file missing; train again with load_or_train_stage1")
    results = read_json(folder / "results.json")
    encoder = load_encoder(encoder_name or results["stage1"]["encoder"])
    _load_top(folder / "encoder_top.safetensors", encoder)
    with np.load(folder / "prototypes.npz", allow_pickle=False) as z:
        keys, protos = tuple(z["class_keys"].tolist()), z["prototypes"].astype(np.float32)
    views = [ClassViews(**{k: v for k, v in d.items() if k != "heldout_class"}) for d in read_json(folder / "views.json")]
    space = TextSpace(keys, protos, views, encoder, list(results["heldout_classes"]), folder, results)
    return attach_query_encoder(space, query_folder) if query_folder is not None else space


def attach_query_encoder(space: TextSpace, query_folder: str | Path) -> TextSpace:
    """``space`` with the query encoder saved in ``query_folder``; its free-text results replace the aligned
    space's in ``space.results``."""
    query_folder = Path(query_folder)
    for name in (QUERY_TOP, "prototypes.npz", "results.json"):
        if not (query_folder / name).is_file():
            raise DataError(query_folder / name, None, "query encoder file missing; train again with "
                            "load_or_train_stage1")
    q = read_json(query_folder / "results.json")
    encoder = load_encoder(space.results["stage1"]["encoder"])
    _load_top(query_folder / QUERY_TOP, encoder)
    with np.load(query_folder / "prototypes.npz", allow_pickle=False) as z:
        if tuple(z["class_keys"].tolist()) != tuple(space.class_keys):
            raise DataError(query_folder / "prototypes.npz", "class_keys", "the query encoder's classes differ "
                            "from the text space's")
        q_protos = z["query_prototypes"].astype(np.float32)
    timing = {**space.results["timing"], "query_train_seconds": q["timing"]["train_seconds"]}
    results = {**space.results, "free_text": q["free_text"], "query_history": q["query_history"], "timing": timing}
    return replace(space, results=results, query_encoder=encoder, query_prototypes=q_protos, query_dir=query_folder)


def aligned_settings(stage1: Stage1Config) -> Stage1Config:
    """The settings the aligned space reads: the query encoder's fields at their defaults (they key its own run)."""
    d = Stage1Config()
    return replace(stage1, query_epochs=0, query_lr=d.query_lr, query_synonyms=d.query_synonyms)


def stage1_folder(ws: WindowSet, split: Split, stage1: Stage1Config, views: list[ClassViews],
                  runs: str | Path | None = None) -> Path:
    """The run folder of a Stage-1 aligned space: keyed by every text it reads (the views, process descriptions
    from the training windows' pose included), the held-out classes, the packaged encoder, its settings and code.

    Stage 1 reads text and the pose stream, never the EMG, so an EMG-only data option (per-subject gain
    calibration) does not name a second folder.
    """
    return run_folder(runs_root(runs), "stage1", label=f"{ws.dataset_name}-{split.config.name}",
                      data={"views": views_digest(views), "heldout_classes": split.heldout_classes,
                            "encoder_sha256": encoder_spec(stage1.encoder).sha256},
                      seed=stage1.seed, sections={"stage1": aligned_settings(stage1)}, code=(__name__,))


def query_folder(ws: WindowSet, split: Split, stage1: Stage1Config, query_views: list[ClassViews],
                 runs: str | Path | None = None) -> Path:
    """The run folder of a query encoder: keyed by its views (lexicon included), the held-out classes, the
    packaged encoder, its settings and code."""
    return run_folder(runs_root(runs), "stage1-query", label=f"{ws.dataset_name}-{split.config.name}",
                      data={"views": views_digest(query_views), "heldout_classes": split.heldout_classes,
                            "encoder_sha256": encoder_spec(stage1.encoder).sha256},
                      seed=stage1.seed, sections={"query": stage1.query_config()}, code=(__name__,))


def load_or_train_stage1(ws: WindowSet, split: Split, stage1: Stage1Config, runs: str | Path | None = None,
                         progress: bool = True, query: bool = True) -> TextSpace:
    """The Stage-1 text space for these windows' classes and this split: from the run store, or trained and saved
    there (``runs``: the runs root, default :func:`myosem_core.paths.runs_root`). With ``query`` (and
    ``stage1.query_epochs > 0``) its query encoder for free text comes along, a run of its own: the prototypes
    alone, which Stage 3 and the comparison grid read, never train it."""
    aligned = aligned_settings(stage1)
    views = build_views(ws, split, aligned.process, aligned.synonyms)
    folder = stage1_folder(ws, split, aligned, views, runs)
    with claimed(folder):
        if is_complete(folder) and all((folder / f).is_file() for f in _FILES):
            space = load_stage1(folder, aligned.encoder)
        else:
            space = train_stage1(aligned, ws, split, views, folder, progress)
    if not query or stage1.query_epochs <= 0:
        return space
    query_views = build_views(ws, split, stage1.process, stage1.query_synonyms)
    qfolder = query_folder(ws, split, stage1, query_views, runs)
    with claimed(qfolder):
        if not is_complete(qfolder):
            train_query_encoder(stage1, ws, split, query_views, qfolder, progress)
    return attach_query_encoder(space, qfolder)
