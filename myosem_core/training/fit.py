"""The one training loop of every deep EMG model in the book.

    result = fit(model, loss_fn, Xtr, ytr, validate, FitConfig(epochs=40), seed=0,
                 augment=lambda x: augment(x, aug), checkpoint=EpochCheckpoint(folder, "last.pt", key))

``loss_fn(x, y) -> (loss, parts)`` computes one batch's loss from any of the
model's parts; ``validate(model) -> dict`` scores the current weights on the
validation split. The loop owns the rest:

- batching from pre-built tensors (a seeded generator; under ``torchrun`` every
  rank takes its share of each global batch, :func:`myosem_core.distributed.shard_batches`);
- AdamW over ``params`` (all trainable parameters, or explicit groups) with a
  one-cycle, warm-up + cosine or constant learning rate, stepped per batch;
- gradient clipping and an augmentation hook on each training batch;
- early stopping on ``monitor`` with ``patience``, and the best epoch's weights
  restored at the end (``baseline`` lets a second phase keep the first phase's
  weights unless it beats them);
- training curves, a tqdm bar, and the state after every epoch written
  atomically (:class:`~myosem_core.training.resume.EpochCheckpoint`): a killed
  run resumes to the same weights, and a finished one returns at once;
- data-parallel training with the same weights on every rank (gradients are
  averaged by ``DistributedDataParallel``, parameters re-broadcast after each step).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import distributed as ddp
from ..errors import ConfigError
from .common import EarlyStopping
from .resume import EpochCheckpoint

SCHEDULES = ("onecycle", "cosine", "constant")

LossFn = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, dict]]


@dataclass(frozen=True)
class FitConfig:
    """How one model is optimised: budget, optimiser, schedule and early stopping."""

    epochs: int = 30
    batch_size: int = 128
    lr: float = 3e-3  # peak learning rate (of the first parameter group when groups carry their own)
    weight_decay: float = 0.05
    schedule: str = "onecycle"  # onecycle | cosine (linear warm-up, then cosine) | constant
    warmup: float = 0.2  # fraction of the steps spent warming up (onecycle / cosine)
    grad_clip: float | None = 1.0  # max global gradient norm (None: off)
    patience: int = 8  # epochs without a better monitored value before stopping
    monitor: str | None = "val_loss"  # None: no early stopping (validation values are only logged)
    mode: str | None = None  # min | max; None: max for an accuracy (a monitor ending in "acc"), else min
    drop_last: bool = False  # skip the last, smaller batch (contrastive losses want full batches of negatives)

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"FitConfig.schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.mode is None:
            object.__setattr__(self, "mode", "max" if (self.monitor or "").endswith("acc") else "min")
        if self.mode not in ("min", "max"):
            raise ConfigError(f"FitConfig.mode must be 'min' or 'max', got {self.mode!r}")
        if self.epochs < 0 or self.batch_size < 1 or self.patience < 1:
            raise ConfigError(f"FitConfig needs epochs >= 0, batch_size >= 1 and patience >= 1, got {self}")


@dataclass
class FitResult:
    curves: list[dict] = field(default_factory=list)
    best_epoch: int = -1
    best_value: float | None = None
    seconds: float = 0.0

    @property
    def improved(self) -> bool:
        """Whether this fit found weights better than its ``baseline`` (always, without one)."""
        return self.best_epoch >= 0


def lr_lambda(cfg: FitConfig, total_steps: int) -> Callable[[int], float]:
    """The multiplier of the peak learning rate at each step."""
    warm = max(1, int(round(cfg.warmup * total_steps)))

    def f(step: int) -> float:
        if cfg.schedule == "constant":
            return 1.0
        if step < warm:
            start = 0.04 if cfg.schedule == "onecycle" else 0.0  # one-cycle starts at lr / 25
            return start + (1 - start) * (step + 1) / warm
        t = min(1.0, (step - warm) / max(1, total_steps - warm))
        floor = 1e-4 if cfg.schedule == "onecycle" else 0.0
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))

    return f


def fit(model: nn.Module, loss_fn: LossFn, X: torch.Tensor, y: torch.Tensor,
        validate: Callable[[nn.Module], dict] | None, cfg: FitConfig, *, seed: int = 0,
        params: Iterable | None = None, augment: Callable[[torch.Tensor], torch.Tensor] | None = None,
        train_mode: Callable[[nn.Module], None] | None = None, checkpoint: EpochCheckpoint | None = None,
        baseline: tuple[float, dict] | None = None, progress: bool = True, desc: str = "fit",
        first_epoch: int = 0, on_step: Callable[[float], None] | None = None,
        batches: Callable[[torch.Generator], Iterable[tuple]] | None = None,
        steps_per_epoch: int | None = None) -> FitResult:
    """Train ``model`` on ``(X, y)`` by ``loss_fn``; returns curves and leaves the best weights loaded.

    ``validate``: None (or ``cfg.monitor`` None) trains the whole budget and keeps the last weights.
    ``params``: parameters or AdamW groups (default: every parameter that requires grad).
    ``train_mode``: puts the model in training mode (default ``model.train()``), e.g. with a frozen part in eval.
    ``baseline``: (value, state) of earlier weights to beat; kept when no epoch improves on them.
    ``first_epoch``: number of the first epoch in the curves (a second phase continues the numbering).
    ``on_step``: told the fraction of the budget done before each step (for schedules inside the loss).
    ``batches``: a batch plan of its own instead of shuffled ``(X[idx], y[idx])``: called once per epoch
    with the loop's generator (so a resumed run draws the same), it yields argument tuples of ``loss_fn``;
    ``steps_per_epoch`` then sizes the schedule, and ``X`` / ``y`` / ``augment`` are not used.
    """
    t_start = time.perf_counter()
    groups = list(params) if params is not None else [p for p in model.parameters() if p.requires_grad]
    # foreach: one batched update over all parameters instead of a Python loop; the same numbers to the bit
    # (checked on a Stage-2 run of the real data) and ~10 % less time per step for these small models
    opt = torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, foreach=True)
    n_steps = steps_per_epoch or max(1, -(-len(X) // cfg.batch_size))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda(cfg, max(1, cfg.epochs * n_steps)))
    stopper, curves = EarlyStopping(cfg.patience, cfg.mode), []
    stopper.best_epoch = first_epoch - 1
    if baseline is not None:
        stopper.best, stopper.best_state = float(baseline[0]), baseline[1]
    gen = torch.Generator().manual_seed(seed)
    start = 0
    state = checkpoint.load() if checkpoint is not None else None
    if state is not None:
        last = checkpoint.restore(state, model, opt, sched, gen, stopper)
        curves = list(state["curves"])
        start = cfg.epochs if state["stop"] else last - first_epoch + 1
    step_loss = ddp.wrap_loss(model, loss_fn)
    trainable = [p for g in groups for p in (g["params"] if isinstance(g, dict) else [g])]
    bar = tqdm(range(start, cfg.epochs), desc=desc, disable=not progress or not ddp.is_main(), leave=False)
    for i in bar:
        epoch, t0 = first_epoch + i, time.perf_counter()
        (train_mode or nn.Module.train)(model)
        sums, n = {}, 0
        plan = (((X[idx] if augment is None else augment(X[idx]), y[idx])
                 for idx in ddp.shard_batches(len(X), cfg.batch_size, gen)
                 if not cfg.drop_last or len(idx) * ddp.world_size() >= min(cfg.batch_size, len(X)))
                if batches is None else batches(gen))
        for step, args in enumerate(plan):
            if on_step is not None:
                on_step((i + step / n_steps) / max(1, cfg.epochs))
            loss, parts = step_loss(*args)
            size = len(args[0])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(trainable, cfg.grad_clip)
            opt.step()
            sched.step()
            ddp.sync_module(model)
            for k, v in {"loss": float(loss.detach()), **parts}.items():
                sums[k] = sums.get(k, 0.0) + float(v) * size
            n += size
        model.eval()
        with torch.no_grad():
            val = validate(model) if validate is not None else {}
        stopping = validate is not None and cfg.monitor is not None
        if stopping and cfg.monitor not in val:
            raise ConfigError(f"FitConfig.monitor {cfg.monitor!r} is not among the validation values {sorted(val)}")
        row = {"epoch": epoch, **{f"train_{k}": v / max(n, 1) for k, v in sums.items()}, **val,
               "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0}
        curves.append(row)
        if stopping:
            stopper.step(val[cfg.monitor], epoch, model)
            stop = stopper.should_stop(epoch)
            bar.set_postfix(loss=f"{row['train_loss']:.3f}", **{cfg.monitor: f"{val[cfg.monitor]:.3f}"})
        else:
            stopper.best_epoch, stop = epoch, False  # the last epoch is the result
            bar.set_postfix(loss=f"{row.get('train_loss', float('nan')):.3f}")
        if checkpoint is not None:
            checkpoint.save(epoch, model, opt, sched, gen, stopper, curves, stop=stop)
        if stop:
            break
    if stopper.best_state is not None:
        model.load_state_dict(stopper.best_state)
    best = stopper.best_epoch if stopper.best_epoch >= first_epoch else -1
    return FitResult(curves, best, stopper.best, time.perf_counter() - t_start)

