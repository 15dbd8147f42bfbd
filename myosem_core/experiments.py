"""The comparison experiments of the MyoSem book: every model x protocol x seed, one result JSON each.

    python -m myosem_core.experiments --preset full --data-dir ../shared/data/ninapro-db1 --seeds 0 1 2

trains (or reuses) every model named in :data:`MODELS` on every protocol and
seed, writes ``<dataset>__<protocol>__<model>__seed<k>.json`` into the
experiment folder (:func:`experiment_folder`), and regenerates the tables of
:data:`TABLES` from those files (``tables.md`` beside them). A result is reused
when its recipe hash (data config, seed, protocol, model spec, training
configs) matches; MyoSem's stages reuse their own cached runs the same way, so
the notebooks and this command share work. Code is not in the hash: after a
change to a training loop, bump :data:`RECIPE_VERSION` or pass ``--force``.

Every model sees the same windows, split, candidates (all class prototypes)
and metrics (:func:`myosem_core.retrieval.evaluate_scores`):

- ``myosem``: Stage 1 prototypes, Stage 2 encoder, Stage 3 alignment;
- EMG baselines: deep backbones aligned to the same Stage-1 prototypes
  (:mod:`myosem_core.baselines.deep`), LDA and a random forest (probabilities);
  foundation-model rows (CPEP, EMBridge, AEMG) run once their issues register
  a retriever of that name, and show as missing until then;
- text baselines: MyoSem's Stage-2 encoder with Stage 3 trained against other
  prototypes (:mod:`myosem_core.baselines.text`);
- ablations: MyoSem with one part switched off through its config.

``cross-dataset`` needs two datasets; with one dataset (NinaPro DB1 here) it is
not run and the CLI says so.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from .config import Config, make_config, run_directory
from .errors import ConfigError
from .io import read_json, write_text
from .paths import runs_root
from .retrieval import evaluate_retriever, prototypes_for, result_path, save_result
from .threads import set_threads

#: bump when a change to the training code should invalidate cached results
RECIPE_VERSION = 4
PROTOCOLS = ("rand", "user", "class")
DEFAULT_SEEDS = {"quick": (0,), "full": (0, 1, 2)}


@dataclass(frozen=True)
class ModelSpec:
    """One row of the comparison: which EMG encoder, which text prototypes, which switches."""

    name: str  # the "model" field of its result files
    label: str  # shown in tables
    group: str  # MyoSem | EMG-DL | classical | EMG-FM | text | ablation
    emg: str = "myosem"  # "myosem" (Stages 2-3) or a retriever registry name
    text: str = "stage1"  # prototypes: stage1 | frozen | label | tfidf | none (a classifier that ranks by probability)
    encoder: dict = field(default_factory=dict)  # Stage-2 EncoderConfig overrides
    head: dict = field(default_factory=dict)  # Stage-3 QueryHeadConfig overrides
    note: str = ""

    @property
    def is_myosem(self) -> bool:
        return self.emg == "myosem"


def _specs(*specs: ModelSpec) -> dict[str, ModelSpec]:
    return {s.name: s for s in specs}


MODELS: dict[str, ModelSpec] = _specs(
    ModelSpec("myosem", "MyoSem", "MyoSem"),
    ModelSpec("tcn", "TCN", "EMG-DL", emg="tcn"),
    ModelSpec("attn-cnn-rnn", "Attn-CNN-RNN", "EMG-DL", emg="attn-cnn-rnn"),
    ModelSpec("cnn-bilstm", "CNN-BiLSTM", "EMG-DL", emg="cnn-bilstm"),
    ModelSpec("se-cnn", "SE-CNN", "EMG-DL", emg="se-cnn"),
    ModelSpec("atzori-cnn", "Atzori CNN", "EMG-DL", emg="atzori-cnn"),
    ModelSpec("lda", "LDA (TD features)", "classical", emg="lda", text="none",
              note="class probabilities; unseen classes score 0"),
    ModelSpec("rf", "Random forest (TD features)", "classical", emg="rf", text="none",
              note="class probabilities; unseen classes score 0"),
    ModelSpec("cpep", "CPEP", "EMG-FM", emg="cpep", note="row of the EMBridge issue"),
    ModelSpec("embridge", "EMBridge", "EMG-FM", emg="embridge", note="row of the EMBridge issue"),
    ModelSpec("aemg", "AEMG", "EMG-FM", emg="aemg", note="row of the AEMG issue"),
    ModelSpec("text-frozen", "Frozen MiniLM, all views", "text", text="frozen"),
    ModelSpec("text-label", "Frozen MiniLM, label only", "text", text="label"),
    ModelSpec("text-tfidf", "TF-IDF + SVD, all views", "text", text="tfidf"),
    ModelSpec("myosem-no-activation", "w/o activation-aware descriptors", "ablation",
              encoder={"gates_fixed_zero": True}),
    ModelSpec("myosem-no-queries", "w/o semantic queries", "ablation", head={"use_queries": False}),
    ModelSpec("myosem-no-pretrain", "w/o action-semantic pretraining", "ablation", text="label",
              note="frozen encoder, label text only"),
    ModelSpec("myosem-no-vq", "w/o VQ", "ablation", encoder={"use_vq": False}),
)


@dataclass(frozen=True)
class TableSpec:
    title: str
    models: tuple[str, ...]


TABLES: dict[str, TableSpec] = {
    "emg": TableSpec("EMG encoders (same Stage-1 prototypes)",
                     ("myosem", "tcn", "attn-cnn-rnn", "cnn-bilstm", "se-cnn", "atzori-cnn", "lda", "rf", "cpep",
                      "embridge", "aemg")),
    "text": TableSpec("Text prototypes (same MyoSem Stage-2 encoder, Stage 3 retrained)",
                      ("myosem", "text-frozen", "text-label", "text-tfidf")),
    "ablation": TableSpec("Ablations of MyoSem",
                          ("myosem", "myosem-no-activation", "myosem-no-queries", "myosem-no-pretrain",
                           "myosem-no-vq")),
}

TFIDF_DIM = 64


# ------------------------------------------------------------------ where results go

def resolve_data_dir(data_dir: str | Path | None) -> str | None:
    """The absolute data folder: ``../shared/data/x`` and ``/abs/shared/data/x`` must key the same cached runs."""
    return str(Path(data_dir).expanduser().resolve()) if data_dir else None


def experiment_folder(preset: str = "quick", dataset: str = "synthetic", data_dir: str | None = None,
                      runs: str | Path | None = None) -> Path:
    """``<runs>/experiments-<dataset>-<preset>-<hash of the data config>``: every seed's results of this data."""
    cfg = make_config(preset, dataset, resolve_data_dir(data_dir), seed=0)
    return run_directory(runs_root(runs), cfg, name=f"experiments-{dataset}")


