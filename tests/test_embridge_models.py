"""MAE masking, the MPRL attention mask (pose tokens never reach EMG) and the Q-Former's two passes."""

from __future__ import annotations

import pytest
import torch

from myosem_core.models.embridge import (
    EMGPoseAligner,
    MAEConfig,
    PatchMAE,
    QFormer,
    mprl_attention_mask,
    random_masking,
)
from myosem_core.models.embridge.mae import patchify
from myosem_core.models.embridge.mprl import MaskedPoseReconstruction, query_rows


def _maes(d=16, layers=4):
    torch.manual_seed(0)
    emg = PatchMAE(MAEConfig(n_channels=3, window_len=20, patch_len=4, d_model=d, n_layers=2, n_heads=2, decoder_dim=d))
    pose = PatchMAE(MAEConfig(n_channels=5, window_len=20, patch_len=4, d_model=d, n_layers=layers, n_heads=2,
                              decoder_dim=d))
    return emg, pose


@pytest.mark.parametrize("L,ratio", [(10, 0.5), (5, 0.5), (8, 0.25), (7, 0.75)])
def test_random_masking_masks_exactly_the_ratio_in_every_sample(L, ratio):
    keep, mask = random_masking(64, L, ratio, torch.Generator().manual_seed(1))
    n_masked = int(round(ratio * L))
    assert mask.shape == (64, L) and keep.shape == (64, L - n_masked)
    assert (mask.sum(dim=1) == n_masked).all()
    assert not mask.gather(1, keep).any()  # kept tokens are exactly the unmasked ones
    assert (keep.diff(dim=1) > 0).all()  # sorted, no duplicates
    # every position gets masked sometimes: the choice is random, not a fixed pattern
    assert mask.any(dim=0).all()


def test_random_masking_refuses_to_mask_everything():
    with pytest.raises(ValueError):
        random_masking(2, 4, 1.0)


def test_mae_encoder_sees_only_visible_tokens_and_loss_is_finite():
    _, pose = _maes()
    x = torch.randn(6, 20, 5)
    keep, mask = random_masking(6, pose.cfg.n_patches, 0.5)
    assert pose.encode(x, keep).shape == (6, 1 + keep.shape[1], 16)
    loss, mask = pose(x, torch.Generator().manual_seed(0))
    assert loss.ndim == 0 and torch.isfinite(loss)
    assert (mask.sum(1) == round(0.5 * pose.cfg.n_patches)).all()


def test_mae_loss_is_the_mse_on_masked_patches_only():
    """An oracle head that is exact on masked patches and wrong by 10 on visible ones gives loss 0, and vice versa."""
    _, pose = _maes()
    x = torch.randn(4, 20, 5)
    _, mask = pose(x, torch.Generator().manual_seed(3))  # the mask this generator seed draws

    class Oracle(torch.nn.Module):
        def __init__(self, wrong_where):
            super().__init__()
            self.wrong_where = wrong_where

        def forward(self, h):
            target = patchify(x, 4) + 10.0 * self.wrong_where.unsqueeze(-1)
            return torch.cat([torch.zeros_like(target[:, :1]), target], dim=1)  # index 0 is [CLS]

    pose.head = Oracle(~mask)
    assert pose(x, torch.Generator().manual_seed(3))[0].item() == 0.0
    pose.head = Oracle(mask)
    assert torch.isclose(pose(x, torch.Generator().manual_seed(3))[0], torch.tensor(100.0))


def test_mprl_attention_mask_lets_every_row_see_the_queries_only():
    M, L = 3, 4
    m = mprl_attention_mask(M, L)
    assert m.shape == (M + L, M + L) and m.dtype == torch.bool
    assert not m[:, :M].any()  # queries visible to all rows (True = blocked)
    assert m[:, M:].all()  # pose tokens visible to nobody: queries see queries, pose sees queries only
    assert query_rows(M, L).tolist() == [True] * M + [False] * L


def _mprl_setup():
    emg, pose = _maes()
    model = EMGPoseAligner(emg, pose, "qformer", n_queries=3, use_mprl=True)
    model.eval()
    x_emg = torch.randn(2, 20, 3)
    x_pose = torch.randn(2, 20, 5)
    tokens, _ = model.mprl.masked_pose_tokens(x_pose, torch.Generator().manual_seed(0))
    return model, x_emg, tokens


