"""CASCLe / SoftCLIP soft targets, InfoNCE with label smoothing and the Q-Former's best-query pick, on hand-made batches."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from myosem_core.models.embridge import (
    best_query,
    cascle_targets,
    community_affinity,
    fit_communities,
    info_nce,
    instance_soft_targets,
    soft_cross_entropy,
)

# Four unit poses in 2-D (6, 16, 74, 196 degrees; no cosine is exactly 0) and four unit centroids at 0, 45, 90, 180 degrees.
POSES = F.normalize(torch.tensor([[1.0, 0.1], [0.96, 0.28], [0.28, 0.96], [-0.96, -0.28]]), dim=-1)
CENTROIDS = F.normalize(torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0], [-1.0, 0.0]]), dim=-1)


def test_community_affinity_keeps_exactly_the_top_k_per_row():
    for k in (1, 2, 3):
        S = community_affinity(POSES, CENTROIDS, k)
        assert ((S != 0).sum(dim=1) == k).all()
        full = F.normalize(POSES, dim=-1) @ CENTROIDS.T
        for i in range(len(POSES)):  # the kept entries are the k largest cosines, unchanged
            top = set(full[i].topk(k).indices.tolist())
            assert set(torch.nonzero(S[i]).flatten().tolist()) == top
            assert torch.allclose(S[i, list(top)], full[i, list(top)])


def test_cascle_targets_rows_sum_to_one_with_zero_diagonal():
    T = cascle_targets(POSES, CENTROIDS, k_c=2, tau_s=0.1)
    assert T.shape == (4, 4)
    assert torch.allclose(T.sum(dim=1), torch.ones(4))
    assert torch.all(T.diagonal() == 0)
    assert torch.all(T >= 0)


def test_cascle_targets_by_hand_from_the_geometry():
    """k_c = 1: each pose keeps only its nearest centroid's cosine. Poses at 6 and 16 degrees both pick the 0-degree
    centroid (cosines cos 6, cos 16), the 74-degree pose the 90-degree one, the 196-degree pose the 180-degree one.
    Only poses 0 and 1 share a community, with similarity cos 6 x cos 16; every other pair has 0. Row 0's target is
    the softmax over the other poses of (s, 0, 0) / tau."""
    tau = 0.5
    s = np.cos(np.arctan2(0.1, 1.0)) * np.cos(np.arctan2(0.28, 0.96))
    T = cascle_targets(POSES, CENTROIDS, k_c=1, tau_s=tau).numpy()
    a = np.exp(s / tau)
    np.testing.assert_allclose(T[0, 1:], [a / (a + 2), 1 / (a + 2), 1 / (a + 2)], atol=1e-5)
    np.testing.assert_allclose(T[2, [0, 1, 3]], [1 / 3, 1 / 3, 1 / 3], atol=1e-6)  # no shared community: uniform  # no shared community: uniform


def test_cascle_puts_most_mass_on_the_same_community():
    # poses 0 and 1 share community 0; pose 3 (community 180 degrees) shares none with the others
    T = cascle_targets(POSES, CENTROIDS, k_c=1, tau_s=0.05)
    assert T[0].argmax() == 1 and T[1].argmax() == 0
    assert T[0, 1] > 0.9
    # with k_c = 1 and disjoint communities the similarity is 0 -> uniform over those others
    assert torch.isclose(T[3, 0], T[3, 1]) and torch.isclose(T[3, 1], T[3, 2])


def test_smaller_tau_s_gives_sharper_targets():
    sharp = cascle_targets(POSES, CENTROIDS, 2, 0.05)
    soft = cascle_targets(POSES, CENTROIDS, 2, 5.0)
    entropy = lambda T: -(T.clamp_min(1e-12).log() * T).sum(dim=1)
    assert torch.all(entropy(sharp) < entropy(soft))


def test_instance_soft_targets_rows_sum_to_one_zero_diagonal_and_rank_by_cosine():
    T = instance_soft_targets(POSES, tau_s=0.1)
    assert torch.allclose(T.sum(dim=1), torch.ones(4))
    assert torch.all(T.diagonal() == 0)
    assert T[0, 1] > T[0, 2] > T[0, 3]


def test_fit_communities_returns_unit_centroids_near_the_clusters():
    rng = np.random.default_rng(0)
    centres = np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, 1.0]])
    Z = np.concatenate([c + 0.05 * rng.normal(size=(30, 3)) for c in centres])
    C = fit_communities(Z, 3, seed=0)
    assert np.allclose(np.linalg.norm(C, axis=1), 1.0, atol=1e-5)
    assert np.all((C @ centres.T).max(axis=0) > 0.99)
    assert np.array_equal(C, fit_communities(Z, 3, seed=0))


def test_info_nce_and_label_smoothing_match_torch_cross_entropy():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0], [0.0, 0.0, 3.0]])
    pairs = torch.arange(3)  # the diagonal is the positive pair
    assert torch.isclose(info_nce(logits), F.cross_entropy(logits, pairs))
    assert torch.isclose(info_nce(logits, 0.1), F.cross_entropy(logits, pairs, label_smoothing=0.1))
    assert torch.isclose(soft_cross_entropy(logits, torch.eye(3)), F.cross_entropy(logits, pairs))


def test_best_query_picks_the_query_closest_to_the_paired_pose():
    Q = torch.tensor([[[1.0, 0.0], [0.0, 2.0]], [[3.0, 0.0], [0.0, 1.0]]])  # (B=2, M=2, d=2)
    v = torch.tensor([[0.1, 1.0], [1.0, 0.2]])
    u = best_query(Q, v)
    assert torch.allclose(u, torch.tensor([[0.0, 1.0], [1.0, 0.0]]))