def load_experiment_results(folder: str | Path) -> list[dict]:
    """Every result JSON in an experiment folder."""
    return [read_json(p) for p in sorted(Path(folder).glob("*__*__*__seed*.json"))]


# ------------------------------------------------------------------ recipes (what a result depends on)

def stage_presets(preset: str, protocol: str | None = None):
    """MyoSem's Stage-2 and Stage-3 configs of a preset and protocol (the deep baselines derive theirs from the same)."""
    from .training import Stage2Config, Stage3Config

    return (Stage2Config.preset_named(preset).for_protocol(protocol),
            Stage3Config.preset_named(preset).for_protocol(protocol))


def _stage_configs(spec: ModelSpec, preset: str, protocol: str | None = None):
    s2, s3 = stage_presets(preset, protocol)
    if spec.encoder:
        s2 = replace(s2, encoder=replace(s2.encoder, **spec.encoder))
    if spec.head:
        s3 = replace(s3, head=replace(s3.head, **spec.head))
    return s2, s3


def recipe(spec: ModelSpec, cfg: Config, protocol: str) -> dict:
    """Everything a result depends on; its hash keys the cached result."""
    from .training.common import config_hash

    out: dict = {"version": RECIPE_VERSION, "data": cfg.to_dict(), "protocol": protocol, "spec": asdict(spec)}
    if spec.is_myosem or spec.text != "stage1":
        s2, s3 = _stage_configs(spec, cfg.preset, protocol)
        out.update(stage2=s2.key(), stage3=asdict(s3))
    if spec.text in ("stage1", "frozen", "label", "tfidf"):
        from .text.stage1 import Stage1Config

        s1 = Stage1Config.preset(cfg.preset, seed=cfg.seed)
        out["stage1"] = asdict(s1) if spec.text == "stage1" else {"process": asdict(s1.process)}
    if spec.text == "tfidf":
        out["tfidf_dim"] = TFIDF_DIM
    if not spec.is_myosem:
        from .baselines.registry import DEEP_BASELINES

        if spec.emg in DEEP_BASELINES:
            from .baselines.deep import DeepConfig

            out["deep"] = asdict(DeepConfig.preset_named(cfg.preset, protocol))
    out = _drop_threads(out)
    out["hash"] = config_hash(out)
    return out


