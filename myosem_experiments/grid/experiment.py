"""One cell of the grid: a row (model) on one protocol and seed, read from its cached result or trained and saved.

:class:`Context` is the per-process memo a run of cells shares: windows, splits and text prototypes.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from myosem_core.adaptation import NewUserAdaptation
from myosem_core.config import Config, DataConfig
from myosem_core.errors import ConfigError
from myosem_core.evaluation.retrieval_results import evaluate_retriever, save_result
from myosem_core.prepare import load_data
from myosem_core.presets import preset_section
from myosem_core.run_store import digest
from myosem_core.scoring import prototypes_for

from .recipes import TFIDF_DIM, recipe, row_stage_configs
from .results import cached_result, experiment_config, experiment_folder
from .rows import GRID_PROTOCOLS, ModelSpec, model_spec


class Context:
    """Per-process memo of windows, splits and prototypes (loading them is cheap, training Stage 1 is not)."""

    def __init__(self, runs=None, progress: bool = True):
        self.runs, self.progress = runs, progress
        self._data: dict = {}
        self._protos: dict = {}

    def data(self, cfg: Config, protocol: str):
        key = (digest(cfg), protocol)
        if key not in self._data:
            self._data[key] = load_data(cfg, protocol, self.progress)
        return self._data[key]

    def prototypes(self, source: str, cfg: Config, protocol: str) -> np.ndarray | None:
        if source == "none":
            return None
        key = (source, digest(cfg), protocol)
        if key not in self._protos:
            ws, split = self.data(cfg, protocol)
            self._protos[key] = self._build_prototypes(source, cfg, ws, split)
        return self._protos[key]

    def _build_prototypes(self, source, cfg, ws, split) -> np.ndarray:
        from myosem_core.text.stage1 import load_or_train_stage1

        s1 = replace(preset_section(cfg.preset, "stage1"), seed=cfg.seed)
        if source == "stage1":
            return prototypes_for(load_or_train_stage1(ws, split, s1, self.runs, self.progress, query=False),
                                  ws.class_keys)
        from myosem_core.baselines.text import frozen_prototypes, tfidf_prototypes
        from myosem_core.text.views import build_views

        views = build_views(ws, split, s1.process)
        if source == "frozen":
            return frozen_prototypes(views, "all")
        if source == "label":
            return frozen_prototypes(views, "label")
        if source == "tfidf":
            return tfidf_prototypes(views, split.heldout_classes, TFIDF_DIM, seed=cfg.seed)
        raise ConfigError(f"unknown text source {source!r}")


def _train(spec: ModelSpec, cfg: Config, ws, split, P, ctx: Context):
    """The row's retriever fitted on the split's training windows (MyoSem and the deep rows through the run
    store), and what its result records about the training."""
    from myosem_core.baselines.registry import make_retriever
    from myosem_core.training.common import training_seconds

    t0 = time.perf_counter()
    train, val = ws.subset(split.train), ws.subset(split.val)
    if spec.is_myosem:
        s2, s3 = row_stage_configs(spec, cfg.preset, split.config.name)
        retriever = make_retriever("myosem", stage2=s2, stage3=s3, seed=cfg.seed, runs=ctx.runs,
                                   progress=ctx.progress).fit(train, val, P)
        s2run, s3run = retriever.stage2_run, retriever.run
        return retriever, {"train_seconds": training_seconds(s2run, s3run), "stage2_run": s2run.folder.name,
                           "stage3_run": s3run.folder.name}
    retriever = make_retriever(spec.emg, preset=cfg.preset, protocol=split.config.name, seed=cfg.seed,
                               runs=ctx.runs, progress=ctx.progress, **spec.options).fit(train, val, P)
    info = {"train_seconds": time.perf_counter() - t0}
    if hasattr(retriever, "describe"):
        info["details"] = {k: v for k, v in retriever.describe().items() if k != "curves"}
        if info["details"].get("run"):  # a run-store model (deep rows): the seconds its training took
            info["train_seconds"] = info["details"]["train_seconds"]
    return retriever, info


def run_experiment(name: str, protocol: str, seed: int = 0, preset: str = "quick", dataset: str = "synthetic",
                   data_dir: str | None = None, runs: str | Path | None = None, ctx: Context | None = None,
                   progress: bool = True, force: bool = False, data: DataConfig | None = None) -> dict:
    """One model on one protocol and seed: the cached result when its recipe matches, else train and save.

    ``data`` replaces the preset's data config (e.g. with per-subject calibration); its results go to a
    results folder of their own."""
    spec = model_spec(name)
    if protocol not in GRID_PROTOCOLS:
        raise ConfigError(f"protocol {protocol!r} is not run here; expected one of {GRID_PROTOCOLS} "
                          "(cross-dataset needs two datasets)")
    if not spec.runs_on(protocol):
        raise ConfigError(f"model {name!r} has no result under {protocol!r}; it runs under {list(spec.protocols)}")
    ctx = ctx or Context(runs, progress)
    cfg = experiment_config(preset, dataset, data_dir, seed, data)
    cached = None if force else cached_result(name, protocol, seed, preset, dataset, data_dir, runs, data)
    if cached is not None:
        return cached
    folder = experiment_folder(preset, dataset, data_dir, runs, data)
    rec = recipe(spec, cfg, protocol)
    ws, split = ctx.data(cfg, protocol)
    P = ctx.prototypes(spec.text, cfg, protocol)
    retriever, info = _train(spec, cfg, ws, split, P, ctx)
    result = evaluate_retriever(name, ws, split, P, seed, retriever=retriever,
                                adaptation=NewUserAdaptation(**spec.adaptation))
    if spec.calibrated_stacking and split.heldout_classes:
        from ..evaluation.calibrated_stacking import calibrated_stacking_result

        result["calibrated_stacking"] = calibrated_stacking_result(
            cfg, ws, split, P, retriever, None, *row_stage_configs(spec, preset, protocol), ctx.runs, ctx.progress)
    result.update(label=spec.label, group=spec.group, preset=preset, text_source=spec.text,
                  recipe_hash=rec["hash"], recipe={k: v for k, v in rec.items() if k != "data"}, **info)
    result["path"] = Path(save_result(folder, result)).name
    return result
