"""Train and evaluate EMBridge, CPEP and their variants on a protocol split (EMBridge paper, sections 2-4).

Three steps, each cached in a run folder keyed by a hash of everything that shapes it:

1. ``load_or_train_mae``: an EMG MAE and a pose MAE, separately, on the
   training windows of the split (held-out gestures / users never seen).
2. ``load_or_train_aligner``: a copy of the EMG MAE encoder + a CPEP head or
   a Q-Former (blocks copied from the frozen pose MAE), trained with
   InfoNCE (+ label smoothing) + alpha * (CASCLe | SoftCLIP) + lambda * MPRL.
3. ``evaluate_*``: zero-shot kNN (k = 10) over the pose corpus of each
   evaluation set and a linear probe on frozen query-averaged embeddings,
   balanced accuracy (:mod:`myosem_core.evaluation.probes`).

Evaluation sets: protocol ``class`` gives ``seen`` (probe-train = training
windows, evaluation = the seen gestures' test repetitions) and ``unseen`` (the
held-out gestures: probe-train = their non-test repetitions, evaluation = their
test repetitions); protocol ``user`` gives ``users`` (probe-train = training
users, evaluation = the unseen test users).

    ecfg = EMBridgeConfig.preset_named("quick")
    res = run_embridge_experiments(cfg, ws, ecfg)   # every table of notebook 07, as a dict saved to JSON
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ..config import Config
from ..data.normalize import ChannelNormalizer
from ..data.protocols import Split, make_split
from ..data.windows import WindowSet
from ..errors import ConfigError, DataError
from ..evaluation.probes import balanced_accuracy, linear_probe, zero_shot_knn
from ..io import read_json, write_json
from ..models.embridge import (EMGPoseAligner, MAEConfig, PatchMAE, best_query, cascle_targets, fit_communities,
                               info_nce, instance_soft_targets, soft_cross_entropy)
from ..paths import runs_root
from ..threads import limit_threads
from .fit import FitConfig, fit
from .common import config_hash, load_checkpoint, save_checkpoint, seed_everything

# ------------------------------------------------------------------------------------------------------ configs


@dataclass(frozen=True)
class MAETrainConfig:
    """One masked autoencoder: its size and how it is pre-trained."""

    patch_s: float = 0.1  # token length in seconds (10 samples of DB1's 100 Hz)
    d_model: int = 32
    n_layers: int = 4  # the Q-Former copies the pose encoder's blocks, so 4 gives the paper's 4 Q-Former blocks
    n_heads: int = 2
    decoder_dim: int = 32
    decoder_layers: int = 1
    mask_ratio: float = 0.5
    pool: str = "mean"  # window embedding = mean of the patch tokens (the MAE loss never trains [CLS])
    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    weight_decay: float = 1e-4


@dataclass(frozen=True)
class AlignConfig:
    """One alignment model. The defaults are EMBridge; :data:`VARIANTS` names the others."""

    head: str = "qformer"  # "qformer" or "cpep"
    n_queries: int = 16
    query_selection: str = "paired"  # "paired": the query closest to the paired pose (paper); "max": per-pair max (BLIP-2)
    use_mprl: bool = True
    mprl_mask_ratio: float = 0.5
    lam: float = 1.0  # lambda, weight of MPRL
    soft: str = "cascle"  # "cascle", "softclip" (instance-level soft targets) or "none"
    alpha: float = 1.0  # weight of the soft objective
    label_smoothing: float = 0.0  # 0.1 in the -LS variants
    n_clusters: int = 48  # N_c k-means communities of training pose embeddings
    k_c: int = 3  # top-k_c communities kept per pose
    tau_s: float = 0.1  # soft-target temperature
    tau_init: float = 0.07  # learnable contrastive temperature, initial value
    data_fraction: float = 1.0  # fraction of paired training data (whole repetitions, per class)
    epochs: int = 12
    batch_size: int = 256
    lr: float = 5e-3  # the paper's 1e-4 is far too slow for the few epochs that fit on 2 CPU cores
    weight_decay: float = 1e-4


#: Named alignment models: overrides of :class:`AlignConfig` (EMBridge = the defaults).
VARIANTS: dict[str, dict] = {
    "CPEP": dict(head="cpep", use_mprl=False, soft="none"),
    "CPEP-LS": dict(head="cpep", use_mprl=False, soft="none", label_smoothing=0.1),
    "Q-Former": dict(head="qformer", use_mprl=False, soft="none"),
    "Q-Former-LS": dict(head="qformer", use_mprl=False, soft="none", label_smoothing=0.1),
    "EMBridge": dict(),
    "w/o Q-Former": dict(head="cpep", use_mprl=False, soft="cascle"),
    "w/o MPRL": dict(use_mprl=False),
    "w/o CASCLe": dict(soft="none"),
    "Label smoothing": dict(soft="none", label_smoothing=0.1),
    "SoftCLIP": dict(soft="softclip"),
    # BLIP-2's ITC: the logit of every (EMG i, pose j) pair is its best query's, max_m cos(Q'_im, v_j)
    "Q-Former (per-pair max)": dict(head="qformer", use_mprl=False, soft="none", query_selection="max"),
    "EMBridge (per-pair max)": dict(query_selection="max"),
}


@dataclass(frozen=True)
class EMBridgeConfig:
    """Model sizes, training lengths and the experiment grid of notebook 07."""

    preset: str = "quick"
    emg: MAETrainConfig = MAETrainConfig()
    pose: MAETrainConfig = MAETrainConfig()
    align: AlignConfig = AlignConfig()
    knn_k: int = 10
    pose_normalization: str = "global"  # "global" z-score of the training windows
    threads: int = 1  # torch + BLAS threads; >1 is far slower when the 2 cores are shared (spinning OpenMP threads)
    protocols: tuple[str, ...] = ("class", "user")
    main_models: tuple[str, ...] = ("CPEP", "CPEP-LS", "Q-Former", "Q-Former-LS", "EMBridge",
                                    "Q-Former (per-pair max)", "EMBridge (per-pair max)")
    user_models: tuple[str, ...] = ("CPEP", "CPEP-LS", "Q-Former", "Q-Former-LS", "EMBridge", "EMBridge (per-pair max)")
    ablations: tuple[str, ...] = ("w/o Q-Former", "w/o MPRL", "w/o CASCLe", "Label smoothing", "SoftCLIP")
    batch_sizes: tuple[int, ...] = (256, 512, 1024)
    batch_models: tuple[str, ...] = ("CPEP", "Q-Former", "EMBridge")
    fractions: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0)
    tau_s_grid: tuple[float, ...] = (0.05, 0.1, 0.2, 0.5)
    k_c_grid: tuple[int, ...] = (1, 3, 10)

    @classmethod
    def preset_named(cls, name: str) -> "EMBridgeConfig":
        if name not in EMBRIDGE_PRESETS:
            raise ConfigError(f"unknown EMBridge preset {name!r}; expected one of {sorted(EMBRIDGE_PRESETS)}")
        return EMBRIDGE_PRESETS[name]


EMBRIDGE_PRESETS: dict[str, EMBridgeConfig] = {
    # CI: a few minutes on 2 cores for the whole notebook -> short training and a reduced grid.
    "quick": EMBridgeConfig(
        preset="quick",
        emg=MAETrainConfig(epochs=5), pose=MAETrainConfig(epochs=5),
        align=AlignConfig(epochs=5),
        main_models=("CPEP", "EMBridge", "EMBridge (per-pair max)"), user_models=("CPEP", "EMBridge"),
        ablations=("w/o CASCLe",), batch_sizes=(256, 1024), batch_models=("EMBridge",),
        fractions=(0.4, 1.0), tau_s_grid=(0.1, 0.5), k_c_grid=(3, 10),
    ),
    # The book: the whole grid at sizes that fit 2 CPU cores.
    "full": EMBridgeConfig(preset="full"),
    # The paper's sizes (d = 256, 4 encoder + 2 decoder layers, 40 alignment epochs): hours on CPU.
    "paper": EMBridgeConfig(
        preset="paper",
        emg=MAETrainConfig(patch_s=0.05, d_model=256, n_layers=4, n_heads=8, decoder_dim=256, decoder_layers=2,
                           epochs=100, lr=1e-4, weight_decay=1e-5),
        pose=MAETrainConfig(d_model=256, n_layers=4, n_heads=8, decoder_dim=256, decoder_layers=2, epochs=100,
                            lr=1e-4, weight_decay=1e-5),
        align=AlignConfig(epochs=40, lr=1e-4, weight_decay=1e-5, tau_init=0.02),
    ),
}


def variant(align: AlignConfig, name: str, **overrides) -> AlignConfig:
    """The alignment config of a named model (:data:`VARIANTS`) on top of ``align``, plus ``overrides``."""
    if name not in VARIANTS:
        raise ConfigError(f"unknown EMBridge variant {name!r}; expected one of {sorted(VARIANTS)}")
    return replace(align, **VARIANTS[name], **overrides)


# ------------------------------------------------------------------------------------------------------ data


def _require_pose(ws: WindowSet) -> None:
    if ws.pose is None:
        raise DataError(ws.meta.get("data_dir") or "<windows>", "pose",
                        "EMBridge needs paired pose windows (CyberGlove or joint angles); this dataset has none")


def fit_normalizers(train: WindowSet, pose_normalization: str = "global") -> tuple[ChannelNormalizer, ChannelNormalizer]:
    """EMG (log1p first when the signal is an RMS envelope) and pose z-scores fitted on training windows."""
    _require_pose(train)
    if pose_normalization != "global":
        raise ConfigError(f"pose_normalization must be 'global', got {pose_normalization!r}")
    emg = ChannelNormalizer(log=train.signal_kind == "rms").fit(train.X)
    pose = ChannelNormalizer().fit(train.pose)
    return emg, pose


def subsample_training(ws: WindowSet, idx: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Keep ``fraction`` of the (subject, repetition) units of every class in ``idx`` (at least one per class)."""
    if fraction >= 1.0:
        return idx
    if not 0 < fraction < 1:
        raise ConfigError(f"data_fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(ws.y[idx]):
        sel = idx[ws.y[idx] == c]
        key = np.unique(ws.subject[sel], return_inverse=True)[1] * 1000 + ws.repetition[sel]  # one id per unit
        units = np.unique(key)
        chosen = rng.permutation(units)[:max(1, int(round(fraction * len(units))))]
        keep.append(sel[np.isin(key, chosen)])
    return np.sort(np.concatenate(keep))


def evaluation_sets(ws: WindowSet, split: Split) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Name -> (probe-train indices, evaluation indices) for the split's protocol (see module docstring)."""
    name = split.config.name
    if name == "class":
        held = np.isin(ws.labels, split.heldout_classes)
        test = np.zeros(len(ws), bool)
        test[split.test] = True
        in_test_reps = np.isin(ws.repetition, list(split.config.test_repetitions))
        return {"seen": (split.train, np.flatnonzero(test & ~held)),
                "unseen": (np.flatnonzero(held & ~in_test_reps), np.flatnonzero(held & in_test_reps))}
    if name in ("user", "rand", "cross-dataset"):
        return {"users" if name == "user" else "test": (split.train, split.test)}
    raise ConfigError(f"no EMBridge evaluation sets for protocol {name!r}")


# ------------------------------------------------------------------------------------------------------ MAE


@dataclass
class MAERun:
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
    if not (folder / "results.json").is_file():
        raise DataError(folder, "results.json", "not a completed EMBridge MAE run folder")
    ckpt = load_checkpoint(folder / "model.pt")
    model = PatchMAE(MAEConfig(**ckpt["config"]))
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    res = read_json(folder / "results.json")
    return MAERun(model, ChannelNormalizer.from_dict(read_json(folder / "normalizer.json")), stream, folder,
                  read_json(folder / "curves.json"), res["train_seconds"], res["train_cpu_seconds"])


def _experiment_root(cfg: Config, split: Split, runs) -> Path:
    key = config_hash(cfg.data, split.config.key())
    return runs_root(runs) / f"embridge-{cfg.data.dataset}-{split.config.name}-{key}"


def load_or_train_mae(cfg: Config, ws: WindowSet, split: Split, stream: str, ecfg: EMBridgeConfig,
                      runs=None, progress: bool = True) -> MAERun:
    """The EMG or pose MAE of this split: reused when its config hash matches, trained and saved otherwise."""
    if stream not in ("emg", "pose"):
        raise ConfigError(f"stream must be 'emg' or 'pose', got {stream!r}")
    mcfg = ecfg.emg if stream == "emg" else ecfg.pose
    folder = _experiment_root(cfg, split, runs) / f"mae-{stream}-{config_hash(mcfg, ecfg.pose_normalization, cfg.seed)}"
    if (folder / "results.json").is_file():
        return load_mae(folder, stream)
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "config.json", {"mae": asdict(mcfg), "seed": cfg.seed, "stream": stream,
                                        "pose_normalization": ecfg.pose_normalization, "data": asdict(cfg.data)})
    split.save(folder / "manifests")
    train = ws.subset(split.train)
    emg_norm, pose_norm = fit_normalizers(train, ecfg.pose_normalization)
    return train_mae(train, stream, mcfg, emg_norm if stream == "emg" else pose_norm, cfg.seed, ecfg.threads,
                     folder, progress)