def _drop_threads(d):
    """Thread counts change speed, not results: keep them out of the recipe."""
    if isinstance(d, dict):
        return {k: _drop_threads(v) for k, v in d.items() if k != "threads"}
    return d


# ------------------------------------------------------------------ running

class Context:
    """Per-process memo of windows, splits and prototypes (loading them is cheap, training Stage 1 is not)."""

    def __init__(self, runs=None, progress: bool = True):
        self.runs, self.progress = runs, progress
        self._data: dict = {}
        self._protos: dict = {}

    def data(self, cfg: Config, protocol: str):
        from .pipeline import load_data

        key = (cfg.hash(), protocol)
        if key not in self._data:
            self._data[key] = load_data(cfg, protocol)
        return self._data[key]

    def prototypes(self, source: str, cfg: Config, protocol: str) -> np.ndarray | None:
        if source == "none":
            return None
        key = (source, cfg.hash(), protocol)
        if key not in self._protos:
            ws, split = self.data(cfg, protocol)
            self._protos[key] = self._build_prototypes(source, cfg, ws, split)
        return self._protos[key]

    def _build_prototypes(self, source, cfg, ws, split) -> np.ndarray:
        from .text.stage1 import Stage1Config, load_or_train_stage1

        if source == "stage1":
            return prototypes_for(load_or_train_stage1(cfg, ws, split, self.runs, progress=self.progress),
                                  ws.class_keys)
        from .baselines.text import frozen_prototypes, tfidf_prototypes
        from .text.views import build_views

        views = build_views(ws, split, Stage1Config.preset(cfg.preset, seed=cfg.seed).process)
        if source == "frozen":
            return frozen_prototypes(views, "all")
        if source == "label":
            return frozen_prototypes(views, "label")
        if source == "tfidf":
            return tfidf_prototypes(views, split.heldout_classes, TFIDF_DIM, seed=cfg.seed)
        raise ConfigError(f"unknown text source {source!r}")


def _train_myosem(spec: ModelSpec, cfg: Config, ws, split, P, ctx: Context):
    from .baselines.myosem import MyoSemRetriever
    from .training import load_or_train_stage2, load_or_train_stage3

    s2cfg, s3cfg = _stage_configs(spec, cfg.preset, split.config.name)
    s2 = load_or_train_stage2(cfg, ws, split, s2cfg, ctx.runs, ctx.progress)
    s3 = load_or_train_stage3(cfg, ws, split, P, s2, s3cfg, runs=ctx.runs, progress=ctx.progress)
    seconds = sum(r.get("seconds", 0.0) for r in s2.curves) + sum(r.get("seconds", 0.0) for r in s3.curves)
    info = {"train_seconds": seconds, "stage2_run": str(s2.folder), "stage3_run": str(s3.folder)}
    return MyoSemRetriever.from_run(s3), info


def cached_result(name: str, protocol: str, seed: int, preset: str, dataset: str, data_dir: str | None,
                  runs: str | Path | None = None) -> dict | None:
    """The saved result of one row when its recipe still matches today's code, else None."""
    data_dir = resolve_data_dir(data_dir)
    path = result_path(experiment_folder(preset, dataset, data_dir, runs), dataset, protocol, name, seed)
    if not path.is_file():
        return None
    cached = read_json(path)
    rec = recipe(model_spec(name), make_config(preset, dataset, data_dir, seed), protocol)
    return cached if cached.get("recipe_hash") == rec["hash"] else None


