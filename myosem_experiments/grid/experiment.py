"""One cell of the grid: a row (model) on one protocol and seed, read from its cached result or trained and saved.

:class:`Context` is the per-process memo a run of cells shares: windows, splits and text prototypes.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from myosem_core.config import Config, make_config
from myosem_core.errors import ConfigError
from myosem_core.evaluation.retrieval_results import evaluate_retriever, save_result
from myosem_core.scoring import prototypes_for

from .recipes import TFIDF_DIM, recipe, row_stage_configs
from .results import cached_result, experiment_folder, resolve_data_dir
from .rows import NEW_USER_PROTOCOLS, PROTOCOLS, ModelSpec, model_spec


class Context:
    """Per-process memo of windows, splits and prototypes (loading them is cheap, training Stage 1 is not)."""

    def __init__(self, runs=None, progress: bool = True):
        self.runs, self.progress = runs, progress
        self._data: dict = {}
        self._protos: dict = {}

    def data(self, cfg: Config, protocol: str):
        from ..pipeline import load_data

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
        from myosem_core.text.stage1 import Stage1Config, load_or_train_stage1

        if source == "stage1":
            return prototypes_for(load_or_train_stage1(cfg, ws, split, self.runs, progress=self.progress),
                                  ws.class_keys)
        from myosem_core.baselines.text import frozen_prototypes, tfidf_prototypes
        from myosem_core.text.views import build_views

        views = build_views(ws, split, Stage1Config.preset(cfg.preset, seed=cfg.seed).process)
        if source == "frozen":
            return frozen_prototypes(views, "all")
        if source == "label":
            return frozen_prototypes(views, "label")
        if source == "tfidf":
            return tfidf_prototypes(views, split.heldout_classes, TFIDF_DIM, seed=cfg.seed)
        raise ConfigError(f"unknown text source {source!r}")


def _train_myosem(spec: ModelSpec, cfg: Config, ws, split, P, ctx: Context):
    from myosem_core.baselines.myosem import MyoSemRetriever
    from myosem_core.training import load_or_train_stage2, load_or_train_stage3

    s2cfg, s3cfg = row_stage_configs(spec, cfg.preset, split.config.name)
    s2 = load_or_train_stage2(cfg, ws, split, s2cfg, ctx.runs, ctx.progress)
    s3 = load_or_train_stage3(cfg, ws, split, P, s2, s3cfg, runs=ctx.runs, progress=ctx.progress)
    from myosem_core.training.common import training_seconds

    info = {"train_seconds": training_seconds(s2, s3), "stage2_run": str(s2.folder), "stage3_run": str(s3.folder)}
    return MyoSemRetriever.from_run(s3), info


def run_experiment(name: str, protocol: str, seed: int = 0, preset: str = "quick", dataset: str = "synthetic",
                   data_dir: str | None = None, runs: str | Path | None = None, ctx: Context | None = None,
                   progress: bool = True, force: bool = False) -> dict:
    """One model on one protocol and seed: the cached result when its recipe matches, else train and save."""
    from myosem_core.baselines.registry import make_retriever

    spec = model_spec(name)
    if protocol not in PROTOCOLS + NEW_USER_PROTOCOLS:
        raise ConfigError(f"protocol {protocol!r} is not run here; expected one of {PROTOCOLS + NEW_USER_PROTOCOLS} "
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
    if spec.calibrated_stacking and split.heldout_classes:
        from ..evaluation.calibrated_stacking import calibrated_stacking_result

        result["calibrated_stacking"] = calibrated_stacking_result(
            cfg, ws, split, P, retriever, None, *row_stage_configs(spec, preset, protocol), ctx.runs, ctx.progress)
    result.update(label=spec.label, group=spec.group, preset=preset, text_source=spec.text,
                  recipe_hash=rec["hash"], recipe={k: v for k, v in rec.items() if k != "data"}, **info)
    result["path"] = str(save_result(folder, result))
    return result