# ------------------------------------------------------------------------------------------------------ alignment


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


def _loss(model: EMGPoseAligner, cfg: AlignConfig, x, p, v, centroids, gen):
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
    _require_pose(train)
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
            return _loss(model, cfg, X[i], P[i], V[i], centroids, masks)

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


def load_or_train_aligner(cfg: Config, ws: WindowSet, split: Split, ecfg: EMBridgeConfig, name: str = "EMBridge",
                          align: AlignConfig | None = None, runs=None, progress: bool = True) -> AlignerRun:
    """A named alignment model (:data:`VARIANTS`) of this split, reused by config hash or trained and saved."""
    align = align or variant(ecfg.align, name)
    emg = load_or_train_mae(cfg, ws, split, "emg", ecfg, runs, progress)
    pose = load_or_train_mae(cfg, ws, split, "pose", ecfg, runs, progress)
    key = config_hash(align, emg.folder.name if emg.folder else "", pose.folder.name if pose.folder else "", cfg.seed)
    folder = _experiment_root(cfg, split, runs) / f"align-{_slug(name)}-{key}"
    if (folder / "results.json").is_file():
        return _load_aligner(folder, emg, pose, align, name)
    train_idx = subsample_training(ws, split.train, align.data_fraction, cfg.seed)
    run = train_aligner(ws.subset(train_idx), emg, pose, align, cfg.seed, ecfg.threads, name, folder, progress)
    folder.mkdir(parents=True, exist_ok=True)
    save_checkpoint(folder / "model.pt", state_dict=run.model.state_dict())
    write_json(folder / "config.json", {"name": name, "align": asdict(align), "seed": cfg.seed,
                                        "emg_mae": emg.folder.name, "pose_mae": pose.folder.name,
                                        "n_train_windows": int(len(train_idx))})
    write_json(folder / "curves.json", run.curves)
    write_json(folder / "results.json", {"stage": "embridge-align", "name": name, "train_seconds": run.seconds,
                                         "train_cpu_seconds": run.cpu_seconds, "n_train_windows": int(len(train_idx))})
    return run