def model_spec(name: str) -> ModelSpec:
    """The registry entry ``name``. An unknown name, or a row whose EMG retriever nobody registered, is a
    :class:`ConfigError` listing the known ones."""
    from .retrievers import RETRIEVERS

    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; expected one of {list(MODELS)}")
    spec = MODELS[name]
    if not spec.is_myosem and spec.emg not in RETRIEVERS:
        raise ConfigError(f"model {name!r} needs the EMG retriever {spec.emg!r}, which is not registered; "
                          f"registered: {sorted(RETRIEVERS)}")
    return spec


def run_experiment(name: str, protocol: str, seed: int = 0, preset: str = "quick", dataset: str = "synthetic",
                   data_dir: str | None = None, runs: str | Path | None = None, ctx: Context | None = None,
                   progress: bool = True, force: bool = False) -> dict:
    """One model on one protocol and seed: the cached result when its recipe matches, else train and save."""
    from .retrievers import make_retriever

    spec = model_spec(name)
    if protocol not in PROTOCOLS:
        raise ConfigError(f"protocol {protocol!r} is not run here; expected one of {PROTOCOLS} "
                          "(cross-dataset needs two datasets)")
    data_dir = resolve_data_dir(data_dir)
    ctx = ctx or Context(runs, progress)
    cfg = make_config(preset, dataset, data_dir, seed)
    cached = None if force else cached_result(name, protocol, seed, preset, dataset, data_dir, runs)
    if cached is not None:
        return cached
    folder = experiment_folder(preset, dataset, data_dir, runs)
    rec = recipe(spec, cfg, protocol)
    ws, split = ctx.data(cfg, protocol)
    P = ctx.prototypes(spec.text, cfg, protocol)
    t0 = time.perf_counter()
    if spec.is_myosem:
        retriever, info = _train_myosem(spec, cfg, ws, split, P, ctx)
    else:
        retriever = make_retriever(spec.emg, seed=seed, preset=preset, progress=progress, protocol=protocol)
        retriever.fit(ws.subset(split.train), ws.subset(split.val), P)
        info = {"train_seconds": time.perf_counter() - t0}
        if hasattr(retriever, "describe"):
            info["details"] = {k: v for k, v in retriever.describe().items() if k != "curves"}
    result = evaluate_retriever(name, ws, split, P, seed, retriever=retriever)
    result.update(label=spec.label, group=spec.group, preset=preset, text_source=spec.text,
                  recipe_hash=rec["hash"], recipe={k: v for k, v in rec.items() if k != "data"}, **info)
    result["path"] = str(save_result(folder, result))
    return result


def default_jobs() -> int:
    """Worker processes for the grid: ``$MYOSEM_JOBS`` (the Makefile's ``JOBS``), else 1."""
    text = os.environ.get("MYOSEM_JOBS", "1").strip() or "1"
    try:
        jobs = int(text)
    except ValueError:
        raise ConfigError(f"environment variable MYOSEM_JOBS must be a whole number of processes, got {text!r}")
    if jobs < 1:
        raise ConfigError(f"environment variable MYOSEM_JOBS must be at least 1, got {jobs}")
    return jobs


def _init_worker(n_threads: int) -> None:
    """Worker processes use the caller's intra-op thread count: Stage 1 and the evaluations run on the
    global setting, and a different count changes their floating-point sums, hence the numbers."""
    set_threads(n_threads)


def _run_group(models, protocol, seed, preset, dataset, data_dir, runs, force) -> list[dict]:
    """One worker's unit of the grid: ``models`` of one (protocol, seed), in order, sharing one memo."""
    ctx = Context(runs, progress=False)
    return [run_experiment(m, protocol, seed, preset, dataset, data_dir, runs, ctx, False, force) for m in models]


def _prepare_stage1(protocol, seed, preset, dataset, data_dir, runs) -> None:
    """Train (or read) one group's Stage-1 text space in a worker."""
    Context(runs, progress=False).prototypes("stage1", make_config(preset, dataset, data_dir, seed), protocol)


