"""Mixup across subjects: train on blends of two windows of different people, their losses blended alike.

    x_mixed, partner, lam = subject_mixup(x, subject, alpha=0.4)
    loss = lam * CE(model(x_mixed), y) + (1 - lam) * CE(model(x_mixed), y[partner])

Each window of a batch is paired with a window of the batch from another subject (a random permutation;
a window whose partner is of its own subject keeps itself, unmixed). One weight per batch,
``lam = max(u, 1 - u)`` with ``u ~ Beta(alpha, alpha)`` (Zhang et al. 2018), so each window's own
movement and subject stay the larger part of its blend and a subject-adversarial head can keep reading
the window's own subject. The encoder then also trains between the training people, not only on them.
An option of Stage 2 (``Stage2Config.subject_mixup`` = alpha; 0: off).
"""

from __future__ import annotations

import torch


def subject_mixup(x: torch.Tensor, subject: torch.Tensor, alpha: float) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``(lam * x + (1 - lam) * x[partner], partner, lam)`` for a batch ``x`` (B, ...) of ``subject`` codes (B,),
    drawn from torch's global generator (seeded with the training)."""
    if alpha <= 0:
        raise ValueError(f"subject mixup needs alpha > 0, got {alpha}")
    partner = torch.randperm(len(x), device=x.device)
    own = subject[partner] == subject
    partner = torch.where(own, torch.arange(len(x), device=x.device), partner)
    u = float(torch.distributions.Beta(alpha, alpha).sample())
    lam = max(u, 1.0 - u)
    return x + (1.0 - lam) * (x[partner] - x), partner, lam  # a window paired with itself stays exactly as it was
