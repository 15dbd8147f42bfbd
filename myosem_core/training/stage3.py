"""Train MyoSem Stage 3: semantic-query alignment to frozen Stage-1 prototypes.

Loss = InfoNCE(embedding, prototypes) + w_aux * CE(aux classifier). Only the
prototypes of classes that occur in the training windows are candidates during
training (under the ``class`` protocol the held-out ones stay unseen).

Phase 1 trains the head (projection + semantic queries) on the frozen encoder.
Phase 2 unfreezes the encoder's last ``unfreeze_layers`` Transformer layers at a
lower learning rate. Both phases run through the one fit loop; early stopping
watches the validation InfoNCE across both phases: phase 2 is kept only if it
improves on phase 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from .. import distributed as ddp
from ..data.windows import WindowSet
from ..errors import ConfigError, DataError
from ..io import read_json, save_npz, write_json
from ..losses import classification_loss, prototype_info_nce
from ..models.activation_encoder import ActivationAwareEncoder, EncoderConfig
from ..models.semantic_queries import MyoSemModel, QueryHeadConfig, SemanticQueryHead
from ..paths import runs_root
from ..run_store import (
    claimed,
    array_content,
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
from .stage2 import Stage2Run


@dataclass(frozen=True)
class Stage3Config:
    preset: str = "quick"
    head: QueryHeadConfig = QueryHeadConfig()  # d_model / embed_dim are filled from the encoder and prototypes
    temperature: float = 0.07
    w_aux: float = 0.1
    batch_size: int = 128
    phase1_epochs: int = 10
    phase1_lr: float = 2e-3
    phase2_epochs: int = 6
    phase2_lr: float = 2e-4  # unfrozen encoder layers
    phase2_head_lr: float = 5e-4
    unfreeze_layers: int = 1
    weight_decay: float = 1e-2
    schedule: str = "onecycle"  # per phase
    grad_clip: float | None = 1.0
    augment: AugmentConfig = AugmentConfig()
    cross_user_augment: AugmentConfig | None = None  # replaces ``augment`` under the user protocol (None: same)
    patience: int = 3
    threads: int = 1  # intra-op threads (the machine is shared; more threads thrash under load)

    def for_protocol(self, protocol: str | None) -> "Stage3Config":
        """The config a protocol trains with (:func:`~.augment.for_protocol`)."""
        return for_protocol(self, protocol)


@dataclass
class Stage3Run:
    """A trained MyoSem model (encoder + query head) with what it needs to embed raw windows."""

    model: MyoSemModel
    normalizer: InputNormalizer
    prototypes: np.ndarray  # (K, D) the frozen targets it was trained against, rows = class_keys
    class_keys: tuple[str, ...]
    config: Stage3Config
    folder: Path | None = None
    curves: list[dict] = field(default_factory=list)
    train_classes: list[int] = field(default_factory=list)

    @torch.no_grad()
    def embed(self, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Unit-norm embeddings (N, D) of raw windows (N, L, C)."""
        if self.model.training:  # eval() walks every module: skip it on the per-window latency path
            self.model.eval()
        out = predict_in_batches(lambda x: self.model(x).embedding, self.normalizer.transform(X), batch_size)
        return torch.cat(out).numpy()

    @torch.no_grad()
    def attention(self, X: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Each semantic query's attention over the patches: (N, M, P)."""
        self.model.eval()
        if not self.model.head.cfg.use_queries:
            raise ConfigError("this head has no semantic queries (use_queries=False)")
        out = predict_in_batches(lambda x: self.model(x).attention, self.normalizer.transform(X), batch_size)
        return torch.cat(out).numpy()

    def scores(self, X: np.ndarray, prototypes: np.ndarray | None = None) -> np.ndarray:
        """Cosine of every window with every prototype: (N, K)."""
        P = self.prototypes if prototypes is None else prototypes
        return self.embed(X) @ np.asarray(P, np.float32).T


def check_prototypes(prototypes: np.ndarray, n_classes: int) -> np.ndarray:
    P = np.asarray(prototypes, dtype=np.float32)
    if P.ndim != 2 or P.shape[0] != n_classes:
        raise DataError("<prototypes>", "prototypes", f"expected a ({n_classes}, D) array, one row per class key, "
                        f"got shape {P.shape}")
    norms = np.linalg.norm(P, axis=1)
    if not np.allclose(norms, 1.0, atol=1e-3):
        raise DataError("<prototypes>", "prototypes", f"expected unit-norm rows, got norms {norms.min():.3f}..{norms.max():.3f}")
    return P


def build_model(encoder: ActivationAwareEncoder, cfg: Stage3Config, embed_dim: int) -> MyoSemModel:
    head_cfg = replace(cfg.head, d_model=encoder.cfg.d_model, embed_dim=embed_dim)
    return MyoSemModel(encoder, SemanticQueryHead(head_cfg), encoder.cfg.n_classes)


def set_trainable(model: MyoSemModel, unfreeze_layers: int) -> list[torch.nn.Parameter]:
    """Freeze the encoder except its last ``unfreeze_layers`` layers (+ final norm); return those parameters."""
    for p in model.encoder.parameters():
        p.requires_grad_(False)
    if unfreeze_layers <= 0:
        return []
    modules = list(model.encoder.layers[-unfreeze_layers:]) + [model.encoder.norm]
    params = [p for m in modules for p in m.parameters()]
    for p in params:
        p.requires_grad_(True)
    return params


def phase_fit_config(cfg: Stage3Config, phase: str) -> FitConfig:
    """The fit loop's settings of one phase (``head`` or ``finetune``); early stopping on the validation InfoNCE."""
    epochs, lr = (cfg.phase1_epochs, cfg.phase1_lr) if phase == "head" else (cfg.phase2_epochs, cfg.phase2_head_lr)
    return FitConfig(epochs=epochs, batch_size=cfg.batch_size, lr=lr, weight_decay=cfg.weight_decay,
                     schedule=cfg.schedule, grad_clip=cfg.grad_clip, patience=cfg.patience, monitor="val_nce")


def train_stage3(train_ws: WindowSet, val_ws: WindowSet, stage2: Stage2Run, prototypes: np.ndarray,
                 cfg: Stage3Config = Stage3Config(), seed: int = 0, folder: str | Path | None = None,
                 progress: bool = True) -> Stage3Run:
    """Align a copy of the Stage-2 encoder to ``prototypes`` (K, D), rows in ``train_ws.class_keys`` order.

    Both phases run through :func:`~myosem_core.training.fit.fit`. With a ``folder``, the state after
    every epoch is saved (``stage3_head_last.pt``, ``stage3_finetune_last.pt``) and a rerun resumes from it.
    Under ``torchrun`` it trains data-parallel (:mod:`myosem_core.distributed`); rank 0 writes the files.
    """
    import copy

    P = torch.from_numpy(check_prototypes(prototypes, train_ws.n_classes))
    with limit_threads(cfg.threads):
        seed_everything(seed)
        dev = ddp.device()
        model = build_model(copy.deepcopy(stage2.model), cfg, P.shape[1]).to(dev)
        norm = stage2.normalizer
        Xtr, ytr = torch.from_numpy(norm.transform(train_ws.X)).to(dev), torch.from_numpy(train_ws.y).to(dev)
        Xva, yva = torch.from_numpy(norm.transform(val_ws.X)).to(dev), torch.from_numpy(val_ws.y).to(dev)
        allowed, P = torch.from_numpy(np.unique(train_ws.y)).to(dev), P.to(dev)
        head_params = list(model.head.parameters()) + list(model.aux_classifier.parameters())
        key = fingerprint(cfg, seed, P.cpu().numpy(), train_ws.X, val_ws.X, ddp.state_digest(stage2.model).numpy())

        def loss_fn(x, y):
            out = model(x)
            nce = prototype_info_nce(out.embedding, P, y, cfg.temperature, allowed)
            aux = classification_loss(model.aux_classifier(out.embedding), y, allowed)
            return nce + cfg.w_aux * aux, {"nce": float(nce.detach()), "aux": float(aux.detach())}

        curves: list[dict] = []
        best = (None, -1, "head")  # (value, epoch, phase)
        for phase in ("head", "finetune"):
            fcfg = phase_fit_config(cfg, phase)
            if fcfg.epochs <= 0:
                continue
            if phase == "head":
                set_trainable(model, 0)
                params, baseline = head_params, None

                def train_mode(m):
                    m.train()
                    m.encoder.eval()  # frozen: no dropout inside
            else:
                enc_params = set_trainable(model, cfg.unfreeze_layers)
                params = [{"params": head_params, "lr": cfg.phase2_head_lr},
                          {"params": enc_params, "lr": cfg.phase2_lr}]
                baseline = (best[0], copy.deepcopy(model.state_dict())) if best[0] is not None else None
                train_mode = None
            result = fit(model, loss_fn, Xtr, ytr,
                         lambda m, phase=phase: {**evaluate_stage3(m, Xva, yva, P, cfg, allowed), "phase": phase},
                         fcfg, seed=seed, params=params, augment=lambda x: augment(x, cfg.augment),
                         train_mode=train_mode, baseline=baseline, first_epoch=len(curves), progress=progress,
                         desc=f"stage 3 ({phase})", checkpoint=EpochCheckpoint(folder, f"stage3_{phase}_last.pt", key))
            curves += result.curves
            if result.improved:
                best = (result.best_value, result.best_epoch, phase)
        model.cpu().eval()
        allowed, P = allowed.cpu(), P.cpu()
    run = Stage3Run(model, stage2.normalizer, P.numpy(), tuple(train_ws.class_keys), cfg,
                    Path(folder) if folder else None, curves, allowed.tolist())
    if folder is not None and ddp.is_main():
        _save(run, best[1])
    ddp.barrier()
    return run


@torch.no_grad()
def evaluate_stage3(model: MyoSemModel, X: torch.Tensor, y: torch.Tensor, P: torch.Tensor, cfg: Stage3Config,
                    allowed: torch.Tensor) -> dict[str, float]:
    """Validation InfoNCE and EMG->text R@1 over the allowed prototypes."""
    model.eval()
    nce, hits = 0.0, 0
    for idx in batches(len(X), 1024):
        z = model(X[idx]).embedding
        nce += float(prototype_info_nce(z, P, y[idx], cfg.temperature, allowed)) * len(idx)
        hits += int((allowed[(z @ P[allowed].t()).argmax(1)] == y[idx]).sum())
    return {"val_nce": nce / len(X), "val_r1": hits / len(X)}


def _save(run: Stage3Run, best_epoch: int) -> None:
    f = run.folder
    record_sections(f, "myosem-stage3", stage3=run.config)
    save_checkpoint(f / "stage3.pt", state_dict=run.model.state_dict(), epoch=best_epoch)
    save_npz(f / "prototypes.npz", prototypes=run.prototypes, class_keys=np.asarray(run.class_keys))
    write_json(f / "normalizer.json", run.normalizer.to_dict())
    write_json(f / "encoder_config.json", asdict(run.model.encoder.cfg))
    write_json(f / "head_config.json", asdict(run.model.head.cfg))
    write_json(f / "curves.json", run.curves)
    best = next(r for r in run.curves if r["epoch"] == best_epoch)
    write_json(f / "results.json", {"stage": "myosem-stage3", "best_epoch": best_epoch, "best_phase": best["phase"],
                                    "train_classes": run.train_classes, "val_nce": best["val_nce"],
                                    "val_r1": best["val_r1"]})


def load_stage3(folder: str | Path) -> Stage3Run:
    """A Stage-3 run saved by :func:`train_stage3` (self-contained: encoder, head, normaliser, prototypes)."""
    folder = Path(folder)
    if not (folder / "results.json").is_file():
        raise DataError(folder, "results.json", "not a completed Stage-3 run folder")
    encoder = ActivationAwareEncoder(build_config(EncoderConfig, read_json(folder / "encoder_config.json"),
                                                  str(folder / "encoder_config.json")))
    head = SemanticQueryHead(build_config(QueryHeadConfig, read_json(folder / "head_config.json"),
                                          str(folder / "head_config.json")))
    model = MyoSemModel(encoder, head, encoder.cfg.n_classes)
    model.load_state_dict(load_checkpoint(folder / "stage3.pt")["state_dict"])
    model.eval()
    with np.load(folder / "prototypes.npz") as z:
        P, keys = z["prototypes"], tuple(z["class_keys"].tolist())
    return Stage3Run(model, InputNormalizer.from_dict(read_json(folder / "normalizer.json")), P, keys,
                     read_section(folder, "stage3", Stage3Config), folder, read_json(folder / "curves.json"),
                     read_json(folder / "results.json")["train_classes"])


def stage3_folder(train_ws: WindowSet, val_ws: WindowSet, stage2: Stage2Run, prototypes: np.ndarray,
                  stage3: Stage3Config, seed: int, runs: str | Path | None = None) -> Path:
    """The run folder of a Stage-3 alignment: keyed by its windows, its Stage-2 run, the prototypes, its config,
    the seed and the code that trains it."""
    if stage2.folder is None:
        raise ConfigError("Stage 3 builds on a saved Stage-2 run (one with a folder); see load_or_train_stage2")
    P = np.asarray(prototypes, np.float32)
    return run_folder(runs_root(runs), "myosem-stage3", label=train_ws.dataset_name,
                      data={"train": windows_identity(train_ws), "val": windows_identity(val_ws)}, seed=seed,
                      sections={"stage3": stage3, "prototypes": {"content": array_content(P),
                                                                   "class_keys": list(train_ws.class_keys)},
                                **ddp.run_key_extra()},
                      upstream=[stage2.folder], code=(__name__,))


def load_or_train_stage3(train_ws: WindowSet, val_ws: WindowSet, stage2: Stage2Run, prototypes: np.ndarray,
                         stage3: Stage3Config, seed: int = 0, runs: str | Path | None = None,
                         progress: bool = True) -> Stage3Run:
    """The Stage-3 run of these windows, Stage-2 run, prototypes and config from the run store, trained and
    saved there when absent."""
    P = check_prototypes(prototypes, train_ws.n_classes)
    folder = stage3_folder(train_ws, val_ws, stage2, P, stage3, seed, runs)
    with claimed(folder):
        if is_complete(folder):
            return load_stage3(folder)
        return train_stage3(train_ws, val_ws, stage2, P, stage3, seed, folder, progress)


def untrained_stage3(stage2: Stage2Run, prototypes: np.ndarray, cfg: Stage3Config = Stage3Config(),
                     seed: int = 0) -> Stage3Run:
    """The Stage-3 model before alignment (trained encoder, freshly initialised head): the "before" picture."""
    import copy

    P = check_prototypes(prototypes, stage2.model.cfg.n_classes)
    seed_everything(seed)
    model = build_model(copy.deepcopy(stage2.model), cfg, P.shape[1]).eval()
    keys = tuple(str(i) for i in range(len(P)))
    return Stage3Run(model, stage2.normalizer, P, keys, cfg, None, [], list(stage2.train_classes))
