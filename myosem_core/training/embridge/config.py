"""The configs of EMBridge and CPEP: MAE pre-training, alignment, the named variants and the presets of notebook 07."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ...errors import ConfigError


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

def variant(align: AlignConfig, name: str, **overrides) -> AlignConfig:
    """The alignment config of a named model (:data:`VARIANTS`) on top of ``align``, plus ``overrides``."""
    if name not in VARIANTS:
        raise ConfigError(f"unknown EMBridge variant {name!r}; expected one of {sorted(VARIANTS)}")
    return replace(align, **VARIANTS[name], **overrides)
