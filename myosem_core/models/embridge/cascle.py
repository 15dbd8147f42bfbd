"""Community-aware soft contrastive learning, CASCLe (EMBridge section 2.2.3), and its SoftCLIP-style rival.

1. Offline: k-means (scikit-learn) on the frozen pose embeddings of the
   training windows -> N_c unit-norm centroids C ("pose communities").
2. Per batch of unit-norm pose embeddings P (B, d): pose-cluster affinities
   S_pc = P C^T, each row sparsified to its top-k_c entries (eq. 3).
3. Pose-pose similarity S_pp = S_pc S_pc^T; the diagonal is removed and every
   row is a softmax with temperature tau_s over the *other* samples (eq. 4):
   soft targets with a zero diagonal, rows summing to 1.
4. Loss = cross-entropy between these targets and the EMG -> pose softmax q_ij
   (eq. 5, :func:`.contrastive.soft_cross_entropy`).

``instance_soft_targets`` is the SoftCLIP-style baseline: the same recipe on
instance-level similarities P P^T instead of community-level ones.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def fit_communities(pose_embeddings: np.ndarray, n_clusters: int, seed: int = 0, n_init: int = 3) -> np.ndarray:
    """Unit-norm k-means centroids (N_c, d) of unit-normalised pose embeddings."""
    from sklearn.cluster import KMeans

    Z = pose_embeddings / np.linalg.norm(pose_embeddings, axis=1, keepdims=True).clip(1e-12)
    n_clusters = min(int(n_clusters), len(Z))
    km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit(Z.astype(np.float64))
    C = km.cluster_centers_
    return (C / np.linalg.norm(C, axis=1, keepdims=True).clip(1e-12)).astype(np.float32)


def community_affinity(pose: torch.Tensor, centroids: torch.Tensor, k_c: int) -> torch.Tensor:
    """Pose-cluster cosine affinities (B, N_c) with all but each row's top-``k_c`` entries set to 0."""
    S = F.normalize(pose, dim=-1) @ F.normalize(centroids, dim=-1).T
    k = min(int(k_c), S.shape[1])
    top = S.topk(k, dim=1)
    return torch.zeros_like(S).scatter(1, top.indices, top.values)


def off_diagonal_softmax(similarity: torch.Tensor, tau_s: float) -> torch.Tensor:
    """Row softmax of ``similarity / tau_s`` over j != i; the diagonal target is exactly 0."""
    B = similarity.shape[0]
    eye = torch.eye(B, dtype=torch.bool, device=similarity.device)
    logits = (similarity / tau_s).masked_fill(eye, float("-inf"))
    return torch.softmax(logits, dim=1)


def cascle_targets(pose: torch.Tensor, centroids: torch.Tensor, k_c: int, tau_s: float) -> torch.Tensor:
    """CASCLe soft targets (B, B) from community-level pose-pose similarity (eqs. 3-4)."""
    S_pc = community_affinity(pose, centroids, k_c)
    return off_diagonal_softmax(S_pc @ S_pc.T, tau_s)


def instance_soft_targets(pose: torch.Tensor, tau_s: float) -> torch.Tensor:
    """SoftCLIP-style soft targets (B, B) from instance-level pose-pose cosine similarity."""
    P = F.normalize(pose, dim=-1)
    return off_diagonal_softmax(P @ P.T, tau_s)
