"""Deep EMG baselines adapted to retrieval (MyoSem paper, appendix A.3), all trained the same way.

Each architecture (TCN, Attn-CNN-RNN, CNN-BiLSTM, SE-CNN, Atzori CNN, a plain 1-D CNN; one file
each in this package) maps a window (B, L, C) to a segment representation
(B, d), the hidden vector before its classifier. Training, on the same
normalised windows and split as MyoSem:

1. ``pretrain``: backbone + linear classifier with cross-entropy, the model's
   own classification training (early stopping on validation CE) — the
   counterpart of MyoSem's Stage 2, with its input normalisation, augmentation,
   optimiser settings and epoch budget (:func:`from_stages`);
2. ``align``: the segment representation is projected into the prototype space
   (LayerNorm + Linear, L2-normalised, as MyoSem's global projection) and
   trained with MyoSem's Stage-3 objective, InfoNCE against the frozen
   prototypes + ``w_aux`` x auxiliary CE, with Stage 3's schedule: first the head
   alone on the frozen backbone, then the whole backbone unfrozen at the lower
   learning rate (these models have no "last layers" worth singling out).
   Early stopping watches the validation InfoNCE across both phases.

Retrieval ranks the prototypes by cosine with the embedding. Under the
``class`` protocol only the training classes' prototypes are candidates in
training; at test time every prototype is.
"""

from __future__ import annotations

import copy
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import distributed as ddp
from ..data.windows import WindowSet
from ..errors import ConfigError, DataError
from ..io import read_json, write_json
from ..losses import classification_loss, prototype_info_nce
from ..paths import runs_root
from ..run_store import array_content, claimed, is_complete, run_folder, windows_identity
from ..threads import limit_threads
from ..training.augment import AugmentConfig, augment
from ..training.common import batches, load_checkpoint, predict_in_batches, save_checkpoint, seed_everything
from ..training.fit import FitConfig, fit
from ..training.normalization import InputNormalizer
from ..training.stage3 import Stage3Config, phase_fit_config
from .attn_cnn_rnn import AttnCNNRNN
from .atzori_cnn import AtzoriCNN
from .cnn_bilstm import CNNBiLSTM
from .plain_cnn import PlainCNN
from .se_cnn import SECNN
from .tcn import TCN

#: registry name -> backbone class ``(n_channels, window_len, width) -> nn.Module`` with ``out_dim``
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "tcn": TCN,
    "attn-cnn-rnn": AttnCNNRNN,
    "cnn-bilstm": CNNBiLSTM,
    "se-cnn": SECNN,
    "atzori-cnn": AtzoriCNN,
    "plain-cnn": PlainCNN,
}


@dataclass(frozen=True)
class DeepPreset:
    """The deep baselines' own preset settings (``deep`` section); budgets and recipe come from MyoSem's
    Stage 2/3 (:func:`from_stages`)."""

    width: int = 32  # backbone channels of every architecture
    arch_options: dict = field(default_factory=dict)  # per architecture, e.g. {"tcn": {"stride": 1}}


@dataclass(frozen=True)
class DeepConfig:
    preset: str = "quick"
    width: int = 64  # hidden width of every backbone (64: 43k-114k parameters; MyoSem quick has ~95k)
    pretrain_epochs: int = 15  # step 1 (CE), the counterpart of MyoSem Stage 2
    pretrain_lr: float = 2e-3
    pretrain_patience: int = 4
    weight_decay: float = 1e-2
    batch_size: int = 128
    label_smoothing: float = 0.1
    schedule: str = "onecycle"
    monitor: str = "val_acc"  # step 1's early stopping (val_acc: max, val_loss: min)
    augment: AugmentConfig = AugmentConfig()  # training-time EMG augmentation, as MyoSem's stages
    log_normalize: bool | None = None  # None: log-compress before z-scoring iff the signal is an RMS envelope
    log_eps_quantile: float = 0.1
    align: Stage3Config = Stage3Config()  # step 2: MyoSem's Stage-3 objective and schedule (head settings unused)
    arch_options: dict = field(default_factory=dict)  # per architecture, constructor options (e.g. {"tcn": {"stride": 1}})
    threads: int = 1  # intra-op threads (the machine is shared; more threads thrash under load)

