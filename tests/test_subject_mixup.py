"""Mixup across subjects (a Stage-2 option): who is paired with whom, the blend, and a training run."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from tiny_myosem import STAGE2, tiny_windows

from myosem_core.training import train_stage2
from myosem_core.training.subject_mixup import subject_mixup


def test_each_window_is_blended_with_one_of_another_subject_and_stays_the_larger_part():
    torch.manual_seed(0)
    subject = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])
    x = torch.randn(10, 5, 3)
    for _ in range(20):
        mixed, partner, lam = subject_mixup(x, subject, alpha=0.4)
        assert 0.5 <= lam <= 1.0
        for i in range(10):
            # the blend, recovered by least squares from the two windows alone: weights lam and 1 - lam
            j = int(partner[i])
            if j == i:
                assert torch.equal(mixed[i], x[i])
                continue
            assert subject[j] != subject[i]
            A = torch.stack([x[i].flatten(), x[j].flatten()], 1).double()
            w = torch.linalg.lstsq(A, mixed[i].flatten().double().unsqueeze(1)).solution.flatten()
            np.testing.assert_allclose(w.numpy(), [lam, 1 - lam], atol=1e-5)


def test_a_batch_of_one_subject_is_left_as_it_is():
    x = torch.randn(6, 4, 2)
    mixed, partner, _ = subject_mixup(x, torch.zeros(6, dtype=torch.long), alpha=0.4)
    assert torch.equal(mixed, x) and partner.tolist() == list(range(6))


def test_alpha_must_be_positive():
    with pytest.raises(ValueError, match="alpha > 0"):
        subject_mixup(torch.zeros(2, 1), torch.tensor([0, 1]), 0.0)


def test_training_with_subject_mixup_is_seeded_learns_and_differs_from_training_without():
    ws, split = tiny_windows()
    train, val = ws.subset(split.train), ws.subset(split.val)
    cfg = replace(STAGE2, subject_mixup=0.4, max_epochs=4)
    a = train_stage2(train, val, cfg, seed=0, progress=False)
    b = train_stage2(train, val, cfg, seed=0, progress=False)
    plain = train_stage2(train, val, replace(cfg, subject_mixup=0.0), seed=0, progress=False)
    for k, v in a.model.state_dict().items():
        assert torch.equal(v, b.model.state_dict()[k]), k  # same seed, same blends, same model
    assert any(not torch.equal(v, plain.model.state_dict()[k]) for k, v in a.model.state_dict().items())
    assert max(r["val_acc"] for r in a.curves) > 2.0 / ws.n_classes  # it still learns the movements
