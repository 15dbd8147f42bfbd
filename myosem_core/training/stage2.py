"""Train MyoSem Stage 2, the activation-aware encoder: CE + w_rec * reconstruction + w_vq * VQ.

Per-channel normalisation is fitted on the training windows only and saved with
the model. Training runs through the one fit loop (:mod:`myosem_core.training.fit`); early stopping watches
the validation accuracy (``monitor``) and the best weights are kept.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .. import distributed as ddp
from ..data.windows import WindowSet
from ..errors import ConfigError, DataError
from ..io import read_json, write_json
from ..losses import classification_loss, stage2_loss
from ..models.activation_encoder import ActivationAwareEncoder, EncoderConfig
from ..paths import runs_root
from ..run_store import (
    claimed,
    is_complete,
    read_section,
    record_sections,
    run_folder,
    windows_identity,
)
from ..threads import limit_threads
from ..typed import build_config
from .augment import AugmentConfig, augment, for_protocol
from .common import (
    batches,
    load_checkpoint,
    predict_in_batches,
    save_checkpoint,
    seed_everything,
)
from .fit import FitConfig, fit
from .normalization import InputNormalizer
from .resume import EpochCheckpoint, fingerprint
from .subject_adversary import SubjectAdversary, reversal_ramp, subject_codes
from .subject_mixup import subject_mixup


@dataclass(frozen=True)
class Stage2Config:
    preset: str = "quick"
    encoder: EncoderConfig = EncoderConfig()  # data-shaped fields (channels, length, classes) are filled at train time
    patch_s: float = 0.1  # patch length in seconds -> encoder.patch_len samples
    w_rec: float = 0.5
    w_vq: float = 0.1
    label_smoothing: float = 0.1
    lr: float = 3e-3  # peak of the one-cycle schedule
    weight_decay: float = 0.05
    batch_size: int = 128
    max_epochs: int = 40
    patience: int = 10  # epochs without a better validation score before stopping
    schedule: str = "onecycle"
    grad_clip: float | None = 1.0
    monitor: str = "val_acc"  # early stopping watches this validation value (val_acc: max, val_ce: min)
    augment: AugmentConfig = AugmentConfig()  # EMG augmentations of the training windows
    cross_user_augment: AugmentConfig | None = None  # replaces ``augment`` under the user protocol (None: same)
    log_normalize: bool | None = None  # None: log-compress before z-scoring iff the signal is an RMS envelope
    log_eps_quantile: float = 0.1  # log floor eps = this quantile of the training values
    center_windows: bool = False  # each window minus its own mean log level
    w_subject: float = 0.0  # subject-adversarial weight (gradient reversal on the segment vector; 0: off)
    subject_mixup: float = 0.0  # Beta(alpha, alpha) of mixup across subjects (subject_mixup.py; 0: off)
    threads: int = 1  # intra-op threads (the machine is shared; more threads thrash under load)

    def for_protocol(self, protocol: str | None) -> "Stage2Config":
        """The config a protocol trains with (:func:`~.augment.for_protocol`)."""
        return for_protocol(self, protocol)

    def fit_config(self) -> FitConfig:
        return FitConfig(epochs=self.max_epochs, batch_size=self.batch_size, lr=self.lr,
                         weight_decay=self.weight_decay, schedule=self.schedule, grad_clip=self.grad_clip,
                         patience=self.patience, monitor=self.monitor)


@dataclass
class Stage2Run:
    """A trained Stage-2 encoder with its normaliser, folder and training curves."""

    model: ActivationAwareEncoder
    normalizer: InputNormalizer
    config: Stage2Config
    folder: Path | None = None
    curves: list[dict] = field(default_factory=list)
    train_classes: list[int] = field(default_factory=list)

    def normalize(self, X: np.ndarray) -> np.ndarray:
        return self.normalizer.transform(X)

    @torch.no_grad()
    def encode(self, X: np.ndarray, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
        """Pre-VQ tokens (N, P, d) and segment vectors (N, d) of raw windows."""
        self.model.eval()
        out = predict_in_batches(self.model.encode, self.normalize(X), batch_size)
        return torch.cat([o[0] for o in out]).numpy(), torch.cat([o[1] for o in out]).numpy()

    @torch.no_grad()
    def codes(self, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """VQ code index per window and patch (N, P)."""
        self.model.eval()
        if self.model.vq is None:
            raise ConfigError("this encoder was trained without VQ (use_vq=False)")
        out = predict_in_batches(lambda x: self.model(x).vq.codes, self.normalize(X), batch_size)
        return torch.cat(out).numpy()


def encoder_config_for(ws: WindowSet, cfg: Stage2Config) -> EncoderConfig:
    """The encoder config with the window's shape filled in."""
    L, C = ws.X.shape[1], ws.X.shape[2]
    patch = max(1, int(round(cfg.patch_s * ws.fs)))
    if L % patch:
        raise DataError("<windows>", "X", f"window length {L} samples is not a multiple of the patch "
                        f"({cfg.patch_s} s = {patch} samples at {ws.fs:g} Hz); choose patch_s accordingly")
    return replace(cfg.encoder, n_channels=C, window_len=L, patch_len=patch, n_classes=ws.n_classes)