@torch.no_grad()
def test_pose_tokens_cannot_reach_emg_in_any_block_of_the_mprl_pass():
    """Perturb the EMG tokens: in every block, the pose-token outputs stay the same, the query outputs move."""
    model, x_emg, tokens = _mprl_setup()
    qf: QFormer = model.head
    mem_a = model.emg_tokens(x_emg)
    mem_b = mem_a + 3.0 * torch.randn_like(mem_a)
    M, L = qf.n_queries, tokens.shape[1]
    mask, rows = mprl_attention_mask(M, L), query_rows(M, L)
    inputs = []
    hooks = [blk.register_forward_pre_hook(lambda mod, args: inputs.append(args[0])) for blk in qf.blocks]
    model.mprl.second_pass(qf, mem_a, tokens)
    for h in hooks:
        h.remove()
    assert any(blk.has_cross for blk in qf.blocks)
    for blk, x_in in zip(qf.blocks, inputs):
        out_a = blk(x_in, mem_a, mask, rows)
        out_b = blk(x_in, mem_b, mask, rows)
        assert torch.equal(out_a[:, M:], out_b[:, M:]), "a pose token read the EMG tokens"
        if blk.has_cross:
            assert not torch.allclose(out_a[:, :M], out_b[:, :M])  # the perturbation is real: queries moved
    # control: were pose rows allowed to cross-attend, the same perturbation would reach them
    blk = next(b for b in qf.blocks if b.has_cross)
    x_in = inputs[list(qf.blocks).index(blk)]
    assert not torch.allclose(blk(x_in, mem_a, mask, None)[:, M:], blk(x_in, mem_b, mask, None)[:, M:])


@torch.no_grad()
def test_mprl_pass_queries_equal_pass_one_and_ignore_pose_tokens():
    model, x_emg, tokens = _mprl_setup()
    qf = model.head
    mem = model.emg_tokens(x_emg)
    M = qf.n_queries
    H = model.mprl.second_pass(qf, mem, tokens)
    assert torch.allclose(H[:, :M], qf(mem), atol=1e-5)  # queries see themselves only: exactly pass 1
    tokens2 = tokens.clone()
    tokens2[:, 0] += 10.0
    H2 = model.mprl.second_pass(qf, mem, tokens2)
    assert torch.allclose(H2[:, :M], H[:, :M], atol=1e-6)  # queries never read pose tokens
    assert torch.allclose(H2[:, M + 1:], H[:, M + 1:], atol=1e-6)  # pose tokens never read each other
    assert not torch.allclose(H2[:, M], H[:, M])
    # information from EMG does reach the pose tokens, through the queries only
    H3 = model.mprl.second_pass(qf, mem + 3.0, tokens)
    assert not torch.allclose(H3[:, M:], H[:, M:])


def test_qformer_starts_from_the_pose_encoder_with_cross_attention_every_other_block():
    emg, pose = _maes()
    qf = QFormer(pose, d_memory=emg.cfg.d_model, n_queries=16)
    assert qf.queries.shape == (1, 16, 16)
    assert [b.has_cross for b in qf.blocks] == [True, False, True, False]
    for qb, pb in zip(qf.blocks, pose.blocks):
        assert torch.equal(qb.attn.q.weight, pb.attn.q.weight) and torch.equal(qb.ff[0].weight, pb.ff[0].weight)
        assert qb.attn.q.weight.data_ptr() != pb.attn.q.weight.data_ptr()  # a copy: the anchor stays frozen
    out = qf(emg.encode(torch.randn(3, 20, 3)))
    assert out.shape == (3, 16, 16)


def test_mprl_loss_trains_only_the_aligner_not_the_frozen_pose_encoder():
    emg, pose = _maes()
    for p in pose.parameters():
        p.requires_grad_(False)
    model = EMGPoseAligner(emg, pose, "qformer", n_queries=4, use_mprl=True)
    assert isinstance(model.mprl, MaskedPoseReconstruction)
    loss, Q = model.mprl(model.head, model.emg_tokens(torch.randn(4, 20, 3)), torch.randn(4, 20, 5))
    loss.backward()
    assert Q.shape == (4, 4, 16)
    assert model.mprl.decode.weight.grad is not None and model.head.queries.grad is not None
    assert model.encoder.patch_embed.weight.grad is not None  # EMG encoder trained through the queries
    assert all(p.grad is None for p in pose.parameters())