def _load_aligner(folder: Path, emg: MAERun, pose: MAERun, align: AlignConfig, name: str) -> AlignerRun:
    model = EMGPoseAligner(emg.model, pose.model, align.head, align.n_queries, use_mprl=align.use_mprl,
                           mprl_mask_ratio=align.mprl_mask_ratio, tau_init=align.tau_init)
    model.load_state_dict(load_checkpoint(folder / "model.pt")["state_dict"])
    model.eval()
    res = read_json(folder / "results.json")
    return AlignerRun(model, emg, pose, align, name, folder, read_json(folder / "curves.json"),
                      res["train_seconds"], res["train_cpu_seconds"], res["n_train_windows"])


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")


# ------------------------------------------------------------------------------------------------------ evaluation


def evaluate_aligner(run: AlignerRun, ws: WindowSet, split: Split, k: int = 10, seed: int = 0,
                     keep_predictions: bool = False, threads: int = 1) -> dict:
    """Zero-shot kNN and linear-probe balanced accuracy on every evaluation set of the split."""
    with limit_threads(threads, native="all"):
        return _evaluate_aligner(run, ws, split, k, seed, keep_predictions)


def _evaluate_aligner(run: AlignerRun, ws: WindowSet, split: Split, k: int, seed: int, keep_predictions: bool) -> dict:
    out = {}
    for set_name, (probe_idx, eval_idx) in evaluation_sets(ws, split).items():
        ev = ws.subset(eval_idx)
        Q = run.queries(ev)
        corpus = run.pose.embed(ev)  # the pose corpus of the evaluation split
        zs_pred = zero_shot_knn(Q, corpus, ev.y, k)
        feats_probe = run.embed(ws.subset(probe_idx))
        lp_pred = linear_probe(feats_probe, ws.y[probe_idx], Q.mean(axis=1), seed)
        out[set_name] = {"zs": balanced_accuracy(ev.y, zs_pred), "lp": balanced_accuracy(ev.y, lp_pred),
                         "n_eval": int(len(eval_idx)), "n_probe": int(len(probe_idx))}
        if keep_predictions:
            out[set_name].update(y_true=ev.y.tolist(), zs_pred=zs_pred.tolist())
    return out