def fit_normalizer(train_ws: WindowSet, cfg: Stage2Config) -> InputNormalizer:
    log = cfg.log_normalize if cfg.log_normalize is not None else train_ws.signal_kind == "rms"
    return InputNormalizer.fit(train_ws.X, log, cfg.log_eps_quantile, cfg.center_windows)


def train_stage2(train_ws: WindowSet, val_ws: WindowSet, cfg: Stage2Config = Stage2Config(), seed: int = 0,
                 folder: str | Path | None = None, progress: bool = True) -> Stage2Run:
    """Train the encoder on ``train_ws`` through :func:`~myosem_core.training.fit.fit`, early-stopped on ``val_ws``.

    With a ``folder``, the state after every epoch is saved (``stage2_last.pt``) and a rerun resumes from it.
    Under ``torchrun`` it trains data-parallel (:mod:`myosem_core.distributed`); rank 0 writes the files.
    """
    if len(train_ws) == 0 or len(val_ws) == 0:
        raise DataError("<split>", "train/val", f"Stage 2 needs training and validation windows, got "
                        f"{len(train_ws)} and {len(val_ws)}")
    with limit_threads(cfg.threads):
        seed_everything(seed)
        normalizer = fit_normalizer(train_ws, cfg)
        dev = ddp.device()
        Xtr, ytr = torch.from_numpy(normalizer.transform(train_ws.X)).to(dev), torch.from_numpy(train_ws.y).to(dev)
        Xva, yva = torch.from_numpy(normalizer.transform(val_ws.X)).to(dev), torch.from_numpy(val_ws.y).to(dev)
        train_classes = torch.from_numpy(np.unique(train_ws.y)).to(dev)
        model = ActivationAwareEncoder(encoder_config_for(train_ws, cfg)).to(dev)
        adversary, progress_now = None, [0.0]
        if cfg.w_subject or cfg.subject_mixup:
            codes, names = subject_codes(train_ws.subject)
            ytr = torch.stack([ytr, torch.from_numpy(codes).to(dev)], 1)  # (label, subject) per window
        if cfg.w_subject:
            adversary = SubjectAdversary(model.cfg.d_model, len(names)).to(dev)
            model.add_module("subject_adversary", adversary)  # trained, checkpointed and synced with the encoder

        def loss_fn(x, y):
            label = y[:, 0] if y.ndim == 2 else y
            if cfg.subject_mixup:
                x, partner, lam = subject_mixup(x, y[:, 1], cfg.subject_mixup)
            out = model(x)
            loss, parts = stage2_loss(out, x, label, cfg.w_rec, cfg.w_vq, train_classes, cfg.label_smoothing)
            if cfg.subject_mixup:  # the loss's CE becomes lam * CE(own label) + (1 - lam) * CE(partner's label)
                own, other = (classification_loss(out.logits, t, train_classes, cfg.label_smoothing)
                              for t in (label, label[partner]))
                loss = loss + (1.0 - lam) * (other - own)
                parts["ce"] = float((lam * own + (1.0 - lam) * other).detach())
            if adversary is not None:
                adv, parts["subject_acc"] = adversary.loss(out.segment, y[:, 1], reversal_ramp(progress_now[0]))
                loss = loss + cfg.w_subject * adv
                parts["subject_ce"] = float(adv.detach())
            return loss, parts

        def validate(m):
            return {**evaluate_stage2(m, Xva, yva, cfg, train_classes), "gates": m.gate_values(),
                    "codebook_perplexity": m.vq.perplexity() if m.vq is not None else None}

        ckpt = EpochCheckpoint(folder, "stage2_last.pt", fingerprint(cfg, seed, train_ws.X, val_ws.X))
        result = fit(model, loss_fn, Xtr, ytr, validate, cfg.fit_config(), seed=seed,
                     augment=lambda x: augment(x, cfg.augment), checkpoint=ckpt, progress=progress,
                     desc="stage 2", on_step=lambda p: progress_now.__setitem__(0, p))
        if adversary is not None:  # only needed while training; the saved encoder has the plain layout
            del model.subject_adversary
        model.cpu().eval()
        train_classes = train_classes.cpu()
    run = Stage2Run(model, normalizer, cfg, Path(folder) if folder else None, result.curves, train_classes.tolist())
    if folder is not None and ddp.is_main():
        _save(run, result.best_epoch)
    ddp.barrier()
    return run


