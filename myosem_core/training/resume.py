"""Resumable training: the full state after every epoch, so a killed run continues where it stopped.

    ckpt = EpochCheckpoint(folder, "stage2_last.pt", key=fingerprint(cfg, seed, train_ws.X))  # folder None: no-op
    state = ckpt.load()                                   # None on a fresh start
    if state: start = ckpt.restore(state, model, opt, sched, gen, stopper) + 1
    for epoch in range(start, n_epochs):
        ...train, validate...
        ckpt.save(epoch, model, opt, sched, gen, stopper, curves, stop=stopper.should_stop(epoch))

The checkpoint holds the weights, optimiser and scheduler states, the early
stopping record (best value, epoch and weights), the curves, and every random
number generator the loop draws from (torch's global CPU/CUDA generators,
numpy's legacy global one, and the loop's batch-order generator). It is written
atomically by rank 0 alone, so a run resumed with the same seed reaches the
same weights and metrics as one that was never interrupted. A checkpoint whose
``key`` (config, seed, data fingerprint) differs is ignored, not resumed.

Fault injection for tests and demonstrations: with
``MYOSEM_INTERRUPT_AFTER_EPOCH=k`` in the environment, :meth:`EpochCheckpoint.save`
raises :class:`SimulatedInterrupt` right after epoch ``k``'s checkpoint is on
disk, as if the process had been killed there.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .. import distributed as ddp
from ..run_store import array_content, digest
from .common import EarlyStopping, load_checkpoint, save_checkpoint

INTERRUPT_ENV = "MYOSEM_INTERRUPT_AFTER_EPOCH"


class SimulatedInterrupt(RuntimeError):
    """Raised after an epoch's checkpoint when ``$MYOSEM_INTERRUPT_AFTER_EPOCH`` names that epoch."""


def rng_state(generator: torch.Generator | None) -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
             "generator": generator.get_state() if generator is not None else None}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict, generator: torch.Generator | None) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    if generator is not None and state.get("generator") is not None:
        generator.set_state(state["generator"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def fingerprint(*parts) -> str:
    """Key of a training run's resumable state: configs / dicts / numbers, and arrays (hashed on a strided
    sample and their shape), so a checkpoint of another run in the same folder is never resumed."""
    out = []
    for p in parts:
        if isinstance(p, np.ndarray):
            flat = p.reshape(len(p), -1) if p.ndim else p.reshape(1, 1)
            out.append({"shape": list(p.shape), "sample": array_content(flat[::max(1, len(flat) // 512)])})
        else:
            out.append(p)
    return digest(out)


class EpochCheckpoint:
    """The last completed epoch's training state in ``<folder>/<name>`` (no-op when ``folder`` is None)."""

    def __init__(self, folder: str | Path | None, name: str, key: str | None = None):
        self.path = Path(folder) / name if folder is not None else None
        self.key = key

    def load(self) -> dict | None:
        """The saved state, or None when there is nothing to resume (or it belongs to another run)."""
        if self.path is None or not self.path.is_file():
            return None
        state = load_checkpoint(self.path)
        if state.get("key") != self.key:
            warnings.warn(f"{self.path} belongs to another run (key {state.get('key')} != {self.key}); "
                          "starting afresh", stacklevel=2)
            return None
        return state

    def save(self, epoch: int, model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler,
             generator: torch.Generator | None, stopper: EarlyStopping, curves: list[dict], stop: bool = False,
             **extra) -> None:
        """Write the state after ``epoch`` (rank 0 only, atomically); ``stop``: early stopping ended the loop."""
        if self.path is not None:
            if ddp.is_main():
                save_checkpoint(self.path, key=self.key, epoch=epoch, stop=bool(stop), model=model.state_dict(),
                                optimizer=optimizer.state_dict(),
                                scheduler=scheduler.state_dict() if scheduler is not None else None,
                                rng=rng_state(generator), curves=list(curves),
                                stopper={"best": stopper.best, "best_epoch": stopper.best_epoch,
                                         "best_state": stopper.best_state}, **extra)
            ddp.barrier()
        if os.environ.get(INTERRUPT_ENV, "") == str(epoch):
            raise SimulatedInterrupt(f"interrupted after epoch {epoch} (${INTERRUPT_ENV}); "
                                     f"checkpoint: {self.path}")

    @staticmethod
    def restore(state: dict, model: torch.nn.Module, optimizer: torch.optim.Optimizer | None, scheduler,
                generator: torch.Generator | None, stopper: EarlyStopping) -> int:
        """Put ``state`` back into the live objects; returns the epoch it was saved after."""
        model.load_state_dict(state["model"])
        if optimizer is not None:
            optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state.get("scheduler") is not None:
            scheduler.load_state_dict(state["scheduler"])
        restore_stopper(stopper, state["stopper"])
        restore_rng(state["rng"], generator)
        return int(state["epoch"])


def restore_stopper(stopper: EarlyStopping, saved: dict) -> None:
    stopper.best, stopper.best_epoch, stopper.best_state = saved["best"], saved["best_epoch"], saved["best_state"]
