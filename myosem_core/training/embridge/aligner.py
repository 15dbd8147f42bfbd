"""Alignment of a copy of the EMG MAE encoder to the frozen pose MAE (CPEP head or Q-Former), and reading it back.

Loss = InfoNCE (+ label smoothing) + alpha * (CASCLe | SoftCLIP) + lambda * MPRL (EMBridge paper, sections 2-4).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...data.windows import WindowSet
from ...errors import ConfigError, DataError
from ...io import read_json
from ...models.embridge import (
    EMGPoseAligner,
    best_query,
    cascle_targets,
    fit_communities,
    info_nce,
    instance_soft_targets,
    soft_cross_entropy,
)
from ...threads import limit_threads
from ..common import load_checkpoint, seed_everything
from ..fit import FitConfig, fit
from .config import AlignConfig
from .data import require_pose
from .mae import MAERun


@dataclass
class AlignerRun:
    """A trained alignment model with the MAEs it was built on."""

    model: EMGPoseAligner
    emg: MAERun
    pose: MAERun
    config: AlignConfig
    name: str = ""
    folder: Path | None = None
    curves: list[dict] = field(default_factory=list)
    seconds: float = 0.0  # wall-clock training time
    cpu_seconds: float = 0.0
    n_train: int = 0  # paired training windows

    @torch.no_grad()
    def queries(self, ws: WindowSet, batch_size: int = 1024) -> np.ndarray:
        """Unit-norm EMG query embeddings (N, M, d_pose) of ``ws`` (M = 1 for CPEP)."""
        self.model.eval()
        Z = self.emg.normalizer.transform(ws.X)
        return np.concatenate([self.model.queries(torch.from_numpy(Z[i:i + batch_size])).numpy()
                               for i in range(0, len(Z), batch_size)])

    def embed(self, ws: WindowSet) -> np.ndarray:
        """Query-averaged EMG embeddings (N, d_pose): the encoder a downstream table uses."""
        return self.queries(ws).mean(axis=1)


def alignment_loss(model: EMGPoseAligner, cfg: AlignConfig, x, p, v, centroids, gen):
    """Total loss InfoNCE(+LS) + alpha * soft objective + lambda * MPRL, and its parts."""
    tokens = model.emg_tokens(x)
    parts = {}
    if model.mprl is not None:
        l_mprl, Q = model.mprl(model.head, tokens, p, gen)
        parts["mprl"] = l_mprl.item()
    else:
        Q = model.head(tokens)
    if cfg.query_selection == "max":
        logits = torch.einsum("bmd,kd->bmk", F.normalize(Q, dim=-1), v).max(dim=1).values * model.temperature()
    else:
        u = best_query(Q, v)  # v is unit-norm
        logits = (u @ v.T) * model.temperature()
    loss = info_nce(logits, cfg.label_smoothing)
    parts["infonce"] = loss.item()
    if cfg.soft != "none":
        targets = (cascle_targets(v, centroids, cfg.k_c, cfg.tau_s) if cfg.soft == "cascle"
                   else instance_soft_targets(v, cfg.tau_s))
        soft = soft_cross_entropy(logits, targets)
        loss = loss + cfg.alpha * soft
        parts[cfg.soft] = soft.item()
    if model.mprl is not None:
        loss = loss + cfg.lam * l_mprl
    parts["total"] = loss.item()
    return loss, parts


def train_aligner(train: WindowSet, emg: MAERun, pose: MAERun, cfg: AlignConfig, seed: int = 0, threads: int = 1,
                  name: str = "", folder: Path | None = None, progress: bool = True) -> AlignerRun:
    """Align a copy of the EMG MAE encoder to the frozen pose MAE on paired training windows."""
    require_pose(train)
    if cfg.soft not in ("cascle", "softclip", "none"):
        raise ConfigError(f"soft must be 'cascle', 'softclip' or 'none', got {cfg.soft!r}")
    if len(train) < 2:
        raise DataError("<split>", "train", f"alignment needs at least 2 paired training windows, got {len(train)}")
    with limit_threads(threads, native="all"):
        seed_everything(seed)
        for p_ in pose.model.parameters():
            p_.requires_grad_(False)
        X = torch.from_numpy(emg.normalizer.transform(train.X))
        P = torch.from_numpy(pose.normalizer.transform(train.pose))
        V = F.normalize(torch.from_numpy(pose.embed(train)), dim=-1)  # frozen anchors
        centroids = (torch.from_numpy(fit_communities(V.numpy(), cfg.n_clusters, seed))
                     if cfg.soft == "cascle" else None)
        model = EMGPoseAligner(emg.model, pose.model, cfg.head, cfg.n_queries, use_mprl=cfg.use_mprl,
                               mprl_mask_ratio=cfg.mprl_mask_ratio, tau_init=cfg.tau_init)
        masks = torch.Generator().manual_seed(seed)  # MPRL's masked pose patches

        def loss_fn(i, _):  # batches of window indices: EMG, pose and anchor rows are taken together
            return alignment_loss(model, cfg, X[i], P[i], V[i], centroids, masks)

        t_start, c_start = time.perf_counter(), time.process_time()
        index = torch.arange(len(X))
        fcfg = FitConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
                         schedule="cosine", warmup=0.0, grad_clip=None, drop_last=True, monitor=None)
        result = fit(model, loss_fn, index, index, lambda m: {"tau": float(1.0 / m.temperature().item())}, fcfg,
                     seed=seed, progress=progress, desc=f"align {name or cfg.head}")
        curves = [{**{k[len("train_"):]: v for k, v in r.items() if k.startswith("train_") and k != "train_loss"},
                   "epoch": r["epoch"], "tau": r["tau"]} for r in result.curves]
        model.eval()
    return AlignerRun(model, emg, pose, cfg, name, folder, curves, time.perf_counter() - t_start,
                      time.process_time() - c_start, len(train))


def load_aligner(folder: Path, emg: MAERun, pose: MAERun, align: AlignConfig, name: str) -> AlignerRun:
    """The aligner saved in a completed run folder, on top of the MAEs it was trained from."""
    model = EMGPoseAligner(emg.model, pose.model, align.head, align.n_queries, use_mprl=align.use_mprl,
                           mprl_mask_ratio=align.mprl_mask_ratio, tau_init=align.tau_init)
    model.load_state_dict(load_checkpoint(folder / "model.pt")["state_dict"])
    model.eval()
    res = read_json(folder / "results.json")
    return AlignerRun(model, emg, pose, align, name, folder, read_json(folder / "curves.json"),
                      res["train_seconds"], res["train_cpu_seconds"], res["n_train_windows"])
