"""Where trained EMBridge models are kept: one run folder per training set, found by the contents of its windows.

Notebook 07 (:func:`load_or_train_mae`, :func:`load_or_train_aligner`: a config, all windows and a split) and
the comparison grid's CPEP / EMBridge rows (:func:`load_or_train_on_windows`: the training windows alone) both
come here with the split's training windows, so a model trained by one caller is found by the other:

    <runs>/embridge-models-<dataset>-<hash of the training windows>/
        windows.json                                         what the hash covers (counts, subjects, classes)
        mae-emg-<hash(MAE config, pose normalization, seed)>/
        mae-pose-<hash(MAE config, pose normalization, seed)>/
        align-<model>-<hash(AlignConfig, both MAE folder names, seed)>/
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
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


def training_key(train: WindowSet) -> str:
    """Hash of what training reads from the windows: EMG, pose, labels, units (subject, repetition), rate, kind."""
    require_pose(train)
    subjects = np.unique(train.subject, return_inverse=True)[1]
    return config_hash(train.X, train.pose, train.y, subjects, train.repetition,
                       {"fs": float(train.fs), "signal_kind": train.signal_kind})


@dataclass(eq=False)
class ModelStore:
    """The run folder of one training set: :meth:`mae` and :meth:`aligner` read a model back or train and save it.

    Build it once per training set (:meth:`of` hashes the windows) and ask it for every model of that set.
    """

    train: WindowSet
    root: Path

    @classmethod
    def of(cls, train: WindowSet, runs=None) -> ModelStore:
        dataset = "+".join(sorted({str(d) for d in np.unique(train.dataset)})) or "windows"
        return cls(train, runs_root(runs) / f"embridge-models-{dataset}-{training_key(train)}")

    def mae(self, stream: str, ecfg: EMBridgeConfig, seed: int = 0, progress: bool = True) -> MAERun:
        """The EMG or pose MAE of these windows: reused when its folder is complete, trained and saved otherwise."""
        if stream not in ("emg", "pose"):
            raise ConfigError(f"stream must be 'emg' or 'pose', got {stream!r}")
        mcfg = ecfg.emg if stream == "emg" else ecfg.pose
        folder = self.root / f"mae-{stream}-{config_hash(mcfg, ecfg.pose_normalization, seed)}"
        if (folder / "results.json").is_file():
            return load_mae(folder, stream)
        self._describe_windows()
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / "config.json", {"mae": asdict(mcfg), "seed": seed, "stream": stream,
                                            "pose_normalization": ecfg.pose_normalization,
                                            "n_train_windows": len(self.train)})
        emg_norm, pose_norm = fit_normalizers(self.train, ecfg.pose_normalization)
        return train_mae(self.train, stream, mcfg, emg_norm if stream == "emg" else pose_norm, seed, ecfg.threads,
                         folder, progress)

    def aligner(self, ecfg: EMBridgeConfig, name: str = "EMBridge", align: AlignConfig | None = None, seed: int = 0,
                progress: bool = True) -> AlignerRun:
        """A named alignment model (:data:`VARIANTS`, or ``align``) on the MAEs of these windows, reused or trained.

        ``align.data_fraction`` < 1 trains on whole (subject, repetition) units of every class
        (:func:`subsample_training`); the MAEs always see every training window.
        """
        align = align or variant(ecfg.align, name)
        emg = self.mae("emg", ecfg, seed, progress)
        pose = self.mae("pose", ecfg, seed, progress)
        folder = self.root / f"align-{_slug(name)}-{config_hash(align, emg.folder.name, pose.folder.name, seed)}"
        if (folder / "results.json").is_file():
            return load_aligner(folder, emg, pose, align, name)
        idx = subsample_training(self.train, np.arange(len(self.train)), align.data_fraction, seed)
        run = train_aligner(self.train.subset(idx), emg, pose, align, seed, ecfg.threads, name, folder, progress)
        folder.mkdir(parents=True, exist_ok=True)
        save_checkpoint(folder / "model.pt", state_dict=run.model.state_dict())
        write_json(folder / "config.json", {"name": name, "align": asdict(align), "seed": seed,
                                            "emg_mae": emg.folder.name, "pose_mae": pose.folder.name,
                                            "n_train_windows": len(idx)})
        write_json(folder / "curves.json", run.curves)
        write_json(folder / "results.json", {"stage": "embridge-align", "name": name, "train_seconds": run.seconds,
                                             "train_cpu_seconds": run.cpu_seconds, "n_train_windows": len(idx)})
        return run

    def _describe_windows(self) -> None:
        """``windows.json``: which windows the folder's hash stands for, readable without the data."""
        path = self.root / "windows.json"
        if path.is_file():
            return
        t = self.train
        write_json(path, {"n_windows": len(t), "datasets": sorted(map(str, np.unique(t.dataset))),
                          "subjects": sorted(map(str, np.unique(t.subject))),
                          "repetitions": sorted(int(r) for r in np.unique(t.repetition)),
                          "classes": [t.class_keys[int(c)] for c in np.unique(t.y)],
                          "fs": float(t.fs), "signal_kind": t.signal_kind, "pose_kind": t.pose_kind})


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")


def load_or_train_mae(cfg: Config, ws: WindowSet, split: Split, stream: str, ecfg: EMBridgeConfig,
                      runs=None, progress: bool = True) -> MAERun:
    """The EMG or pose MAE of this split's training windows (:meth:`ModelStore.mae`)."""
    return ModelStore.of(ws.subset(split.train), runs).mae(stream, ecfg, cfg.seed, progress)


def load_or_train_aligner(cfg: Config, ws: WindowSet, split: Split, ecfg: EMBridgeConfig, name: str = "EMBridge",
                          align: AlignConfig | None = None, runs=None, progress: bool = True) -> AlignerRun:
    """A named alignment model (:data:`VARIANTS`) of this split's training windows (:meth:`ModelStore.aligner`)."""
    return ModelStore.of(ws.subset(split.train), runs).aligner(ecfg, name, align, cfg.seed, progress)


def load_or_train_on_windows(train: WindowSet, ecfg: EMBridgeConfig, name: str = "EMBridge", seed: int = 0,
                             runs=None, progress: bool = True) -> AlignerRun:
    """MAEs + a named aligner trained on exactly ``train`` (no split object), from the same store as notebook 07.

    This is what the retrieval registry uses (:mod:`myosem_core.baselines.embridge`): it hands over the
    training windows of a protocol, not the protocol.
    """
    return ModelStore.of(train, runs).aligner(ecfg, name, None, seed, progress)
