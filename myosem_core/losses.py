"""Losses of MyoSem Stages 2 and 3.

- :func:`prototype_info_nce`: InfoNCE of EMG embeddings against frozen class
  prototypes (CLIP-style logits = cosine / temperature, the true class's
  prototype is the positive, the other candidates the negatives).
- :func:`classification_loss`: cross-entropy restricted to the classes that
  training may see (the ``class`` protocol hides some).
- :func:`reconstruction_loss`: mean squared error of the rebuilt window.
- :func:`stage2_loss`: CE + w_rec * reconstruction + w_vq * VQ, with its parts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def restrict(logits: torch.Tensor, y: torch.Tensor, allowed: torch.Tensor | None):
    """Keep only the ``allowed`` class columns and re-index ``y`` into them."""
    if allowed is None:
        return logits, y
    remap = torch.full((logits.shape[1],), -1, dtype=torch.long, device=y.device)
    remap[allowed] = torch.arange(len(allowed), device=y.device)
    y2 = remap[y]
    if (y2 < 0).any():
        raise ValueError("a training label is not among the allowed classes")
    return logits[:, allowed], y2


def classification_loss(logits: torch.Tensor, y: torch.Tensor, allowed: torch.Tensor | None = None,
                        label_smoothing: float = 0.0) -> torch.Tensor:
    logits, y = restrict(logits, y, allowed)
    return F.cross_entropy(logits, y, label_smoothing=label_smoothing)


def prototype_logits(z: torch.Tensor, prototypes: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cosine of unit-norm embeddings (B, D) with unit-norm prototypes (K, D), divided by the temperature."""
    return z @ prototypes.t() / temperature


def prototype_info_nce(z: torch.Tensor, prototypes: torch.Tensor, y: torch.Tensor, temperature: float = 0.07,
                       allowed: torch.Tensor | None = None, label_smoothing: float = 0.0) -> torch.Tensor:
    """InfoNCE: each embedding against every (allowed) prototype, its own class's being the positive."""
    return classification_loss(prototype_logits(z, prototypes, temperature), y, allowed, label_smoothing)


def reconstruction_loss(reconstruction: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(reconstruction, x)


def stage2_loss(out, x: torch.Tensor, y: torch.Tensor, w_rec: float, w_vq: float,
                allowed: torch.Tensor | None = None, label_smoothing: float = 0.0) -> tuple[torch.Tensor, dict[str, float]]:
    """Total Stage-2 loss of an :class:`~myosem_core.models.activation_encoder.EncoderOutput` and its parts."""
    ce = classification_loss(out.logits, y, allowed, label_smoothing)
    rec = reconstruction_loss(out.reconstruction, x)
    vq = out.vq.loss if out.vq is not None else torch.zeros((), device=x.device)
    total = ce + w_rec * rec + w_vq * vq
    parts = {k: float(v.detach()) for k, v in (("ce", ce), ("rec", rec), ("vq", vq), ("total", total))}
    return total, parts
