"""MyoSem end to end on one protocol: windows -> split -> Stages 1-3 -> retrieval results (+ baselines).

    out = run_myosem(make_config("quick", "ninapro-db1", data_dir), "user", text_space)
    out.results["myosem"]["emg_to_text"]["R@1"], out.results["lda"]["emg_to_text"]["R@1"]

``text_space`` is Stage 1's TextSpace (``class_keys``, ``prototypes``,
``encode_text``) or anything with those attributes; its prototypes are frozen.
``None`` loads (or trains) Stage 1 for the same data and split.
Every stage reuses its cached run when the config hash matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from myosem_core.baselines.myosem import MyoSemRetriever
from myosem_core.config import Config, run_directory
from myosem_core.data.protocols import Split, make_split
from myosem_core.data.windows import WindowSet
from myosem_core.paths import runs_root
from myosem_core.prepare import load_split_windows
from myosem_core.evaluation.retrieval_results import evaluate_retriever
from myosem_core.scoring import prototypes_for


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


def results_folder(cfg: Config, runs: str | Path | None = None, **parts) -> Path:
    """Where retrieval results of every model on this data config go (one JSON per dataset/protocol/model/seed);
    ``parts`` (a changed split, a data-parallel run) key a folder of their own."""
    return run_directory(runs_root(runs), cfg, name=f"retrieval-{cfg.data.dataset}", **parts)


def load_data(cfg: Config, protocol: str, *, progress: bool = True, **split_options) -> tuple[WindowSet, Split]:
    """Windows of the config and their split under ``protocol`` (``ProtocolConfig`` fields override), per-subject
    calibration included (:func:`myosem_core.prepare.load_split_windows`)."""
    return load_split_windows(cfg, protocol, progress, **split_options)


def train_myosem(cfg: Config, ws: WindowSet, split: Split, text_space=None, runs: str | Path | None = None,
                 stage1=None, stage2=None, stage3=None, progress: bool = True):
    """Stage 1 (unless ``text_space`` is given), then Stages 2-3, each reused when its run exists.

    Safe under torchrun: Stage 1 runs on rank 0 first, Stages 2-3 train data-parallel on every rank.
    Returns ``(text_space, prototypes, stage2_run, stage3_run)``.
    """
    from myosem_core import distributed as ddp
    from myosem_core.training import load_or_train_stage2, load_or_train_stage3

    if text_space is None:
        with ddp.main_first():  # Stage 1 is not data-parallel: rank 0 trains it, the others load the run
            text_space = load_stage1_text_space(cfg, ws, split, runs, progress, stage1)
    P = prototypes_for(text_space, ws.class_keys)
    s2 = load_or_train_stage2(cfg, ws, split, stage2, runs, progress)
    s3 = load_or_train_stage3(cfg, ws, split, P, s2, stage3, runs=runs, progress=progress)
    return text_space, P, s2, s3


def evaluate_myosem(cfg: Config, ws: WindowSet, split: Split, prototypes, stage3, runs: str | Path | None = None,
                    baselines=("lda",), model_name: str = "myosem", key_extra: dict | None = None
                    ) -> tuple[Path, dict]:
    """MyoSem (a trained Stage-3 run) and ``baselines`` on the test split: ``(results_folder, {model: result})``.

    ``key_extra`` joins the folder's key (a changed split, a data-parallel run), so such results never
    overwrite the default ones.
    """
    folder = results_folder(cfg, runs, **(key_extra or {}))
    split.save(folder / "manifests")
    results = {model_name: evaluate_retriever(model_name, ws, split, prototypes, cfg.seed, folder,
                                              retriever=MyoSemRetriever.from_run(stage3))}
    for name in baselines:
        results[name] = evaluate_retriever(name, ws, split, prototypes, cfg.seed, folder)
    return folder, results


def run_myosem(cfg: Config, protocol: str, text_space=None, runs: str | Path | None = None, baselines=("lda",),
               model_name: str = "myosem", stage2=None, stage3=None, progress: bool = True,
               split_options: dict | None = None) -> MyoSemOutput:
    """Train (or reuse) Stages 2-3 on ``protocol`` and evaluate MyoSem and ``baselines`` on its test split.

    ``split_options`` override fields of the protocol (e.g. ``{"val_subjects": ["S15", "S16"]}``).
    """
    ws, split = load_data(cfg, protocol, **(split_options or {}))
    text_space, P, s2, s3 = train_myosem(cfg, ws, split, text_space, runs, stage2=stage2, stage3=stage3,
                                         progress=progress)
    key_extra = {"split_options": split_options} if split_options else None  # never overwrites the default split's
    folder, results = evaluate_myosem(cfg, ws, split, P, s3, runs, baselines, model_name, key_extra)
    return MyoSemOutput(ws, split, P, s2, s3, folder, results, text_space)


def load_stage1_text_space(cfg: Config, ws: WindowSet, split: Split, runs=None, progress: bool = True, stage1=None):
    """Stage 1's frozen text space for this data and split (trained and cached by its own module)."""
    from myosem_core.text.stage1 import load_or_train_stage1

    return load_or_train_stage1(cfg, ws, split, run_dir=runs, stage1=stage1, progress=progress)