@torch.no_grad()
def evaluate_stage2(model: ActivationAwareEncoder, X: torch.Tensor, y: torch.Tensor, cfg: Stage2Config,
                    allowed: torch.Tensor) -> dict[str, float]:
    """Validation loss parts and accuracy (over the allowed classes)."""
    model.eval()
    sums, correct = {}, 0
    for idx in batches(len(X), 1024):
        out = model(X[idx])
        _, parts = stage2_loss(out, X[idx], y[idx], cfg.w_rec, cfg.w_vq, allowed)
        for k, v in parts.items():
            sums[k] = sums.get(k, 0.0) + v * len(idx)
        pred = allowed[out.logits[:, allowed].argmax(1)]
        correct += int((pred == y[idx]).sum())
    return {**{f"val_{k}": v / len(X) for k, v in sums.items()}, "val_acc": correct / len(X)}


def _save(run: Stage2Run, best_epoch: int) -> None:
    folder = run.folder
    record_sections(folder, "myosem-stage2", stage2=run.config)
    save_checkpoint(folder / "stage2.pt", state_dict=run.model.state_dict(), epoch=best_epoch)
    write_json(folder / "normalizer.json", run.normalizer.to_dict())
    write_json(folder / "curves.json", run.curves)
    write_json(folder / "encoder_config.json", asdict(run.model.cfg))
    write_json(folder / "results.json", {"stage": "myosem-stage2", "best_epoch": best_epoch,
                                         "train_classes": run.train_classes,
                                         "gates": run.model.gate_values(), **{k: v for k, v in run.curves[best_epoch].items()
                                                                              if k.startswith("val_")}})


def load_stage2(folder: str | Path) -> Stage2Run:
    """A Stage-2 run saved by :func:`train_stage2` (``results.json`` marks it complete)."""
    folder = Path(folder)
    if not (folder / "results.json").is_file():
        raise DataError(folder, "results.json", "not a completed Stage-2 run folder")
    model = ActivationAwareEncoder(build_config(EncoderConfig, read_json(folder / "encoder_config.json"),
                                                str(folder / "encoder_config.json")))
    model.load_state_dict(load_checkpoint(folder / "stage2.pt")["state_dict"])
    model.eval()
    return Stage2Run(model, InputNormalizer.from_dict(read_json(folder / "normalizer.json")),
                     read_section(folder, "stage2", Stage2Config), folder, read_json(folder / "curves.json"),
                     read_json(folder / "results.json")["train_classes"])


def stage2_folder(train_ws: WindowSet, val_ws: WindowSet, stage2: Stage2Config, seed: int,
                  runs: str | Path | None = None) -> Path:
    """The run folder of a Stage-2 encoder: keyed by its training and validation windows, its config, the seed
    and the code that trains it (:mod:`myosem_core.run_store`)."""
    return run_folder(runs_root(runs), "myosem-stage2", label=train_ws.dataset_name,
                      data={"train": windows_identity(train_ws), "val": windows_identity(val_ws)}, seed=seed,
                      sections={"stage2": stage2, **ddp.run_key_extra()}, code=(__name__,))


def load_or_train_stage2(train_ws: WindowSet, val_ws: WindowSet, stage2: Stage2Config, seed: int = 0,
                         runs: str | Path | None = None, progress: bool = True) -> Stage2Run:
    """The Stage-2 run of these windows and config from the run store, trained and saved there when absent."""
    folder = stage2_folder(train_ws, val_ws, stage2, seed, runs)
    with claimed(folder):
        if is_complete(folder):
            return load_stage2(folder)
        return train_stage2(train_ws, val_ws, stage2, seed, folder, progress)
