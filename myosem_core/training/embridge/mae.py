"""Masked-autoencoder pre-training of one stream (EMG or pose) and reading a trained MAE back from its folder."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ...data.normalize import ChannelNormalizer
from ...data.windows import WindowSet
from ...errors import DataError
from ...io import read_json, write_json
from ...models.embridge import MAEConfig, PatchMAE
from ...threads import limit_threads
from ..common import load_checkpoint, save_checkpoint, seed_everything
from ..fit import FitConfig, fit
from .config import MAETrainConfig


@dataclass
class MAERun:
    """A pre-trained MAE of one stream with the normalizer of its inputs."""

    model: PatchMAE
    normalizer: ChannelNormalizer
    stream: str  # "emg" or "pose"
    folder: Path | None = None
    curves: list[dict] = field(default_factory=list)
    seconds: float = 0.0  # wall-clock training time
    cpu_seconds: float = 0.0  # CPU time of the training process (all its threads)

    def windows(self, ws: WindowSet) -> np.ndarray:
        return ws.X if self.stream == "emg" else ws.pose

    @torch.no_grad()
    def embed(self, ws: WindowSet, batch_size: int = 1024) -> np.ndarray:
        """Pooled encoder embeddings (N, d) of a window set's stream."""
        self.model.eval()
        Z = self.normalizer.transform(self.windows(ws))
        return np.concatenate([self.model.embed(torch.from_numpy(Z[i:i + batch_size])).numpy()
                               for i in range(0, len(Z), batch_size)])


def mae_config_for(ws: WindowSet, stream: str, cfg: MAETrainConfig) -> MAEConfig:
    arr = ws.X if stream == "emg" else ws.pose
    T, C = arr.shape[1], arr.shape[2]
    patch = max(1, int(round(cfg.patch_s * ws.fs)))
    if T % patch:
        raise DataError("<windows>", "X" if stream == "emg" else "pose",
                        f"window length {T} samples is not a multiple of the patch ({cfg.patch_s} s = {patch} samples)")
    return MAEConfig(n_channels=C, window_len=T, patch_len=patch, d_model=cfg.d_model, n_layers=cfg.n_layers,
                     n_heads=cfg.n_heads, decoder_dim=cfg.decoder_dim, decoder_layers=cfg.decoder_layers,
                     mask_ratio=cfg.mask_ratio, pool=cfg.pool)


def train_mae(train: WindowSet, stream: str, cfg: MAETrainConfig, normalizer: ChannelNormalizer, seed: int = 0,
              threads: int = 1, folder: Path | None = None, progress: bool = True) -> MAERun:
    """Masked-patch pre-training of one stream (``"emg"`` or ``"pose"``) on ``train``."""
    if len(train) < 2:
        raise DataError("<split>", "train", f"MAE pre-training needs training windows, got {len(train)}")
    with limit_threads(threads, native="all"):
        seed_everything(seed)
        model = PatchMAE(mae_config_for(train, stream, cfg))
        X = torch.from_numpy(normalizer.transform(train.X if stream == "emg" else train.pose))
        masks = torch.Generator().manual_seed(seed)  # draws the masked patches

        def loss_fn(x, _):
            loss, _ = model(x, masks)
            return loss, {}

        t_start, c_start = time.perf_counter(), time.process_time()
        fcfg = FitConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, weight_decay=cfg.weight_decay,
                         schedule="cosine", warmup=0.0, grad_clip=None)
        result = fit(model, loss_fn, X, torch.zeros(len(X)), None, fcfg, seed=seed, progress=progress,
                     desc=f"MAE {stream}")
        curves = [{"epoch": r["epoch"], "train_mse_masked": r["train_loss"], "seconds": r["seconds"]}
                  for r in result.curves]
        model.eval()
    run = MAERun(model, normalizer, stream, folder, curves, time.perf_counter() - t_start, time.process_time() - c_start)
    if folder is not None:
        save_checkpoint(folder / "model.pt", state_dict=model.state_dict(), config=asdict(model.cfg))
        write_json(folder / "normalizer.json", normalizer.to_dict())
        write_json(folder / "curves.json", curves)
        write_json(folder / "results.json", {"stage": f"embridge-mae-{stream}", "train_seconds": run.seconds,
                                             "train_cpu_seconds": run.cpu_seconds,
                                             "final_mse_masked": curves[-1]["train_mse_masked"] if curves else None})
    return run


def load_mae(folder: Path, stream: str) -> MAERun:
    """The MAE saved in a completed run folder by :func:`train_mae`."""
    if not (folder / "results.json").is_file():
        raise DataError(folder, "results.json", "not a completed EMBridge MAE run folder")
    ckpt = load_checkpoint(folder / "model.pt")
    model = PatchMAE(MAEConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    res = read_json(folder / "results.json")
    return MAERun(model, ChannelNormalizer.from_dict(read_json(folder / "normalizer.json")), stream, folder,
                  read_json(folder / "curves.json"), res["train_seconds"], res["train_cpu_seconds"])
