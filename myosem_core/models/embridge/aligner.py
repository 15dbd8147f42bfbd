"""EMG encoder + alignment head (CPEP projection or Q-Former), the trainable half of EMBridge.

``queries(x)`` returns unit-norm EMG embeddings (B, M, d_pose) in the frozen
pose encoder's space: M = 1 for CPEP, M learnable queries for the Q-Former.
Zero-shot similarity to a pose embedding is the best query's cosine (max over
M); the linear-probe feature is the query average.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .contrastive import Temperature
from .cpep import CPEPHead
from .mae import PatchMAE
from .mprl import MaskedPoseReconstruction
from .qformer import QFormer


class EMGPoseAligner(nn.Module):
    def __init__(self, emg_mae: PatchMAE, pose_mae: PatchMAE, head: str = "qformer", n_queries: int = 16,
                 cross_every: int = 2, use_mprl: bool = True, mprl_mask_ratio: float = 0.5, tau_init: float = 0.07):
        super().__init__()
        if head not in ("cpep", "qformer"):
            raise ValueError(f"head must be 'cpep' or 'qformer', got {head!r}")
        if use_mprl and head != "qformer":
            raise ValueError("MPRL needs the Q-Former's queries (head='qformer')")
        self.head_kind = head
        self.encoder = copy.deepcopy(emg_mae)  # trainable EMG encoder, initialised from the EMG MAE
        for p in self.encoder.parameters():
            p.requires_grad_(True)
        d_emg, d_pose = emg_mae.cfg.d_model, pose_mae.cfg.d_model
        self.head = CPEPHead(d_emg, d_pose) if head == "cpep" else QFormer(pose_mae, d_emg, n_queries, cross_every)
        self.mprl = MaskedPoseReconstruction(pose_mae, mprl_mask_ratio) if use_mprl else None
        self.temperature = Temperature(tau_init)

    def emg_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """EMG encoder outputs (B, 1 + L, d_emg), [CLS] first, no masking."""
        return self.encoder.encode(x)

    def queries(self, x: torch.Tensor) -> torch.Tensor:
        """Unit-norm EMG embeddings (B, M, d_pose)."""
        return F.normalize(self.head(self.emg_tokens(x)), dim=-1)

    @torch.no_grad()
    def probe_features(self, x: torch.Tensor) -> torch.Tensor:
        """Query-averaged embedding (B, d_pose), the linear-probe input."""
        return self.queries(x).mean(dim=1)
