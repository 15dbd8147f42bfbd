"""Where trained EMBridge models are kept: one run folder per training set, found by the contents of its windows.

Notebook 07 and the comparison grid's CPEP / EMBridge rows both come here with a split's training windows
(:func:`load_or_train_mae`, :func:`load_or_train_aligner`), so a model trained by one caller is found by the other:

    <runs>/embridge-models-<dataset>-<key of the training windows>/      config.json: counts, subjects, classes
        mae-emg-<key(MAE config, pose normalization, seed, code)>/
        mae-pose-<key(MAE config, pose normalization, seed, code)>/
        align-<model>-<key(AlignConfig, both MAE folders, seed, code)>/

Keys come from the run store (:mod:`myosem_core.run_store`), so a change to the training code names new folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...data.windows import WindowSet
from ...errors import ConfigError
from ...io import write_json
from ...paths import runs_root
from ...run_store import claimed, is_complete, run_folder, windows_identity
from ..common import save_checkpoint
from .aligner import AlignerRun, load_aligner, train_aligner
from .config import AlignConfig, EMBridgeConfig, variant
from .data import fit_normalizers, require_pose, subsample_training
from .mae import MAERun, load_mae, train_mae


@dataclass(eq=False)
class ModelStore:
    """The run folder of one training set: :meth:`mae` and :meth:`aligner` read a model back or train and save it.

    Build it once per training set (:meth:`of` hashes the windows) and ask it for every model of that set.
    """

    train: WindowSet
    root: Path

    @classmethod
    def of(cls, train: WindowSet, runs=None) -> ModelStore:
        require_pose(train)
        return cls(train, run_folder(runs_root(runs), "embridge-models", label=train.dataset_name,
                                     data=windows_identity(train)))

    def mae(self, stream: str, ecfg: EMBridgeConfig, seed: int = 0, progress: bool = True) -> MAERun:
        """The EMG or pose MAE of these windows: reused when its folder is complete, trained and saved otherwise."""
        if stream not in ("emg", "pose"):
            raise ConfigError(f"stream must be 'emg' or 'pose', got {stream!r}")
        mcfg = ecfg.emg if stream == "emg" else ecfg.pose
        folder = run_folder(self.root, f"mae-{stream}", seed=seed,
                            sections={"mae": mcfg, "pose_normalization": ecfg.pose_normalization},
                            code=("myosem_core.training.embridge.mae",))
        with claimed(folder):
            if is_complete(folder):
                return load_mae(folder, stream)
            emg_norm, pose_norm = fit_normalizers(self.train, ecfg.pose_normalization)
            return train_mae(self.train, stream, mcfg, emg_norm if stream == "emg" else pose_norm, seed,
                             ecfg.threads, folder, progress)

    def aligner(self, ecfg: EMBridgeConfig, name: str = "EMBridge", align: AlignConfig | None = None, seed: int = 0,
                progress: bool = True) -> AlignerRun:
        """A named alignment model (:data:`VARIANTS`, or ``align``) on the MAEs of these windows, reused or trained.

        ``align.data_fraction`` < 1 trains on whole (subject, repetition) units of every class
        (:func:`subsample_training`); the MAEs always see every training window.
        """
        align = align or variant(ecfg.align, name)
        emg = self.mae("emg", ecfg, seed, progress)
        pose = self.mae("pose", ecfg, seed, progress)
        folder = run_folder(self.root, f"align-{_slug(name)}", seed=seed, sections={"name": name, "align": align},
                            upstream=[emg.folder, pose.folder], code=("myosem_core.training.embridge.aligner",))
        with claimed(folder):
            if is_complete(folder):
                return load_aligner(folder, emg, pose, align, name)
            idx = subsample_training(self.train, np.arange(len(self.train)), align.data_fraction, seed)
            run = train_aligner(self.train.subset(idx), emg, pose, align, seed, ecfg.threads, name, folder, progress)
            folder.mkdir(parents=True, exist_ok=True)
            save_checkpoint(folder / "model.pt", state_dict=run.model.state_dict())
            write_json(folder / "curves.json", run.curves)
            write_json(folder / "results.json", {"stage": "embridge-align", "name": name,
                                                 "train_seconds": run.seconds, "train_cpu_seconds": run.cpu_seconds,
                                                 "n_train_windows": len(idx)})
            return run


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")


def load_or_train_mae(train: WindowSet, stream: str, ecfg: EMBridgeConfig, seed: int = 0, runs=None,
                      progress: bool = True) -> MAERun:
    """The EMG or pose MAE of these training windows (:meth:`ModelStore.mae`)."""
    return ModelStore.of(train, runs).mae(stream, ecfg, seed, progress)


def load_or_train_aligner(train: WindowSet, ecfg: EMBridgeConfig, name: str = "EMBridge",
                          align: AlignConfig | None = None, seed: int = 0, runs=None, progress: bool = True
                          ) -> AlignerRun:
    """A named alignment model (:data:`VARIANTS`, or ``align``) on the MAEs of these training windows
    (:meth:`ModelStore.aligner`): notebook 07 and the comparison grid's CPEP / EMBridge rows find the same runs."""
    return ModelStore.of(train, runs).aligner(ecfg, name, align, seed, progress)