def evaluate_mae(run: MAERun, ws: WindowSet, split: Split, seed: int = 0, threads: int = 1) -> dict:
    """Linear-probe balanced accuracy of a frozen MAE (EMG-MAE row; pose MAE = the upper bound)."""
    out = {}
    with limit_threads(threads, native="all"):
        for set_name, (probe_idx, eval_idx) in evaluation_sets(ws, split).items():
            pred = linear_probe(run.embed(ws.subset(probe_idx)), ws.y[probe_idx], run.embed(ws.subset(eval_idx)), seed)
            out[set_name] = {"lp": balanced_accuracy(ws.y[eval_idx], pred), "n_eval": int(len(eval_idx))}
    return out


# ------------------------------------------------------------------------------------------------------ experiments


def run_embridge_experiments(cfg: Config, ws: WindowSet, ecfg: EMBridgeConfig | None = None, runs=None,
                             progress: bool = True) -> dict:
    """Every table of notebook 07 (main, ablations, batch size, data efficiency, tau_s / k_c sensitivity).

    Cached runs are reused; the result dict is written to ``<runs>/embridge-<dataset>-<preset>-<hash>/results.json``.
    """
    _require_pose(ws)
    ecfg = ecfg or EMBridgeConfig.preset_named(cfg.preset)
    out_dir = runs_root(runs) / f"embridge-{cfg.data.dataset}-{ecfg.preset}-{config_hash(asdict(cfg.data), ecfg, cfg.seed)}"
    res: dict = {"dataset": cfg.data.dataset, "preset": ecfg.preset, "seed": cfg.seed, "config": asdict(ecfg),
                 "synthetic": bool(ws.is_synthetic), "main": [], "ablations": [], "batch_size": [],
                 "data_efficiency": [], "sensitivity": [], "timing": []}
    jobs = _jobs(ecfg)
    bar = tqdm(jobs, desc="EMBridge experiments", disable=not progress)
    splits = {p: make_split(ws, p) for p in ecfg.protocols}
    t0 = time.perf_counter()
    for table, protocol, name, overrides, extra in bar:
        bar.set_postfix_str(f"{protocol}: {name} {extra}")
        split = splits[protocol]
        if name in ("Upper bound (pose MAE)", "EMG-MAE"):
            mae = load_or_train_mae(cfg, ws, split, "pose" if name.startswith("Upper") else "emg", ecfg, runs, progress)
            metrics = _cached_metrics(mae.folder, (split.config.key(), cfg.seed),
                                      lambda: evaluate_mae(mae, ws, split, cfg.seed, ecfg.threads))
            res["timing"].append({"protocol": protocol, "model": name, "train_seconds": mae.seconds,
                                  "train_cpu_seconds": mae.cpu_seconds})
        else:
            align = variant(ecfg.align, name, **overrides)
            run = load_or_train_aligner(cfg, ws, split, ecfg, name, align, runs, progress)
            keep = table == "main" and protocol == "class"
            metrics = _cached_metrics(run.folder, (split.config.key(), ecfg.knn_k, cfg.seed, keep),
                                      lambda: evaluate_aligner(run, ws, split, ecfg.knn_k, cfg.seed, keep, ecfg.threads))
            res["timing"].append({"protocol": protocol, "model": name, **extra, "train_seconds": run.seconds,
                                  "train_cpu_seconds": run.cpu_seconds, "n_train_windows": run.n_train})
        res[table].append({"protocol": protocol, "model": name, **extra, "metrics": metrics})
    res["total_seconds"] = time.perf_counter() - t0
    write_json(out_dir / "results.json", res)
    res["path"] = str(out_dir / "results.json")
    return res


