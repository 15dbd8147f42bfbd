"""MyoSem Stage 3: semantic-query alignment head (paper section 3.4).

Two readers of the Stage-2 token sequence (B, P, d_model):

- global: mean-pool the tokens, project into the prototype space;
- queries: M learnable semantic queries cross-attend to the tokens (one
  attention map over time per query, kept for the overlays), a small
  feed-forward block refines them, their mean is projected likewise.

The two are combined (sum, or concatenation -> linear) and L2-normalised, so a
dot product with the frozen, unit-norm Stage-1 prototypes is a cosine.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class QueryHeadConfig:
    d_model: int = 64  # token size of the Stage-2 encoder
    embed_dim: int = 384  # size of the Stage-1 prototype space
    n_queries: int = 4  # M semantic queries
    n_heads: int = 4
    dropout: float = 0.1
    combine: str = "sum"  # "sum" or "concat"
    use_queries: bool = True  # ablation: global pooled projection only
    query_init_std: float = 1.0  # queries start distinct (tiny ones all read the same, uniform attention)


@dataclass
class QueryOutput:
    embedding: torch.Tensor  # (B, embed_dim), unit norm
    attention: torch.Tensor | None  # (B, M, P) each query's attention over the tokens


class SemanticQueryHead(nn.Module):
    def __init__(self, cfg: QueryHeadConfig):
        super().__init__()
        if cfg.combine not in ("sum", "concat"):
            raise ValueError(f"combine must be 'sum' or 'concat', got {cfg.combine!r}")
        self.cfg = cfg
        d = cfg.d_model
        self.global_proj = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, cfg.embed_dim))
        if cfg.use_queries:
            self.queries = nn.Parameter(torch.randn(cfg.n_queries, d) * cfg.query_init_std)
            self.cross_attn = nn.MultiheadAttention(d, cfg.n_heads, dropout=cfg.dropout, batch_first=True)
            self.ffn = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, 2 * d), nn.GELU(), nn.Linear(2 * d, d))
            self.query_proj = nn.Sequential(nn.LayerNorm(d), nn.Linear(d, cfg.embed_dim))
            if cfg.combine == "concat":
                self.combine = nn.Linear(2 * cfg.embed_dim, cfg.embed_dim)

    def forward(self, tokens: torch.Tensor) -> QueryOutput:
        g = self.global_proj(tokens.mean(dim=1))
        if not self.cfg.use_queries:
            return QueryOutput(F.normalize(g, dim=-1), None)
        q = self.queries.unsqueeze(0).expand(tokens.shape[0], -1, -1)
        read, attn = self.cross_attn(q, tokens, tokens, need_weights=True, average_attn_weights=True)
        h = q + read
        h = h + self.ffn(h)
        v = self.query_proj(h.mean(dim=1))
        z = g + v if self.cfg.combine == "sum" else self.combine(torch.cat([g, v], dim=-1))
        return QueryOutput(F.normalize(z, dim=-1), attn)


class MyoSemModel(nn.Module):
    """Stage-2 encoder + Stage-3 head: a window -> a unit vector in the prototype space."""

    def __init__(self, encoder: nn.Module, head: SemanticQueryHead, n_classes: int):
        super().__init__()
        self.encoder, self.head = encoder, head
        self.aux_classifier = nn.Linear(head.cfg.embed_dim, n_classes)  # light auxiliary CE

    def forward(self, x: torch.Tensor) -> QueryOutput:
        tokens, _ = self.encoder.encode(x)
        return self.head(tokens)