def from_stages(stage2, stage3: Stage3Config, deep: DeepPreset = DeepPreset(), preset: str = "quick") -> DeepConfig:
    """The baselines' config taken from MyoSem's Stage-2 and Stage-3 configs (already for the protocol).

    Same epoch budgets, early-stopping patience, learning rate, weight decay,
    batch size, input normalisation and augmentation as Stage 2 (step 1) and
    Stage 3 (step 2): what differs between the models is the encoder.
    """
    return DeepConfig(preset=preset, width=deep.width, arch_options=dict(deep.arch_options),
                      pretrain_epochs=stage2.max_epochs,
                      pretrain_patience=stage2.patience, pretrain_lr=stage2.lr, weight_decay=stage2.weight_decay,
                      batch_size=stage2.batch_size, label_smoothing=stage2.label_smoothing, schedule=stage2.schedule,
                      monitor=stage2.monitor, augment=stage2.augment, log_normalize=stage2.log_normalize,
                      log_eps_quantile=stage2.log_eps_quantile, align=stage3)


class AlignedBaseline(nn.Module):
    """Backbone -> segment vector -> (classifier logits | unit embedding in the prototype space)."""

    def __init__(self, backbone: nn.Module, n_classes: int, embed_dim: int):
        super().__init__()
        d = backbone.out_dim
        self.backbone = backbone
        self.classifier = nn.Linear(d, n_classes)  # the model's own classifier (step 1)
        self.projection = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, embed_dim))  # into the prototype space
        self.aux_classifier = nn.Linear(embed_dim, n_classes)  # Stage 3's auxiliary CE

    def segment(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.projection(self.backbone(x)), dim=-1)


