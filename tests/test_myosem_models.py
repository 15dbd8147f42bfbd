"""Shapes and invariants of the MyoSem models: descriptor gates, cosine VQ, semantic-query head."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from myosem_core.losses import prototype_info_nce, restrict, stage2_loss
from myosem_core.models.activation_encoder import (
    ActivationAwareEncoder,
    EncoderConfig,
    patch_descriptors,
    patchify,
)
from myosem_core.models.semantic_queries import (
    MyoSemModel,
    QueryHeadConfig,
    SemanticQueryHead,
)
from myosem_core.models.vq import CosineVQ

CFG = EncoderConfig(n_channels=4, window_len=20, patch_len=5, n_classes=3, d_model=16, n_layers=1, n_heads=2,
                    code_dim=8, codebook_size=6)


def test_encoder_shapes_and_small_gates():
    torch.manual_seed(0)
    m = ActivationAwareEncoder(CFG)
    x = torch.randn(7, 20, 4)
    out = m(x)
    assert out.tokens.shape == (7, 4, 16) and out.segment.shape == (7, 16)
    assert out.logits.shape == (7, 3) and out.reconstruction.shape == x.shape
    assert out.vq.codes.shape == (7, 4)
    assert m.gate_values() == pytest.approx({"rms": 0.1, "envelope": 0.1, "waveform_length": 0.1})  # start small
    loss, parts = stage2_loss(out, x, torch.tensor([0, 1, 2, 0, 1, 2, 0]), 0.5, 0.1)
    loss.backward()
    assert m.gates.grad is not None and torch.all(m.gates.grad != 0)  # the gates learn
    assert set(parts) == {"ce", "rec", "vq", "total"}


def test_descriptors_by_hand():
    x = torch.tensor([[1.0, -1.0, 3.0, -3.0]]).T[None]  # (1, L=4, C=1), one patch of 4
    d = patch_descriptors(patchify(x, 4))
    assert d["rms"].item() == pytest.approx((20 / 4) ** 0.5, rel=1e-5)
    assert d["envelope"].item() == pytest.approx(2.0)
    assert d["waveform_length"].item() == pytest.approx((2 + 4 + 6) / 3)


def test_gates_fixed_zero_is_a_plain_patch_encoder():
    """The fixed-zero encoder equals a gated one whose gates are at zero, and its descriptors play no part."""
    torch.manual_seed(0)
    plain = ActivationAwareEncoder(EncoderConfig(**{**CFG.__dict__, "gates_fixed_zero": True}))
    assert "gates" not in dict(plain.named_parameters())
    assert plain.gate_values() == {"rms": 0.0, "envelope": 0.0, "waveform_length": 0.0}
    gated = ActivationAwareEncoder(CFG)
    gated.load_state_dict(plain.state_dict(), strict=False)
    with torch.no_grad():
        gated.gates.zero_()
    x = torch.randn(2, 20, 4)
    assert torch.allclose(plain.embed_patches(x), gated.embed_patches(x))
    with torch.no_grad():
        gated.gates.fill_(0.5)
    assert not torch.allclose(plain.embed_patches(x), gated.embed_patches(x))  # the comparison can fail


def test_no_vq_switch():
    m = ActivationAwareEncoder(EncoderConfig(**{**CFG.__dict__, "use_vq": False}))
    out = m(torch.randn(3, 20, 4))
    assert m.vq is None and out.vq is None and out.reconstruction.shape == (3, 20, 4)


def test_vq_picks_nearest_by_cosine_and_passes_gradients_straight_through():
    torch.manual_seed(0)
    vq = CosineVQ(dim=3, codebook_size=3, reset_dead_codes=False)
    vq.codebook.data = torch.eye(3)
    z = torch.tensor([[5.0, 1.0, 0.0], [0.0, 0.1, -2.0]], requires_grad=True)
    out = vq(z)
    assert out.codes.tolist() == [0, 1]  # cosine, not distance: [0, .1, -2] is nearest to e1 among +e_i
    assert torch.allclose(out.quantized, torch.eye(3)[[0, 1]])
    w = torch.randn(2, 3)
    (out.quantized * w).sum().backward()
    zz = z.detach().clone().requires_grad_(True)
    (F.normalize(zz, dim=-1) * w).sum().backward()  # straight-through = gradient of the normalised input
    assert torch.allclose(z.grad, zz.grad, atol=1e-6)


def test_vq_losses_by_hand_move_the_chosen_entry_and_the_token():
    """Codebook e1, e2; token (3, 4) normalises to (0.6, 0.8), nearest e2: squared error (0.36 + 0.04) / 2 = 0.2
    for both terms, so the loss is 0.2 + 0.25 x 0.2 = 0.25."""
    vq = CosineVQ(dim=2, codebook_size=2, reset_dead_codes=False)
    vq.codebook.data = torch.eye(2)
    z = torch.tensor([[3.0, 4.0]], requires_grad=True)
    out = vq(z)
    assert out.codes.tolist() == [1]
    assert out.codebook_loss.item() == pytest.approx(0.2) and out.commitment_loss.item() == pytest.approx(0.2)
    assert out.loss.item() == pytest.approx(0.25)
    out.loss.backward()
    assert vq.codebook.grad[0].abs().sum() == 0 and vq.codebook.grad[1].abs().sum() > 0  # only the chosen entry
    assert z.grad.abs().sum() > 0


def test_dead_codes_are_reset_from_tokens():
    torch.manual_seed(1)
    vq = CosineVQ(dim=4, codebook_size=8, usage_decay=0.5)
    tokens = F.normalize(torch.randn(32, 4), dim=-1)
    vq.codebook.data[:] = F.normalize(torch.tensor([1.0, 0, 0, 0]), dim=0)  # every entry alike -> only entry 0 used
    vq.codebook.data[1:] *= -1  # entries 1..7 point away: nearly never chosen
    vq.train()
    for _ in range(6):
        vq(tokens)
    book = vq.normalized_codebook().detach()
    # every re-seeded entry is now one of the tokens
    sims = (book @ tokens.T).max(dim=1).values
    assert (sims > 0.999).sum() >= 4
    assert vq.dead_codes().numel() < 8
    assert vq.perplexity() > 1.5


def test_semantic_query_head_unit_norm_and_attention():
    torch.manual_seed(0)
    head = SemanticQueryHead(QueryHeadConfig(d_model=16, embed_dim=12, n_queries=3, n_heads=2)).eval()  # no attention dropout
    tokens = torch.randn(5, 4, 16)
    out = head(tokens)
    assert out.embedding.shape == (5, 12)
    assert torch.allclose(out.embedding.norm(dim=-1), torch.ones(5), atol=1e-5)
    assert out.attention.shape == (5, 3, 4)
    assert torch.allclose(out.attention.sum(-1), torch.ones(5, 3), atol=1e-5)
    concat = SemanticQueryHead(QueryHeadConfig(d_model=16, embed_dim=12, combine="concat"))(tokens)
    assert concat.embedding.shape == (5, 12)
    glob = SemanticQueryHead(QueryHeadConfig(d_model=16, embed_dim=12, use_queries=False))(tokens)
    assert glob.attention is None


def test_myosem_model_and_info_nce():
    torch.manual_seed(0)
    model = MyoSemModel(ActivationAwareEncoder(CFG), SemanticQueryHead(QueryHeadConfig(d_model=16, embed_dim=6)), 3)
    out = model(torch.randn(4, 20, 4))
    P = F.normalize(torch.randn(3, 6), dim=-1)
    y = torch.tensor([0, 1, 2, 1])
    loss = prototype_info_nce(out.embedding, P, y, 0.1)
    assert torch.isfinite(loss) and loss.requires_grad
    # by hand: an embedding equal to prototype 0, orthogonal to the others, at temperature 0.1 has logits
    # (10, 0, 0), so the loss is log(1 + 2 e^-10); with label smoothing 0.1 as torch defines it
    E = torch.eye(3)
    assert prototype_info_nce(E[:1], E, torch.tensor([0]), 0.1).item() == pytest.approx(np.log1p(2 * np.exp(-10)), rel=1e-3)  # float32
    smoothed = prototype_info_nce(E[:1], E, torch.tensor([0]), 0.1, label_smoothing=0.1)
    assert smoothed.item() == pytest.approx(F.cross_entropy(torch.tensor([[10.0, 0, 0]]), torch.tensor([0]),
                                                            label_smoothing=0.1).item(), rel=1e-6)
    # restricted to classes 0 and 2: class 1's prototype is no negative, labels re-indexed
    logits, y2 = restrict(torch.randn(2, 3), torch.tensor([0, 2]), torch.tensor([0, 2]))
    assert logits.shape == (2, 2) and y2.tolist() == [0, 1]
    with pytest.raises(ValueError, match="allowed"):
        restrict(torch.randn(1, 3), torch.tensor([1]), torch.tensor([0, 2]))


def test_queries_start_distinct():
    torch.manual_seed(0)
    head = SemanticQueryHead(QueryHeadConfig(d_model=16, embed_dim=12, n_queries=4, n_heads=2)).eval()
    att = head(torch.randn(3, 10, 16)).attention  # (B, M, P)
    spread = (att - att.mean(dim=1, keepdim=True)).abs().amax()
    assert spread > 0.02  # different queries attend differently from the first step
