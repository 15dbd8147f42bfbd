"""A training run killed after some epoch resumes from its checkpoint and ends exactly where an uninterrupted run ends."""

from __future__ import annotations

from dataclasses import replace

import pytest
from tiny_myosem import STAGE2, STAGE3, same_weights, tiny_prototypes, tiny_windows

from myosem_core.io import read_json
from myosem_core.training import train_stage2, train_stage3
from myosem_core.training.resume import INTERRUPT_ENV, SimulatedInterrupt

VAL_KEYS2 = ("val_ce", "val_acc", "val_rec", "val_vq")


@pytest.fixture(scope="module")
def data():
    ws, split = tiny_windows()
    return ws.subset(split.train), ws.subset(split.val), tiny_prototypes(ws.n_classes)


@pytest.fixture(scope="module")
def reference(data, tmp_path_factory):
    """Uninterrupted Stage 2 and Stage 3 runs (saved, so their results.json exist)."""
    tr, va, P = data
    root = tmp_path_factory.mktemp("reference")
    s2 = train_stage2(tr, va, STAGE2, 0, root / "s2", progress=False)
    s3 = train_stage3(tr, va, s2, P, STAGE3, 0, root / "s3", progress=False)
    return s2, s3


def _interrupted(monkeypatch, epoch: int, train):
    monkeypatch.setenv(INTERRUPT_ENV, str(epoch))
    with pytest.raises(SimulatedInterrupt, match=f"after epoch {epoch}"):
        train()
    monkeypatch.delenv(INTERRUPT_ENV)
    return train()


def _val(curves, keys):
    return [{k: r[k] for k in keys if k in r} for r in curves]


@pytest.mark.parametrize("epoch", [0, 2])
def test_stage2_resumes_to_the_same_weights_and_metrics(data, reference, tmp_path, monkeypatch, epoch):
    tr, va, _ = data
    s2 = _interrupted(monkeypatch, epoch, lambda: train_stage2(tr, va, STAGE2, 0, tmp_path, progress=False))
    ref = reference[0]
    assert len(s2.curves) == len(ref.curves) == STAGE2.max_epochs
    assert same_weights(s2.model, ref.model)
    assert _val(s2.curves, VAL_KEYS2) == _val(ref.curves, VAL_KEYS2)
    got, want = read_json(tmp_path / "results.json"), read_json(ref.folder / "results.json")
    assert {k: v for k, v in got.items()} == want
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"


@pytest.mark.parametrize("epoch", [0, 1, 2])  # inside phase 1, at the phase boundary, inside phase 2
def test_stage3_resumes_across_phases(data, reference, tmp_path, monkeypatch, epoch):
    tr, va, P = data
    s2, ref = reference
    s3 = _interrupted(monkeypatch, epoch, lambda: train_stage3(tr, va, s2, P, STAGE3, 0, tmp_path, progress=False))
    assert same_weights(s3.model, ref.model)
    keys = ("epoch", "phase", "val_nce", "val_r1", "train_nce")
    assert _val(s3.curves, keys) == _val(ref.curves, keys)
    assert read_json(tmp_path / "results.json") == read_json(ref.folder / "results.json")


def test_resume_after_early_stop_does_not_train_on(data, tmp_path, monkeypatch):
    """Interrupted at the epoch where early stopping ended the loop: the resumed run must not add epochs."""
    tr, va, _ = data
    cfg = replace(STAGE2, max_epochs=6, patience=1, lr=0.0)  # nothing learns: validation never improves after epoch 0
    ref = train_stage2(tr, va, cfg, 0, tmp_path / "ref", progress=False)
    assert len(ref.curves) < cfg.max_epochs, "the set-up should stop early"
    last = len(ref.curves) - 1
    s2 = _interrupted(monkeypatch, last, lambda: train_stage2(tr, va, cfg, 0, tmp_path / "run", progress=False))
    assert len(s2.curves) == len(ref.curves)
    assert same_weights(s2.model, ref.model)


def test_checkpoint_of_another_run_is_not_resumed(data, reference, tmp_path, monkeypatch):
    tr, va, _ = data
    monkeypatch.setenv(INTERRUPT_ENV, "1")
    with pytest.raises(SimulatedInterrupt):
        train_stage2(tr, va, STAGE2, 1, tmp_path, progress=False)  # seed 1 leaves a checkpoint behind
    monkeypatch.delenv(INTERRUPT_ENV)
    with pytest.warns(UserWarning, match="belongs to another run"):
        s2 = train_stage2(tr, va, STAGE2, 0, tmp_path, progress=False)  # seed 0 must start afresh
    assert same_weights(s2.model, reference[0].model)
