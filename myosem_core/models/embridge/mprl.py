"""Masked pose reconstruction loss, MPRL (EMBridge section 2.2.2).

Second Q-Former pass: the M queries are concatenated with L pose tokens, of
which a fraction ``mask_ratio`` is replaced by a learned mask token (plus the
position embedding). The attention mask lets

- queries attend to queries only (so their rows compute exactly pass 1),
- pose tokens attend to queries only (never to each other),

and only query rows cross-attend to the EMG tokens: pose tokens cannot read
EMG, so everything needed to rebuild a masked pose patch must pass through the
queries. A linear decoding layer maps each masked pose token's output back to
the normalised pose patch; the loss is the MSE on the masked tokens (eq. 2).
Pose tokens come from the frozen pose MAE's tokenizer.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .mae import PatchMAE, patchify, random_masking
from .qformer import QFormer


def mprl_attention_mask(n_queries: int, n_pose: int, device=None) -> torch.Tensor:
    """Bool (M+L, M+L), True = blocked: every row (query or pose) may attend to the M query columns only."""
    N = n_queries + n_pose
    mask = torch.zeros(N, N, dtype=torch.bool, device=device)
    mask[:, n_queries:] = True
    return mask


def query_rows(n_queries: int, n_pose: int, device=None) -> torch.Tensor:
    """Bool (M+L,): True for the query rows, the only rows allowed to cross-attend to EMG."""
    rows = torch.zeros(n_queries + n_pose, dtype=torch.bool, device=device)
    rows[:n_queries] = True
    return rows


class MaskedPoseReconstruction(nn.Module):
    """Mask token and decoding layer g of the second pass; the pose tokenizer is the frozen pose MAE's."""

    def __init__(self, pose_mae: PatchMAE, mask_ratio: float = 0.5):
        super().__init__()
        self.pose_mae = [pose_mae]  # a list keeps the frozen encoder out of this module's parameters
        self.mask_ratio = mask_ratio
        d = pose_mae.cfg.d_model
        self.mask_token = nn.Parameter(torch.randn(1, 1, d) * 0.02)
        self.decode = nn.Linear(d, pose_mae.cfg.patch_dim)

    def masked_pose_tokens(self, pose: torch.Tensor, generator: torch.Generator | None = None):
        """Pose tokens (B, L, d) with masked positions replaced by mask token + position, and the mask (B, L)."""
        mae = self.pose_mae[0]
        with torch.no_grad():
            tokens = mae.tokenize(pose)
        _, mask = random_masking(pose.shape[0], mae.cfg.n_patches, self.mask_ratio, generator, pose.device)
        masked = self.mask_token + mae.pos.detach()
        return torch.where(mask.unsqueeze(-1), masked.expand_as(tokens), tokens), mask

    def second_pass(self, qformer: QFormer, emg_tokens: torch.Tensor, pose_tokens: torch.Tensor) -> torch.Tensor:
        """Outputs (B, M + L, d) of the masked pass over [queries; pose tokens]."""
        M, L = qformer.n_queries, pose_tokens.shape[1]
        x = torch.cat([qformer.queries.expand(pose_tokens.shape[0], -1, -1), pose_tokens], dim=1)
        dev = x.device
        return qformer.run(x, emg_tokens, mprl_attention_mask(M, L, dev), query_rows(M, L, dev))

    def forward(self, qformer: QFormer, emg_tokens: torch.Tensor, pose: torch.Tensor,
                generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """MPRL loss and the query outputs of the pass (identical to pass 1, so callers can reuse them)."""
        tokens, mask = self.masked_pose_tokens(pose, generator)
        H = self.second_pass(qformer, emg_tokens, tokens)
        M = qformer.n_queries
        pred = self.decode(H[:, M:])  # (B, L, S*P)
        target = patchify(pose, self.pose_mae[0].cfg.patch_len)
        loss = F.mse_loss(pred[mask], target[mask])
        return loss, H[:, :M]