def _cached_metrics(folder: Path | None, key: tuple, evaluate) -> dict:
    """Metrics of a run folder's model for one evaluation setting, computed once and kept beside the model."""
    if folder is None:
        return evaluate()
    path = Path(folder) / f"metrics-{config_hash(*key)}.json"
    if path.is_file():
        return read_json(path)
    metrics = evaluate()
    write_json(path, metrics)
    return metrics


def _jobs(ecfg: EMBridgeConfig) -> list[tuple[str, str, str, dict, dict]]:
    """(table, protocol, model, AlignConfig overrides, extra columns) for every cell of the grid."""
    jobs = []
    for protocol in ecfg.protocols:
        models = ecfg.main_models if protocol == "class" else ecfg.user_models
        for name in ("Upper bound (pose MAE)", "EMG-MAE", *models):
            jobs.append(("main", protocol, name, {}, {}))
    if "class" not in ecfg.protocols:
        return jobs
    for name in ecfg.ablations:
        jobs.append(("ablations", "class", name, {}, {}))
    for bs in ecfg.batch_sizes:
        for name in ecfg.batch_models:
            jobs.append(("batch_size", "class", name, {"batch_size": bs}, {"batch_size": bs}))
    for f in ecfg.fractions:
        jobs.append(("data_efficiency", "class", "EMBridge", {"data_fraction": f}, {"data_fraction": f}))
    for t in ecfg.tau_s_grid:
        jobs.append(("sensitivity", "class", "EMBridge", {"tau_s": t}, {"param": "tau_s", "value": t}))
    for kc in ecfg.k_c_grid:
        jobs.append(("sensitivity", "class", "EMBridge", {"k_c": kc}, {"param": "k_c", "value": kc}))
    return jobs


