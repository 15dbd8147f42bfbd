"""Deep EMG baselines adapted to retrieval (MyoSem paper, appendix A.3), all trained the same way.

Each architecture (TCN, Attn-CNN-RNN, CNN-BiLSTM, SE-CNN, Atzori CNN; one file
each in this package) maps a window (B, L, C) to a segment representation
(B, d), the hidden vector before its classifier. Training, on the same
normalised windows and split as MyoSem:

1. ``pretrain``: backbone + linear classifier with cross-entropy, the model's
   own classification training (early stopping on validation CE) — the
   counterpart of MyoSem's Stage 2, with its input normalisation, augmentation,
   optimiser settings and epoch budget (:func:`from_stage_presets`);
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

import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .. import distributed as ddp
from ..data.windows import WindowSet
from ..errors import ConfigError, DataError
from ..losses import classification_loss, prototype_info_nce
from ..training.common import EarlyStopping, batches, predict_in_batches, seed_everything, torch_threads
from ..training.augment import AugmentConfig, augment
from ..training.normalization import InputNormalizer
from ..training.stage3 import Stage3Config
from .atzori_cnn import AtzoriCNN
from .attn_cnn_rnn import AttnCNNRNN
from .cnn_bilstm import CNNBiLSTM
from .se_cnn import SECNN
from .tcn import TCN

#: registry name -> backbone class ``(n_channels, window_len, width) -> nn.Module`` with ``out_dim``
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "tcn": TCN,
    "attn-cnn-rnn": AttnCNNRNN,
    "cnn-bilstm": CNNBiLSTM,
    "se-cnn": SECNN,
    "atzori-cnn": AtzoriCNN,
}


@dataclass(frozen=True)
class DeepConfig:
    preset: str = "quick"
    width: int = 64  # hidden width of every backbone (64: 43k-114k parameters; MyoSem quick has ~95k)
    pretrain_epochs: int = 15  # step 1 (CE), the counterpart of MyoSem Stage 2
    pretrain_lr: float = 2e-3
    pretrain_patience: int = 4
    weight_decay: float = 1e-2
    batch_size: int = 128
    augment: AugmentConfig = AugmentConfig()  # training-time channel offsets / noise, as MyoSem's stages
    log_normalize: bool | None = None  # None: log-compress before z-scoring iff the signal is an RMS envelope
    log_eps_quantile: float = 0.1
    align: Stage3Config = Stage3Config()  # step 2: MyoSem's Stage-3 objective and schedule (head settings unused)
    threads: int = 1  # intra-op threads (the machine is shared; more threads thrash under load)

    @classmethod
    def preset_named(cls, name: str) -> "DeepConfig":
        if name not in WIDTHS:
            raise ConfigError(f"unknown deep-baseline preset {name!r}; expected one of {sorted(WIDTHS)}")
        return from_stage_presets(name)


#: backbone width per preset: quick (CI) uses narrow backbones (12k-30k parameters)
WIDTHS = {"quick": 32, "full": 64}


def from_stage_presets(preset: str) -> DeepConfig:
    """The baselines' config of a preset, taken from MyoSem's Stage-2/3 presets of that name.

    Same epoch budgets, early-stopping patience, learning rate, weight decay,
    batch size, input normalisation and augmentation as Stage 2 (step 1) and
    Stage 3 (step 2): what differs between the models is the encoder.
    """
    from ..training import Stage2Config

    s2, s3 = Stage2Config.preset_named(preset), Stage3Config.preset_named(preset)
    return DeepConfig(preset=preset, width=WIDTHS[preset], pretrain_epochs=s2.max_epochs,
                      pretrain_patience=s2.patience, pretrain_lr=s2.lr, weight_decay=s2.weight_decay,
                      batch_size=s2.batch_size, augment=s2.augment, log_normalize=s2.log_normalize,
                      log_eps_quantile=s2.log_eps_quantile, align=s3)


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

    @torch.no_grad()
    def embed(self, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
        self.model.eval()
        out = predict_in_batches(self.model.embed, self.normalizer.transform(X), batch_size)
        return torch.cat(out).numpy()


def _epoch(model, loss_fn, X, y, batch_size, gen, opt, aug: AugmentConfig) -> float:
    total, n = 0.0, 0
    step_loss = ddp.wrap_loss(model, loss_fn)  # DistributedDataParallel under torchrun, loss_fn itself otherwise
    for idx in ddp.shard_batches(len(X), batch_size, gen):
        loss = step_loss(augment(X[idx], aug), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        ddp.sync_module(model)
        total += float(loss.detach()) * len(idx)
        n += len(idx)
    return total / n


@torch.no_grad()
def _mean_loss(model, loss_fn, X, y) -> float:
    model.eval()
    return sum(float(loss_fn(X[i], y[i])) * len(i) for i in batches(len(X), 1024)) / len(X)


def train_deep(arch: str, train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray,
               cfg: DeepConfig = DeepConfig(), seed: int = 0, progress: bool = True) -> DeepRun:
    """Steps 1 (CE) and 2 (Stage-3 alignment) of baseline ``arch`` on the training windows."""
    if arch not in ARCHITECTURES:
        raise ConfigError(f"unknown deep baseline {arch!r}; expected one of {sorted(ARCHITECTURES)}")
    if len(train_ws) == 0 or len(val_ws) == 0:
        raise DataError("<split>", "train/val", f"{arch} needs training and validation windows, got "
                        f"{len(train_ws)} and {len(val_ws)}")
    P = torch.from_numpy(np.asarray(prototypes, np.float32))
    if P.shape[0] != train_ws.n_classes:
        raise DataError("<prototypes>", "prototypes", f"expected one row per class ({train_ws.n_classes}), got {P.shape}")
    t_start = time.perf_counter()
    with torch_threads(cfg.threads):
        seed_everything(seed)
        log = cfg.log_normalize if cfg.log_normalize is not None else train_ws.signal_kind == "rms"
        normalizer = InputNormalizer.fit(train_ws.X, log, cfg.log_eps_quantile)  # as MyoSem Stage 2
        Xtr, ytr = torch.from_numpy(normalizer.transform(train_ws.X)), torch.from_numpy(train_ws.y)
        Xva, yva = torch.from_numpy(normalizer.transform(val_ws.X)), torch.from_numpy(val_ws.y)
        allowed = torch.from_numpy(np.unique(train_ws.y))
        backbone = ARCHITECTURES[arch](train_ws.X.shape[2], train_ws.X.shape[1], width=cfg.width)
        model = AlignedBaseline(backbone, train_ws.n_classes, P.shape[1])
        gen = torch.Generator().manual_seed(seed)
        curves: list[dict] = []

        # step 1: classification
        def ce(x, y):
            return classification_loss(model.classifier(model.segment(x)), y, allowed)

        opt = torch.optim.AdamW(list(model.backbone.parameters()) + list(model.classifier.parameters()),
                                lr=cfg.pretrain_lr, weight_decay=cfg.weight_decay)
        stopper = EarlyStopping(cfg.pretrain_patience)
        for epoch in tqdm(range(cfg.pretrain_epochs), desc=f"{arch}: CE", disable=not progress):
            model.train()
            tr = _epoch(model, ce, Xtr, ytr, cfg.batch_size, gen, opt, cfg.augment)
            va = _mean_loss(model, ce, Xva, yva)
            curves.append({"step": "pretrain", "epoch": epoch, "train_loss": tr, "val_loss": va})
            stopper.step(va, epoch, model)
            if stopper.should_stop(epoch):
                break
        if stopper.best_state is not None:
            model.load_state_dict(stopper.best_state)

        # step 2: Stage-3 objective against the frozen prototypes
        a = cfg.align

        def nce(x, y):
            z = model.embed(x)
            return (prototype_info_nce(z, P, y, a.temperature, allowed)
                    + a.w_aux * classification_loss(model.aux_classifier(z), y, allowed))

        head = list(model.projection.parameters()) + list(model.aux_classifier.parameters())
        stopper, epoch = EarlyStopping(a.patience), 0
        for phase, n_epochs in (("head", a.phase1_epochs), ("finetune", a.phase2_epochs)):
            if n_epochs <= 0:
                continue
            if phase == "head":
                model.backbone.requires_grad_(False)
                opt = torch.optim.AdamW(head, lr=a.phase1_lr, weight_decay=a.weight_decay)
            else:
                model.load_state_dict(stopper.best_state)
                stopper.best_epoch = epoch - 1  # patience restarts; the best value carries over
                model.backbone.requires_grad_(True)
                opt = torch.optim.AdamW([{"params": head, "lr": a.phase2_head_lr},
                                         {"params": model.backbone.parameters(), "lr": a.phase2_lr}],
                                        weight_decay=a.weight_decay)
            for _ in tqdm(range(n_epochs), desc=f"{arch}: align ({phase})", disable=not progress):
                model.train()
                if phase == "head":
                    model.backbone.eval()  # frozen: batch-norm statistics and dropout off
                tr = _epoch(model, nce, Xtr, ytr, a.batch_size, gen, opt, a.augment)
                va = _mean_loss(model, nce, Xva, yva)
                curves.append({"step": f"align-{phase}", "epoch": epoch, "train_loss": tr, "val_loss": va})
                stopper.step(va, epoch, model)
                epoch += 1
                if stopper.should_stop(epoch - 1):
                    break
        model.load_state_dict(stopper.best_state)
        model.requires_grad_(False)
        model.eval()
    return DeepRun(arch, model, normalizer, cfg, curves, time.perf_counter() - t_start)


class DeepRetriever:
    """Registry adapter: ``fit(train_ws, val_ws, prototypes)`` trains ``arch``; ``embed(ws)`` -> (N, D) unit rows."""

    def __init__(self, arch: str, preset: str = "quick", seed: int = 0, config: DeepConfig | None = None,
                 progress: bool = False, **overrides):
        if arch not in ARCHITECTURES:
            raise ConfigError(f"unknown deep baseline {arch!r}; expected one of {sorted(ARCHITECTURES)}")
        cfg = config or DeepConfig.preset_named(preset)
        known = {k: v for k, v in overrides.items() if k in DeepConfig.__dataclass_fields__}
        self.name, self.arch, self.seed, self.progress = arch, arch, seed, progress
        self.config = replace(cfg, **known)
        self.run: DeepRun | None = None

    def fit(self, train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray) -> "DeepRetriever":
        self.run = train_deep(self.arch, train_ws, val_ws, prototypes, self.config, self.seed, self.progress)
        return self

    def embed(self, ws: WindowSet) -> np.ndarray:
        if self.run is None:
            raise ConfigError(f"{self.arch}: embed called before fit")
        return self.run.embed(ws.X)

    def describe(self) -> dict:
        """What the results JSON records about this model."""
        return {"arch": self.arch, "config": asdict(self.config),
                "train_seconds": self.run.train_seconds if self.run else None,
                "curves": self.run.curves if self.run else []}