def _shared_run(name: str) -> str:
    """Rows with the same value train a shared run, so they must stay in one worker (else both train it)."""
    spec = MODELS[name]
    if spec.is_myosem and not spec.encoder:
        return "myosem-stage2"  # MyoSem, its text rows and the head-only ablations: one Stage-2 run
    if spec.emg in ("cpep", "embridge"):
        return "pose-mae"  # one pose MAE under both rows
    return name


def work_units(models, groups) -> list[tuple[str, int, tuple[str, ...]]]:
    """The grid as ``(protocol, seed, models)`` units for worker processes, the largest first.

    Rows that train a shared run (:func:`_shared_run`) form one unit; every other row is a unit of its
    own, so even a single (protocol, seed), as notebook 05 trains it in the quick preset, uses every core.
    """
    units = []
    for protocol, seed in groups:
        by_run: dict[str, list[str]] = {}
        for m in models:
            by_run.setdefault(_shared_run(m), []).append(m)
        units += [(protocol, seed, tuple(ms)) for ms in by_run.values()]
    return sorted(units, key=lambda u: -len(u[2]))  # stable: ties keep the grid's order


def run_experiments(models=None, protocols=PROTOCOLS, seeds=None, preset: str = "quick", dataset: str = "synthetic",
                    data_dir: str | None = None, runs: str | Path | None = None, progress: bool = True,
                    force: bool = False, threads: int | None = 1, jobs: int | None = None,
                    model_progress: bool = True) -> list[dict]:
    """Every model x protocol x seed; the cached result wherever its recipe still matches.

    ``progress`` shows a bar over the grid; ``model_progress`` also each training's own bars.

    ``jobs`` (default :func:`default_jobs`) > 1 spreads the grid's :func:`work_units` over that many
    worker processes: every trainer here uses one intra-op thread, so on a machine with more cores
    the grid's wall time falls about with the number of units run at once. Each training is seeded
    on its own and the workers keep this process's thread count, so the results do not depend on
    ``jobs``.
    """
    import torch
    from tqdm.auto import tqdm

    set_threads(threads)
    models = list(models or MODELS)
    seeds = list(DEFAULT_SEEDS[preset] if seeds is None else seeds)
    for name in models:  # fail here, before any worker starts
        model_spec(name)
    jobs = default_jobs() if jobs is None else int(jobs)
    groups = [(p, s) for s in seeds for p in protocols]
    if jobs > 1 and len(work_units(models, groups)) > 1:
        return _run_groups_in_parallel(models, groups, preset, dataset, data_dir, runs, force, jobs, progress,
                                       torch.get_num_threads())
    ctx = Context(runs, progress)
    out = []
    bar = tqdm([(g, m) for g in groups for m in models], desc="experiments", disable=not progress)
    for (protocol, seed), name in bar:
        bar.set_postfix_str(f"{name}, {protocol}, seed {seed}", refresh=False)
        out.append(run_experiment(name, protocol, seed, preset, dataset, data_dir, runs, ctx,
                                  progress and model_progress, force))
    return out


