"""A linear head from frozen features into the prototype space, trained full-batch with prototype InfoNCE.

The foundation-model rows (CPEP, EMBridge, AEMG) keep their pretrained encoder frozen;
this head is what maps its features onto the same text prototypes as every other row.

    head = fit_prototype_head(Z, prototypes, y, temperature=0.07, lr=1e-2, steps=300)
    tensors = stored_head("aemg", encoder_folder, train_ws, prototypes, settings, seed, runs, fit_head)

:func:`stored_head` keeps a fitted head in the run store, keyed by the frozen encoder's run, the training
windows, the prototypes and the head's settings: the ``user`` protocol's new-user settings score the
head ``user`` fitted instead of fitting it again.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..io import write_json
from ..losses import prototype_info_nce
from ..paths import runs_root
from ..run_store import array_content, claimed, is_complete, read_record, run_folder, windows_identity
from ..training.common import load_checkpoint, save_checkpoint
from ..training.fit import FitConfig, fit


def fit_prototype_head(Z: torch.Tensor, prototypes: np.ndarray, y: np.ndarray, temperature: float, lr: float,
                       steps: int, weight_decay: float = 0.0) -> torch.nn.Linear:
    """``Linear(Z.shape[1] -> D)`` trained so that unit-norm ``head(Z)`` is nearest its class prototype.

    Only the classes present in ``y`` are positives or negatives (under ``class``, held-out
    prototypes stay out of training). Uses torch's global RNG for the initial weights.
    """
    P = F.normalize(torch.as_tensor(np.asarray(prototypes), dtype=torch.float32), dim=-1)
    y = torch.from_numpy(np.asarray(y))
    allowed = torch.unique(y)
    head = torch.nn.Linear(Z.shape[1], P.shape[1])

    def loss_fn(z, labels):
        return prototype_info_nce(F.normalize(head(z), dim=-1), P, labels, temperature, allowed), {}

    # full batch (the encoder is frozen, features are precomputed): one step per "epoch"
    cfg = FitConfig(epochs=steps, batch_size=max(1, len(Z)), lr=lr, weight_decay=weight_decay, schedule="constant",
                    grad_clip=None, monitor=None)
    fit(head, loss_fn, Z, y, None, cfg, progress=False, desc="prototype head")
    return head


def linear_from(tensors: dict[str, torch.Tensor]) -> torch.nn.Linear:
    """The ``Linear`` whose ``weight`` and ``bias`` are in ``tensors`` (a stored head)."""
    weight = tensors["weight"]
    head = torch.nn.Linear(weight.shape[1], weight.shape[0])
    head.load_state_dict({"weight": weight, "bias": tensors["bias"]})
    return head.requires_grad_(False)


def stored_head(kind: str, encoder_folder: str | Path | None, train_ws, prototypes: np.ndarray, settings: dict,
                seed: int, runs, fit_head: Callable[[], dict[str, torch.Tensor]],
                code: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
    """The tensors ``fit_head()`` returns, read back from the run store when a run of the same frozen encoder
    (``encoder_folder``, a run-store folder), training windows, prototypes, ``settings`` and seed saved them;
    otherwise fitted and saved (``head.pt`` first, ``results.json`` last). ``code``: the caller's modules (how
    it embeds and standardises). An encoder outside the run store identifies nothing, so its head is fitted."""
    if encoder_folder is None or not (Path(encoder_folder) / "config.json").is_file() \
            or "key" not in read_record(encoder_folder):
        return fit_head()
    folder = run_folder(runs_root(runs), f"head-{kind}", label=train_ws.dataset_name,
                        data={"train": windows_identity(train_ws)}, seed=seed,
                        sections={"head": settings, "prototypes": array_content(prototypes)},
                        upstream=[encoder_folder], code=(__name__, *code))
    with claimed(folder):
        if is_complete(folder):
            return load_checkpoint(folder / "head.pt")["tensors"]
        t0 = time.perf_counter()
        tensors = {k: v.detach().clone() for k, v in fit_head().items()}
        save_checkpoint(folder / "head.pt", tensors=tensors)
        write_json(folder / "results.json", {"fit_seconds": time.perf_counter() - t0})
        return tensors
