"""MyoSem end to end on one protocol: windows -> split -> Stage 2 -> Stage 3 -> retrieval results (+ baselines).

    out = run_myosem(make_config("quick", "ninapro-db1", data_dir), "user", text_space)
    out.results["myosem"]["emg_to_text"]["R@1"], out.results["lda"]["emg_to_text"]["R@1"]

``text_space`` is Stage 1's TextSpace (``class_keys``, ``prototypes``,
``encode_text``) or anything with those attributes; its prototypes are frozen.
``None`` loads (or trains) Stage 1 for the same data and split.
Every stage reuses its cached run when the config hash matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from .config import Config, run_directory
from .data.loading import load_windows
from .data.protocols import Split, make_split
from .data.windows import WindowSet
from .paths import cache_root, runs_root
from .retrieval import evaluate_retriever, prototypes_for
from .retrievers import MyoSemRetriever


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


def results_folder(cfg: Config, runs: str | Path | None = None) -> Path:
    """Where retrieval results of every model on this data config go (one JSON per dataset/protocol/model/seed)."""
    return run_directory(runs_root(runs), cfg, name=f"retrieval-{cfg.data.dataset}")


def load_data(cfg: Config, protocol: str, **split_options) -> tuple[WindowSet, Split]:
    """Windows of the config's data and their split under ``protocol`` (``ProtocolConfig`` fields override).

    With ``cfg.extra["subject_calibration"]`` every subject's channels are gain-calibrated first
    (:mod:`myosem_core.data.calibration`); the flag is part of the config, so it keys every cached run.
    """
    ws = load_windows(cfg.data.dataset, cfg.data.data_dir, cache_dir=cache_root(), **cfg.data.load_options())
    if cfg.extra.get("subject_calibration"):
        from .data.calibration import calibrate_subjects, calibration_repetitions

        ws = calibrate_subjects(ws, calibration_repetitions(cfg.extra["subject_calibration"]))
    return ws, make_split(ws, protocol, **split_options)


def run_myosem(cfg: Config, protocol: str, text_space=None, runs: str | Path | None = None, baselines=("lda",),
               model_name: str = "myosem", stage2=None, stage3=None, progress: bool = True,
               split_options: dict | None = None) -> MyoSemOutput:
    """Train (or reuse) Stages 2-3 on ``protocol`` and evaluate MyoSem and ``baselines`` on its test split.

    ``split_options`` override fields of the protocol (e.g. ``{"val_subjects": ["S15", "S16"]}``).
    """
    from .training import load_or_train_stage2, load_or_train_stage3

    ws, split = load_data(cfg, protocol, **(split_options or {}))
    if text_space is None:
        text_space = load_stage1_text_space(cfg, ws, split, runs, progress)
    P = prototypes_for(text_space, ws.class_keys)
    s2 = load_or_train_stage2(cfg, ws, split, stage2, runs, progress)
    s3 = load_or_train_stage3(cfg, ws, split, P, s2, stage3, runs=runs, progress=progress)
    keyed = replace(cfg, extra={**cfg.extra, "split_options": split_options}) if split_options else cfg
    folder = results_folder(keyed, runs)  # a changed split never overwrites the default split's results
    split.save(folder / "manifests")
    results = {model_name: evaluate_retriever(model_name, ws, split, P, cfg.seed, folder,
                                              retriever=MyoSemRetriever.from_run(s3))}
    for name in baselines:
        results[name] = evaluate_retriever(name, ws, split, P, cfg.seed, folder)
    return MyoSemOutput(ws, split, P, s2, s3, folder, results, text_space)


def load_stage1_text_space(cfg: Config, ws: WindowSet, split: Split, runs=None, progress: bool = True):
    """Stage 1's frozen text space for this data and split (trained and cached by its own module)."""
    from .text.stage1 import load_or_train_stage1

    return load_or_train_stage1(cfg, ws, split, run_dir=runs, progress=progress)