def _run_groups_in_parallel(models, groups, preset, dataset, data_dir, runs, force, jobs, progress,
                            n_threads: int) -> list[dict]:
    """The grid's :func:`work_units` on ``jobs`` spawned processes; results in the serial order.

    Stage 1, which almost every row needs, is trained (or read) first, one worker per group, so that
    no two workers train the same one at once.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from tqdm.auto import tqdm

    data_dir = resolve_data_dir(data_dir)
    done: dict = {}
    if not force:  # rows already computed with today's recipe need no worker
        for p, s in groups:
            for m in models:
                r = cached_result(m, p, s, preset, dataset, data_dir, runs)
                if r is not None:
                    done[(p, s, m)] = r
    todo = [(p, s) for p, s in groups if any((p, s, m) not in done for m in models)]
    units = [(p, s, tuple(m for m in ms if (p, s, m) not in done)) for p, s, ms in work_units(models, todo)]
    units = [u for u in units if u[2]]
    if not units:
        return [done[(p, s, m)] for p, s in groups for m in models if (p, s, m) in done]
    needs_stage1 = any(MODELS[m].text == "stage1" for _, _, ms in units for m in ms)
    protocol, seed = todo[0]  # build the window cache once here, not in every worker at once
    Context(runs, False).data(make_config(preset, dataset, data_dir, seed), protocol)
    with ProcessPoolExecutor(min(jobs, len(units)), mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_worker, initargs=(n_threads,)) as pool:
        if needs_stage1:  # first wave: each group's Stage-1 text space, so no two units train it at once
            list(pool.map(_prepare_stage1, *zip(*[(p, s, preset, dataset, data_dir, runs) for p, s in todo])))
        futures = {pool.submit(_run_group, ms, p, s, preset, dataset, data_dir, runs, force): (p, s)
                   for p, s, ms in units}
        for f in tqdm(as_completed(futures), total=len(futures), desc=f"experiments ({jobs} processes)",
                      disable=not progress):
            for r in f.result():
                done[(r["protocol"], r["seed"], r["model"])] = r
    return [done[(p, s, m)] for p, s in groups for m in models if (p, s, m) in done]


# ------------------------------------------------------------------ tables

def experiment_tables(results: list[dict], protocols=PROTOCOLS, seeds=None, preset: str = "quick",
                      names=None) -> dict:
    """``{(table, direction): ComparisonTable}`` of the tables ``names`` (default: all of :data:`TABLES`)."""
    from .tables import DIRECTIONS, comparison_table

    n_seeds = len(DEFAULT_SEEDS[preset] if seeds is None else seeds)
    labels = {k: s.label for k, s in MODELS.items()}
    tag = " [SYNTHETIC data]" if any(r.get("synthetic") for r in results) else ""
    columns = [c for p in protocols for c in ((p, "class-heldout") if p == "class" else (p,))]
    return {(name, d): comparison_table(results, TABLES[name].models, columns, d, labels=labels, n_seeds=n_seeds,
                                        title=f"{TABLES[name].title} — {DIRECTIONS[d]}{tag}")
            for name in (names or TABLES) for d in DIRECTIONS}


def timing_table(results: list[dict], models):
    """Mean training seconds per model (rows) and protocol (columns) as recorded in the results.

    MyoSem-family rows sum their Stage-2 and Stage-3 epochs (Stage 1 and a Stage 2
    shared with other rows are counted in each); baselines time their ``fit``.
    A machine shared with other jobs inflates all of them: compare within a column,
    and see ``benchmarks/bench_baselines.py`` for controlled ratios.
    """
    import pandas as pd

    rows = [{"model": MODELS[r["model"]].label, "protocol": r["protocol"], "seconds": r.get("train_seconds")}
            for r in results if r["model"] in models and r.get("train_seconds") is not None]
    if not rows:
        return pd.DataFrame()
    t = pd.DataFrame(rows).pivot_table(index="model", columns="protocol", values="seconds", aggfunc="mean")
    return t.reindex([MODELS[m].label for m in models if MODELS[m].label in t.index]).round(1)


@dataclass
class ExperimentView:
    """What a notebook shows: the results of its protocols and seeds, and their tables."""

    results: list[dict]
    tables: dict
    protocols: list[str]
    seeds: list[int]
    folder: Path


def notebook_experiments(names, preset: str = "quick", dataset: str = "synthetic", data_dir: str | None = None,
                         protocol: str = "rand", seed: int = 0, run_dir: str | Path | None = None, protocols=None,
                         seeds=None, progress: bool = True) -> ExperimentView:
    """Run (or reuse) the models of tables ``names`` and build those tables, as notebooks 05 and 06 do.

    Defaults: preset ``quick`` -> trains the notebook's ``protocol`` and ``seed`` only (CI
    budget), and also shows every other protocol and seed whose cached result still matches
    its recipe (e.g. written by ``python -m myosem_core.experiments --preset quick --seeds 0 1 2``);
    ``full`` -> every protocol and seeds 0, 1, 2.
    """
    shown_by_default = protocols is None and seeds is None and preset == "quick"
    protocols = list(protocols or ([protocol] if preset == "quick" else PROTOCOLS))
    seeds = list(seeds if seeds is not None else ([seed] if preset == "quick" else DEFAULT_SEEDS[preset]))
    models = list(dict.fromkeys(m for n in names for m in TABLES[n].models))
    # one bar over the grid, not every training's bars: in a notebook each bar update is a widget message,
    # and nbval reads a cell's messages only once the cell ends - past ZMQ's 1000-message buffer they are
    # dropped, the kernel's final 'idle' among them, and nbval fails the cell ("waiting for output")
    run_experiments(models, protocols, seeds, preset, dataset, data_dir, run_dir, progress, model_progress=False)
    folder = experiment_folder(preset, dataset, data_dir, run_dir)
    results = current_results(folder, models, preset, dataset, data_dir)
    if shown_by_default:
        protocols = [p for p in PROTOCOLS if p in {r["protocol"] for r in results} | set(protocols)]
        seeds = sorted({r["seed"] for r in results} | set(seeds))
    results = [r for r in results if r["seed"] in set(seeds) and r["protocol"] in set(protocols)]
    return ExperimentView(results, experiment_tables(results, protocols, seeds, preset, names), protocols, seeds,
                          folder)


def current_results(folder: str | Path, models, preset: str, dataset: str, data_dir: str | None = None) -> list[dict]:
    """The results in ``folder`` of ``models`` on ``dataset`` whose recipe hash matches today's recipe.

    A file written before a config change (a stale recipe) is left out, never shown as current.
    """
    data_dir, out = resolve_data_dir(data_dir), []
    for r in load_experiment_results(folder):
        if r.get("dataset") != dataset or r.get("model") not in models or r.get("protocol") not in PROTOCOLS:
            continue
        cfg = make_config(preset, dataset, data_dir, r["seed"])
        if r.get("recipe_hash") == recipe(MODELS[r["model"]], cfg, r["protocol"])["hash"]:
            out.append(r)
    return out


def tables_markdown(tables: dict, ours: str = "myosem") -> str:
    from .tables import reading

    parts = []
    for t in tables.values():
        parts += [t.to_markdown(), "", *[f"- {s}" for s in reading(t, ours)], ""]
    return "\n".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m myosem_core.experiments",
                                 description="Run (or reuse) every comparison experiment and regenerate the tables.")
    ap.add_argument("--preset", default="quick", choices=("quick", "full"))
    ap.add_argument("--dataset", default="ninapro-db1")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seeds", type=int, nargs="+", default=None, help="default: 0 (quick), 0 1 2 (full)")
    ap.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=PROTOCOLS + ("cross-dataset",))
    ap.add_argument("--models", nargs="+", default=None, choices=list(MODELS))
    ap.add_argument("--runs", default=None, help="runs root (default $MYOSEM_RUNS or <repo>/runs)")
    ap.add_argument("--threads", type=int, default=1,
                    help="intra-op threads of each process (default 1: the trainers use one; more helps Stage 1 only)")
    ap.add_argument("--jobs", type=int, default=None,
                    help="worker processes, one (protocol, seed) group each at a time (default $MYOSEM_JOBS or 1)")
    ap.add_argument("--force", action="store_true", help="retrain even when a cached result matches")
    ap.add_argument("--tables-only", action="store_true", help="regenerate the tables from existing results")
    args = ap.parse_args(argv)
    if "cross-dataset" in args.protocols:
        raise SystemExit("cross-dataset needs two datasets (e.g. DB2 -> DB3); only one dataset "
                         f"({args.dataset}) is given here, so it is not run")
    if args.dataset != "synthetic" and not args.data_dir:
        raise SystemExit(f"--data-dir is required for dataset {args.dataset!r}")
    seeds = DEFAULT_SEEDS[args.preset] if args.seeds is None else args.seeds
    if not args.tables_only:
        run_experiments(args.models, args.protocols, seeds, args.preset, args.dataset, args.data_dir, args.runs,
                        threads=args.threads, force=args.force, jobs=args.jobs)
    folder = experiment_folder(args.preset, args.dataset, args.data_dir, args.runs)
    results = [r for r in load_experiment_results(folder) if r["seed"] in set(seeds) and r["dataset"] == args.dataset]
    text = tables_markdown(experiment_tables(results, args.protocols, seeds, args.preset))
    write_text(folder / "tables.md", text)
    print(text)
    print(f"results and tables.md in {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
