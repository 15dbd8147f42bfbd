"""Where trained EMBridge models are kept: run folders keyed by a hash of everything that shapes them.

Two cache paths (to be joined): notebook 07's, by data config and protocol split (:func:`load_or_train_mae`,
:func:`load_or_train_aligner`), and the retrieval registry's, by the contents of the training windows
(:func:`load_or_train_on_windows`).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np

from ...config import Config
from ...data.protocols import Split
from ...data.windows import WindowSet
from ...errors import ConfigError
from ...io import write_json
from ...paths import runs_root
from ..common import config_hash, save_checkpoint
from .aligner import AlignerRun, load_aligner, train_aligner
from .config import AlignConfig, EMBridgeConfig, variant
from .data import fit_normalizers, require_pose, subsample_training
from .mae import MAERun, load_mae, train_mae


def _experiment_root(cfg: Config, split: Split, runs) -> Path:
    key = config_hash(cfg.data, split.config.key())
    return runs_root(runs) / f"embridge-{cfg.data.dataset}-{split.config.name}-{key}"


def load_or_train_mae(cfg: Config, ws: WindowSet, split: Split, stream: str, ecfg: EMBridgeConfig,
                      runs=None, progress: bool = True) -> MAERun:
    """The EMG or pose MAE of this split: reused when its config hash matches, trained and saved otherwise."""
    if stream not in ("emg", "pose"):
        raise ConfigError(f"stream must be 'emg' or 'pose', got {stream!r}")
    mcfg = ecfg.emg if stream == "emg" else ecfg.pose
    folder = _experiment_root(cfg, split, runs) / f"mae-{stream}-{config_hash(mcfg, ecfg.pose_normalization, cfg.seed)}"
    if (folder / "results.json").is_file():
        return load_mae(folder, stream)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "config.json", {"mae": asdict(mcfg), "seed": cfg.seed, "stream": stream,
                                        "pose_normalization": ecfg.pose_normalization, "data": asdict(cfg.data)})
    split.save(folder / "manifests")
    train = ws.subset(split.train)
    emg_norm, pose_norm = fit_normalizers(train, ecfg.pose_normalization)
    return train_mae(train, stream, mcfg, emg_norm if stream == "emg" else pose_norm, cfg.seed, ecfg.threads,
                     folder, progress)


def load_or_train_aligner(cfg: Config, ws: WindowSet, split: Split, ecfg: EMBridgeConfig, name: str = "EMBridge",
                          align: AlignConfig | None = None, runs=None, progress: bool = True) -> AlignerRun:
    """A named alignment model (:data:`VARIANTS`) of this split, reused by config hash or trained and saved."""
    align = align or variant(ecfg.align, name)
    emg = load_or_train_mae(cfg, ws, split, "emg", ecfg, runs, progress)
    pose = load_or_train_mae(cfg, ws, split, "pose", ecfg, runs, progress)
    key = config_hash(align, emg.folder.name if emg.folder else "", pose.folder.name if pose.folder else "", cfg.seed)
    folder = _experiment_root(cfg, split, runs) / f"align-{_slug(name)}-{key}"
    if (folder / "results.json").is_file():
        return load_aligner(folder, emg, pose, align, name)
    train_idx = subsample_training(ws, split.train, align.data_fraction, cfg.seed)
    run = train_aligner(ws.subset(train_idx), emg, pose, align, cfg.seed, ecfg.threads, name, folder, progress)
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(folder / "model.pt", state_dict=run.model.state_dict())
    write_json(folder / "config.json", {"name": name, "align": asdict(align), "seed": cfg.seed,
                                        "emg_mae": emg.folder.name, "pose_mae": pose.folder.name,
                                        "n_train_windows": int(len(train_idx))})
    write_json(folder / "curves.json", run.curves)
    write_json(folder / "results.json", {"stage": "embridge-align", "name": name, "train_seconds": run.seconds,
                                         "train_cpu_seconds": run.cpu_seconds, "n_train_windows": int(len(train_idx))})
    return run


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")


def load_or_train_on_windows(train: WindowSet, ecfg: EMBridgeConfig, name: str = "EMBridge", seed: int = 0,
                             runs=None, progress: bool = True) -> AlignerRun:
    """MAEs + a named aligner trained on exactly ``train`` (no split object), cached by a hash of its contents.

    This is what the retrieval registry uses (:mod:`myosem_core.baselines.embridge`): it hands over the
    training windows of a protocol, not the protocol.
    """
    require_pose(train)
    align = variant(ecfg.align, name)
    key = config_hash(train.X, train.pose, train.y.astype(np.float32), ecfg.emg, ecfg.pose, ecfg.pose_normalization,
                      seed)
    root = runs_root(runs) / f"embridge-windows-{train.meta.get('dataset', train.dataset[0])}-{key}"
    emg_norm, pose_norm = fit_normalizers(train, ecfg.pose_normalization)
    maes = {}
    for stream, mcfg, norm in (("emg", ecfg.emg, emg_norm), ("pose", ecfg.pose, pose_norm)):
        folder = root / f"mae-{stream}"
        maes[stream] = (load_mae(folder, stream) if (folder / "results.json").is_file() else
                        train_mae(train, stream, mcfg, norm, seed, ecfg.threads, _mkdir(folder), progress))
    folder = root / f"align-{_slug(name)}-{config_hash(align, seed)}"
    if (folder / "results.json").is_file():
        return load_aligner(folder, maes["emg"], maes["pose"], align, name)
    run = train_aligner(train, maes["emg"], maes["pose"], align, seed, ecfg.threads, name, folder, progress)
    save_checkpoint(_mkdir(folder) / "model.pt", state_dict=run.model.state_dict())
    write_json(folder / "curves.json", run.curves)
    write_json(folder / "results.json", {"stage": "embridge-align", "name": name, "train_seconds": run.seconds,
                                         "train_cpu_seconds": run.cpu_seconds, "n_train_windows": len(train)})
    return run


def _mkdir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