@dataclass
class DeepRun:
    """A trained baseline, its normaliser and the curves of both steps."""

    arch: str
    model: AlignedBaseline
    normalizer: InputNormalizer
    config: DeepConfig
    curves: list[dict] = field(default_factory=list)
    train_seconds: float = 0.0
    folder: Path | None = None  # its run-store folder (:func:`load_or_train_deep`), if it has one

    @torch.no_grad()
    def embed(self, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
        self.model.eval()
        out = predict_in_batches(self.model.embed, self.normalizer.transform(X), batch_size)
        return torch.cat(out).numpy()


@torch.no_grad()
def _validate_loss(loss_fn, X, y) -> dict:
    """Mean loss on the validation windows."""
    return {"val_loss": sum(float(loss_fn(X[i], y[i])[0]) * len(i) for i in batches(len(X), 1024)) / len(X)}


@torch.no_grad()
def _validate_ce(model, X, y, allowed, label_smoothing: float) -> dict:
    """Mean CE (as trained) and classifier accuracy on the validation windows, one classifier pass per batch."""
    total, correct = 0.0, 0
    for i in batches(len(X), 1024):
        logits = model.classifier(model.segment(X[i]))
        total += float(classification_loss(logits, y[i], allowed, label_smoothing)) * len(i)
        correct += int((allowed[logits[:, allowed].argmax(1)] == y[i]).sum())
    return {"val_loss": total / len(X), "val_acc": correct / len(X)}


def train_deep(arch: str, train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray,
               cfg: DeepConfig = DeepConfig(), seed: int = 0, progress: bool = True) -> DeepRun:
    """Steps 1 (CE) and 2 (Stage-3 alignment) of baseline ``arch``, both through the one fit loop."""
    if arch not in ARCHITECTURES:
        raise ConfigError(f"unknown deep baseline {arch!r}; expected one of {sorted(ARCHITECTURES)}")
    if len(train_ws) == 0 or len(val_ws) == 0:
        raise DataError("<split>", "train/val", f"{arch} needs training and validation windows, got "
                        f"{len(train_ws)} and {len(val_ws)}")
    P = torch.from_numpy(np.asarray(prototypes, np.float32))
    if P.shape[0] != train_ws.n_classes:
        raise DataError("<prototypes>", "prototypes", f"expected one row per class ({train_ws.n_classes}), got {P.shape}")
    t_start = time.perf_counter()
    with limit_threads(cfg.threads):
        seed_everything(seed)
        dev = ddp.device()
        log = cfg.log_normalize if cfg.log_normalize is not None else train_ws.signal_kind == "rms"
        normalizer = InputNormalizer.fit(train_ws.X, log, cfg.log_eps_quantile)  # as MyoSem Stage 2
        Xtr, ytr = torch.from_numpy(normalizer.transform(train_ws.X)).to(dev), torch.from_numpy(train_ws.y).to(dev)
        Xva, yva = torch.from_numpy(normalizer.transform(val_ws.X)).to(dev), torch.from_numpy(val_ws.y).to(dev)
        allowed, P = torch.from_numpy(np.unique(train_ws.y)).to(dev), P.to(dev)
        model = _build(arch, train_ws, P.shape[1], cfg).to(dev)

        # step 1: classification
        def ce(x, y):
            return classification_loss(model.classifier(model.segment(x)), y, allowed, cfg.label_smoothing), {}

        step1 = FitConfig(epochs=cfg.pretrain_epochs, batch_size=cfg.batch_size, lr=cfg.pretrain_lr,
                          weight_decay=cfg.weight_decay, schedule=cfg.schedule, patience=cfg.pretrain_patience,
                          monitor=cfg.monitor)
        result = fit(model, ce, Xtr, ytr, lambda m: _validate_ce(m, Xva, yva, allowed, cfg.label_smoothing), step1, seed=seed,
                     params=list(model.backbone.parameters()) + list(model.classifier.parameters()),
                     augment=lambda x: augment(x, cfg.augment), progress=progress, desc=f"{arch}: CE")
        curves = [{"step": "pretrain", **r} for r in result.curves]

        # step 2: Stage-3 objective against the frozen prototypes, head first, then everything
        a = cfg.align

        def nce(x, y):
            z = model.embed(x)
            return (prototype_info_nce(z, P, y, a.temperature, allowed)
                    + a.w_aux * classification_loss(model.aux_classifier(z), y, allowed)), {}

        head = list(model.projection.parameters()) + list(model.aux_classifier.parameters())
        best = None
        for phase in ("head", "finetune"):
            fcfg = replace(phase_fit_config(a, phase), monitor="val_loss")
            if fcfg.epochs <= 0:
                continue
            if phase == "head":
                model.backbone.requires_grad_(False)
                params, baseline = head, None

                def train_mode(m):
                    m.train()
                    m.backbone.eval()  # frozen: batch-norm statistics and dropout off
            else:
                model.backbone.requires_grad_(True)
                params = [{"params": head, "lr": a.phase2_head_lr},
                          {"params": list(model.backbone.parameters()), "lr": a.phase2_lr}]
                baseline = (best, copy.deepcopy(model.state_dict())) if best is not None else None
                train_mode = None
            result = fit(model, nce, Xtr, ytr, lambda m: _validate_loss(nce, Xva, yva), fcfg, seed=seed,
                         params=params, augment=lambda x: augment(x, a.augment), train_mode=train_mode,
                         baseline=baseline, progress=progress, desc=f"{arch}: align ({phase})",
                         first_epoch=sum(r["step"].startswith("align") for r in curves))
            curves += [{"step": f"align-{phase}", **r} for r in result.curves]
            if result.improved:
                best = result.best_value
        model.requires_grad_(False)
        model.cpu().eval()
    return DeepRun(arch, model, normalizer, cfg, curves, time.perf_counter() - t_start)


def _build(arch: str, train_ws: WindowSet, dim: int, cfg: DeepConfig) -> "AlignedBaseline":
    """The untrained network of ``arch`` for windows shaped like ``train_ws``'s and prototypes of width ``dim``."""
    backbone = ARCHITECTURES[arch](train_ws.X.shape[2], train_ws.X.shape[1], width=cfg.width,
                                   **cfg.arch_options.get(arch, {}))
    return AlignedBaseline(backbone, train_ws.n_classes, dim)


def deep_run_folder(arch: str, train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray, cfg: DeepConfig,
                    seed: int = 0, runs=None) -> Path:
    """The run-store folder of baseline ``arch`` trained on these windows towards these prototypes."""
    return run_folder(runs_root(runs), f"deep-{arch}", label=train_ws.dataset_name,
                      data={"train": windows_identity(train_ws), "val": windows_identity(val_ws)}, seed=seed,
                      sections={"deep": cfg, "prototypes": array_content(prototypes), **ddp.run_key_extra()},
                      code=(__name__,))


def load_or_train_deep(arch: str, train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray,
                       cfg: DeepConfig = DeepConfig(), seed: int = 0, progress: bool = True, runs=None) -> DeepRun:
    """:func:`train_deep` through the run store: a complete folder (:func:`deep_run_folder`) is read back,
    otherwise the baseline is trained and saved there (weights first, ``results.json`` last)."""
    folder = deep_run_folder(arch, train_ws, val_ws, prototypes, cfg, seed, runs)
    with claimed(folder):
        return _load_or_train_deep(arch, train_ws, val_ws, prototypes, cfg, seed, progress, folder)


def _load_or_train_deep(arch, train_ws, val_ws, prototypes, cfg, seed, progress, folder) -> DeepRun:
    if is_complete(folder):
        saved = read_json(folder / "results.json")
        model = _build(arch, train_ws, np.shape(prototypes)[1], cfg)
        model.load_state_dict(load_checkpoint(folder / "model.pt")["state_dict"])
        model.requires_grad_(False)
        return DeepRun(arch, model.eval(), InputNormalizer.from_dict(saved["normalizer"]), cfg, saved["curves"],
                       saved["train_seconds"], folder)
    run = train_deep(arch, train_ws, val_ws, prototypes, cfg, seed, progress)
    if ddp.is_main():  # data-parallel replicas end identical: one of them saves
        save_checkpoint(folder / "model.pt", state_dict=run.model.state_dict())
        write_json(folder / "results.json", {"normalizer": run.normalizer.to_dict(), "curves": run.curves,
                                             "train_seconds": run.train_seconds})
    ddp.barrier()
    return replace(run, folder=folder)


class DeepRetriever:
    """Registry adapter: ``fit(train_ws, val_ws, prototypes)`` trains ``arch``, or reads it back from the run store
    under ``runs`` (default :func:`~myosem_core.paths.runs_root`); ``embed(ws)`` -> (N, D) unit rows."""

    def __init__(self, arch: str, config: DeepConfig, seed: int = 0, progress: bool = False, runs=None,
                 **overrides):
        if arch not in ARCHITECTURES:
            raise ConfigError(f"unknown deep baseline {arch!r}; expected one of {sorted(ARCHITECTURES)}")
        known = {k: v for k, v in overrides.items() if k in DeepConfig.__dataclass_fields__}
        self.name, self.arch, self.seed, self.progress, self.runs = arch, arch, seed, progress, runs
        self.config = replace(config, **known)
        self.run: DeepRun | None = None

    def fit(self, train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray) -> "DeepRetriever":
        self.run = load_or_train_deep(self.arch, train_ws, val_ws, prototypes, self.config, self.seed,
                                      self.progress, self.runs)
        return self

    def embed(self, ws: WindowSet) -> np.ndarray:
        if self.run is None:
            raise ConfigError(f"{self.arch}: embed called before fit")
        return self.run.embed(ws.X)

    def fine_tuned(self, X: np.ndarray, targets: np.ndarray, prototypes: np.ndarray, config, seed: int = 0
                   ) -> "DeepRetriever":
        """A copy whose backbone and projection are fine-tuned on raw windows ``X`` towards soft ``targets``
        (N, K) (:func:`myosem_core.adaptation.fine_tune.fine_tune_network`); this one is left unchanged."""
        from ..adaptation.fine_tune import fine_tune_network

        if self.run is None:
            raise ConfigError(f"{self.arch}: fine_tuned called before fit")
        net = fine_tune_network(self.run.model, lambda m, x: m.embed(x), self.run.normalizer.transform(X), targets,
                                prototypes, config, seed)
        out = copy.copy(self)
        out.run = replace(self.run, model=net)
        return out

    def describe(self) -> dict:
        """What the results JSON records about this model."""
        return {"arch": self.arch, "config": asdict(self.config),
                "train_seconds": self.run.train_seconds if self.run else None,
                "run": self.run.folder.name if self.run and self.run.folder else None,
                "curves": self.run.curves if self.run else []}
