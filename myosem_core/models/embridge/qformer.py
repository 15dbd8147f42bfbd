"""Querying Transformer (EMBridge section 2.2.1): M learnable queries read pose-relevant features from EMG.

The Q-Former copies the blocks (self-attention + feed-forward) and the final
norm of the frozen pose MAE encoder, so the queries start in the pose
encoder's embedding space. A cross-attention layer whose keys and values are
the EMG encoder's tokens is inserted in every other block (blocks 0, 2, ...;
randomly initialised). Training picks, for each window, the query most similar
to the paired pose embedding and applies InfoNCE to it (:func:`best_query`).

``QFormer.run`` is the one code path for both passes: pass 1 (queries only)
and the MPRL pass (queries + masked pose tokens under an attention mask, see
:mod:`.mprl`), where ``cross_rows`` says which rows may cross-attend to EMG.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .mae import Attention, Block, PatchMAE


class QFormerBlock(nn.Module):
    """Self-attention -> (optional) cross-attention to EMG tokens -> feed-forward, all pre-norm residual."""

    def __init__(self, self_block: Block, d_memory: int | None, n_heads: int):
        super().__init__()
        self.ln1, self.attn = copy.deepcopy(self_block.ln1), copy.deepcopy(self_block.attn)
        self.ln2, self.ff = copy.deepcopy(self_block.ln2), copy.deepcopy(self_block.ff)
        d = self.ln1.normalized_shape[0]
        self.has_cross = d_memory is not None
        if self.has_cross:
            self.ln_cross = nn.LayerNorm(d)
            self.cross = Attention(d, n_heads, d_kv=d_memory)

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None, attn_mask: torch.Tensor | None = None,
                cross_rows: torch.Tensor | None = None) -> torch.Tensor:
        """``attn_mask`` (N, N) bool, True = may not attend; ``cross_rows`` (N,) bool, rows that read ``memory``."""
        x = x + self.attn(self.ln1(x), mask=attn_mask)
        if self.has_cross and memory is not None:
            c = self.cross(self.ln_cross(x), memory)
            if cross_rows is not None:
                c = c * cross_rows.to(c.dtype).view(1, -1, 1)
            x = x + c
        return x + self.ff(self.ln2(x))


class QFormer(nn.Module):
    """M learnable queries; blocks initialised from ``pose_mae``'s encoder; cross-attention every ``cross_every``."""

    def __init__(self, pose_mae: PatchMAE, d_memory: int, n_queries: int = 16, cross_every: int = 2,
                 init_from_pose: bool = True):
        super().__init__()
        d, heads = pose_mae.cfg.d_model, pose_mae.cfg.n_heads
        self.n_queries = n_queries
        self.queries = nn.Parameter(torch.randn(1, n_queries, d) * 0.02)
        blocks = []
        for i, blk in enumerate(pose_mae.blocks):
            src = blk if init_from_pose else Block(d, heads, pose_mae.cfg.ff_mult)
            blocks.append(QFormerBlock(src, d_memory if i % cross_every == 0 else None, heads))
        self.blocks = nn.ModuleList(blocks)
        self.norm = copy.deepcopy(pose_mae.norm)
        for p in self.parameters():  # the copies of the frozen pose blocks are trained here
            p.requires_grad_(True)

    def run(self, x: torch.Tensor, memory: torch.Tensor, attn_mask: torch.Tensor | None = None,
            cross_rows: torch.Tensor | None = None) -> torch.Tensor:
        """The block stack on any token sequence ``x`` (B, N, d); returns normalised outputs (B, N, d)."""
        for blk in self.blocks:
            x = blk(x, memory, attn_mask, cross_rows)
        return self.norm(x)

    def forward(self, memory: torch.Tensor) -> torch.Tensor:
        """Pass 1: query outputs Q' (B, M, d) reading the EMG tokens ``memory`` (B, L_emg, d_memory)."""
        return self.run(self.queries.expand(memory.shape[0], -1, -1), memory)


def best_query(queries: torch.Tensor, pose: torch.Tensor) -> torch.Tensor:
    """u_i = Q'_i[m*], m* = argmax_m cos(Q'_im, v_i): the query closest to the paired pose, unit norm (B, d)."""
    q = F.normalize(queries, dim=-1)
    sim = torch.einsum("bmd,bd->bm", q, F.normalize(pose, dim=-1))
    idx = sim.argmax(dim=1)
    return q[torch.arange(q.shape[0]), idx]