# ------------------------------------------------------------------------------------------------------ any windows


def load_or_train_on_windows(train: WindowSet, ecfg: EMBridgeConfig, name: str = "EMBridge", seed: int = 0,
                             runs=None, progress: bool = True) -> AlignerRun:
    """MAEs + a named aligner trained on exactly ``train`` (no split object), cached by a hash of its contents.

    This is what the retrieval registry uses (:mod:`myosem_core.baselines.embridge`): it hands over the
    training windows of a protocol, not the protocol.
    """
    _require_pose(train)
    align = variant(ecfg.align, name)
    key = config_hash(train.X, train.pose, train.y.astype(np.float32), ecfg.emg, ecfg.pose, ecfg.pose_normalization,
                      seed)
    root = runs_root(runs) / f"embridge-windows-{train.meta.get('dataset', train.dataset[0])}-{key}"
    emg_norm, pose_norm = fit_normalizers(train, ecfg.pose_normalization)
    maes = {}
    for stream, mcfg, norm in (("emg", ecfg.emg, emg_norm), ("pose", ecfg.pose, pose_norm)):
        folder = root / f"mae-{stream}"
        maes[stream] = (load_mae(folder, stream) if (folder / "results.json").is_file() else
                        train_mae(train, stream, mcfg, norm, seed, ecfg.threads, _mkdir(folder), progress))
    folder = root / f"align-{_slug(name)}-{config_hash(align, seed)}"
    if (folder / "results.json").is_file():
        return _load_aligner(folder, maes["emg"], maes["pose"], align, name)
    run = train_aligner(train, maes["emg"], maes["pose"], align, seed, ecfg.threads, name, folder, progress)
    save_checkpoint(_mkdir(folder) / "model.pt", state_dict=run.model.state_dict())
    write_json(folder / "curves.json", run.curves)
    write_json(folder / "results.json", {"stage": "embridge-align", "name": name, "train_seconds": run.seconds,
                                         "train_cpu_seconds": run.cpu_seconds, "n_train_windows": len(train)})
    return run


def _mkdir(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder
