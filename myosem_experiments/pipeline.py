"""MyoSem end to end on one protocol: windows -> split -> Stage 1 -> Stages 2-3 -> retrieval results.

    out = run_myosem(make_config("quick", "ninapro-db1", data_dir), "user")
    out.results["myosem"]["emg_to_text"]["R@1"], out.results["lda"]["emg_to_text"]["R@1"]

Every stage comes from the run store (:mod:`myosem_core.run_store`) when its key matches, so the
notebooks, the comparison grid and the command line share trained runs. The default split's results are
the comparison grid's (:func:`myosem_experiments.grid.run_experiment`); a changed split or a
data-parallel run writes its own results folder (:func:`~myosem_experiments.grid.results_folder`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from myosem_core import distributed as ddp
from myosem_core.baselines.myosem import MyoSemRetriever
from myosem_core.config import Config
from myosem_core.data.protocols import Split
from myosem_core.data.windows import WindowSet
from myosem_core.evaluation.retrieval_results import evaluate_retriever
from myosem_core.prepare import load_data
from myosem_core.presets import preset_section
from myosem_core.scoring import prototypes_for
from myosem_core.text.stage1 import load_or_train_stage1
from myosem_core.training import train_myosem_stages

from .grid.results import results_folder


@dataclass
class MyoSemOutput:
    ws: WindowSet
    split: Split
    prototypes: object
    stage2: object
    stage3: object
    results_folder: Path
    results: dict = field(default_factory=dict)
    text_space: object = None


def stage_configs(cfg: Config, protocol: str, stage1=None, stage2=None, stage3=None):
    """Stages 1-3's configs: the given ones, else the preset's (Stage 1 with the config's seed; Stages 2-3 for
    ``protocol``, whose new users get the cross-user augmentation)."""
    s1 = stage1 or replace(preset_section(cfg.preset, "stage1"), seed=cfg.seed)
    s2 = (stage2 or preset_section(cfg.preset, "stage2")).for_protocol(protocol)
    s3 = (stage3 or preset_section(cfg.preset, "stage3")).for_protocol(protocol)
    return s1, s2, s3


def load_stage1_text_space(cfg: Config, ws: WindowSet, split: Split, runs=None, progress: bool = True, stage1=None,
                           query: bool = True):
    """Stage 1's frozen text space for this data and split, from the run store or trained there; with ``query``
    its encoder for free text too (a run of its own, which nothing but free text reads).

    Safe under torchrun: rank 0 trains it, the others then read the run."""
    s1, _, _ = stage_configs(cfg, split.config.name, stage1)
    with ddp.main_first():
        return load_or_train_stage1(ws, split, s1, runs, progress, query=query)


def train_myosem(cfg: Config, ws: WindowSet, split: Split, text_space=None, runs: str | Path | None = None,
                 stage1=None, stage2=None, stage3=None, progress: bool = True, query: bool = True):
    """Stage 1 (unless ``text_space`` is given), then Stages 2-3 (:func:`myosem_core.training.train_myosem_stages`),
    each from the run store when its run exists. Stages 2-3 train data-parallel under torchrun.

    Returns ``(text_space, prototypes, stage2_run, stage3_run)``.
    """
    _, s2, s3 = stage_configs(cfg, split.config.name, stage1, stage2, stage3)
    if text_space is None:
        text_space = load_stage1_text_space(cfg, ws, split, runs, progress, stage1, query)
    P = prototypes_for(text_space, ws.class_keys)
    run2, run3 = train_myosem_stages(ws.subset(split.train), ws.subset(split.val), P, s2, s3, cfg.seed, runs, progress)
    return text_space, P, run2, run3


def evaluate_myosem(cfg: Config, ws: WindowSet, split: Split, prototypes, stage3, runs: str | Path | None = None,
                    baselines=("lda",), variant: dict | None = None) -> tuple[Path, dict]:
    """MyoSem (a trained Stage-3 run) and ``baselines`` on the test split, written to the results folder of
    ``variant`` (a changed split, a data-parallel run: never the comparison grid's own folder)."""
    if not variant:
        raise ValueError("the default split's results are the comparison grid's: use run_myosem or grid.run_experiment")
    folder = results_folder(cfg, runs, **variant)
    results = {"myosem": evaluate_retriever("myosem", ws, split, prototypes, cfg.seed, folder,
                                            retriever=MyoSemRetriever.from_run(stage3))}
    for name in baselines:
        results[name] = evaluate_retriever(name, ws, split, prototypes, cfg.seed, folder, preset=cfg.preset,
                                           protocol=split.config.name)
    return folder, results


def run_myosem(cfg: Config, protocol: str, text_space=None, runs: str | Path | None = None, baselines=("lda",),
               progress: bool = True, split_options: dict | None = None, stage2=None, stage3=None,
               query: bool = True) -> MyoSemOutput:
    """Train (or reuse) Stages 1-3 on ``protocol`` and evaluate MyoSem and ``baselines`` on its test split.
    ``query=False`` leaves out Stage 1's encoder for free text (``out.text_space`` then reads no sentences).

    With the protocol's own split and the preset's stages the results are the comparison grid's rows;
    ``split_options`` (fields of the protocol, e.g. ``{"val_subjects": ["S15", "S16"]}``) or changed Stage-2/3
    configs give a results folder of their own.
    """
    ws, split = load_data(cfg, protocol, progress, **(split_options or {}))
    text_space, P, s2, s3 = train_myosem(cfg, ws, split, text_space, runs, stage2=stage2, stage3=stage3,
                                         progress=progress, query=query)
    variant = {k: v for k, v in (("split_options", split_options), ("stage2", stage2), ("stage3", stage3)) if v}
    if variant:
        folder, results = evaluate_myosem(cfg, ws, split, P, s3, runs, baselines, variant)
    else:
        from .grid import run_experiment

        results = {m: run_experiment(m, protocol, cfg.seed, cfg.preset, cfg.data.dataset, cfg.data.data_dir, runs,
                                     progress=progress, data=cfg.data)
                   for m in ("myosem", *baselines)}
        folder = results_folder(cfg, runs)
    return MyoSemOutput(ws, split, P, s2, s3, folder, results, text_space)
