"""Subject-adversarial Stage-2 option: gradient reversal, the ramp, run keys, and a training run."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from tiny_myosem import STAGE2, tiny_windows

from myosem_core.training import Stage2Config, train_stage2
from myosem_core.training.subject_adversary import (
    SubjectAdversary,
    reversal_ramp,
    reverse_gradient,
    subject_codes,
)


def test_reverse_gradient_is_identity_forward_and_flips_scaled_gradient_backward():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = reverse_gradient(x, 0.5)
    assert torch.equal(y, x)
    (y * torch.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([-0.5, -1.0, -1.5]))


def test_ramp_starts_at_zero_and_approaches_one():
    assert reversal_ramp(0.0) == 0.0
    assert 0.46 < reversal_ramp(0.1) < 0.47  # 2 / (1 + e^-1) - 1
    assert reversal_ramp(1.0) > 0.999
    assert all(a < b for a, b in zip([reversal_ramp(p / 10) for p in range(10)],
                                      [reversal_ramp(p / 10) for p in range(1, 11)]))


def test_subject_codes_index_sorted_names():
    codes, names = subject_codes(np.array(["S3", "S1", "S3", "S10"]))
    assert names == ("S1", "S10", "S3")
    assert codes.tolist() == [2, 0, 2, 1]


def test_adversary_needs_two_subjects():
    with pytest.raises(ValueError, match="at least 2"):
        SubjectAdversary(8, 1)


def test_adversary_gradient_pushes_encoder_features_against_the_head():
    """A step on the head's loss lowers it; the same step applied to the features raises it (reversal)."""
    torch.manual_seed(0)
    head = SubjectAdversary(4, 2)
    feats = torch.randn(64, 4, requires_grad=True)
    subj = (feats[:, 0] > 0).long().detach()
    loss, _ = head.loss(feats, subj, 1.0)
    loss.backward()
    with torch.no_grad():
        moved = feats - 0.5 * feats.grad  # what gradient descent on the encoder does
        after, _ = head.loss(moved, subj, 1.0)
    assert after.item() > loss.item()


def test_the_option_is_part_of_the_run_key():
    from myosem_core.run_store import run_key

    cfg = Stage2Config()
    assert run_key("s2", sections={"stage2": cfg}) != run_key("s2", sections={"stage2": replace(cfg, w_subject=0.3)})


def test_training_with_the_adversary_logs_it_and_saves_a_plain_encoder():
    ws, split = tiny_windows()
    cfg = replace(STAGE2, w_subject=0.5, max_epochs=2)
    run = train_stage2(ws.subset(split.train), ws.subset(split.val), cfg, seed=0, progress=False)
    assert all("train_subject_ce" in r and 0.0 <= r["train_subject_acc"] <= 1.0 for r in run.curves)
    assert not any(k.startswith("subject_adversary") for k in run.model.state_dict())
    plain = train_stage2(ws.subset(split.train), ws.subset(split.val), replace(cfg, w_subject=0.0), seed=0,
                         progress=False)
    assert "train_subject_ce" not in plain.curves[0]
    assert set(run.model.state_dict()) == set(plain.model.state_dict())
