"""The one fit loop: early stopping restores the best epoch, schedules, resume, and the EMG augmentations."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from myosem_core.errors import ConfigError
from myosem_core.training.augment import AugmentConfig, augment
from myosem_core.training.fit import FitConfig, fit, lr_lambda
from myosem_core.training.resume import (
    INTERRUPT_ENV,
    EpochCheckpoint,
    SimulatedInterrupt,
)
from myosem_core.presets import deep_config


def toy_problem(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 8, generator=g)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    return X, y


def make_model(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))


def ce(model):
    def loss_fn(x, y):
        return nn.functional.cross_entropy(model(x), y), {}
    return loss_fn


def scripted_validation(values):
    """A validation that returns the next scripted value each epoch (and records the weights it saw)."""
    seen = []

    def validate(m):
        seen.append(copy.deepcopy(m.state_dict()))
        return {"val_loss": values[len(seen) - 1]}
    return validate, seen


def test_early_stopping_restores_the_best_epoch_weights():
    X, y = toy_problem()
    model = make_model()
    validate, seen = scripted_validation([0.9, 0.5, 0.7, 0.8, 0.95, 0.3])
    result = fit(model, ce(model), X, y, validate, FitConfig(epochs=6, patience=3, batch_size=64), progress=False)
    assert [r["epoch"] for r in result.curves] == [0, 1, 2, 3, 4]  # stopped 3 epochs after the best (epoch 1)
    assert result.best_epoch == 1 and result.best_value == 0.5
    for k, v in model.state_dict().items():
        assert torch.equal(v, seen[1][k]), f"{k} is not the best epoch's weight"


def test_a_phase_that_does_not_beat_its_baseline_keeps_the_baseline_weights():
    X, y = toy_problem()
    model = make_model()
    before = copy.deepcopy(model.state_dict())
    validate, _ = scripted_validation([0.6, 0.7])
    result = fit(model, ce(model), X, y, validate, FitConfig(epochs=2, patience=5), baseline=(0.5, before),
                 progress=False, first_epoch=10)
    assert not result.improved and [r["epoch"] for r in result.curves] == [10, 11]
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_the_loop_learns_and_is_deterministic_per_seed():
    X, y = toy_problem()
    runs = []
    for _ in range(2):
        model = make_model()

        def validate(m):
            return {"val_acc": float((m(X).argmax(1) == y).float().mean())}
        fit(model, ce(model), X, y, validate, FitConfig(epochs=10, batch_size=32, lr=0.03, monitor="val_acc", mode="max"),
            seed=3, augment=lambda x: x + 0.01 * torch.randn_like(x), progress=False)
        runs.append(model.state_dict())
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    model = make_model()
    model.load_state_dict(runs[0])
    assert float((model(X).argmax(1) == y).float().mean()) > 0.9


@pytest.mark.parametrize("schedule", ["onecycle", "cosine", "constant"])
def test_schedules_warm_up_and_decay(schedule):
    f = lr_lambda(FitConfig(schedule=schedule, warmup=0.2), 100)
    values = [f(s) for s in range(100)]
    assert max(values) == pytest.approx(1.0)
    if schedule == "constant":
        assert set(values) == {1.0}
    else:
        assert values[0] < 0.1 and values[-1] < 0.01 and values.index(max(values)) == 19


def test_monitor_missing_from_validation_is_a_config_error():
    X, y = toy_problem(32)
    model = make_model()
    with pytest.raises(ConfigError, match="val_acc"):
        fit(model, ce(model), X, y, lambda m: {"val_loss": 1.0}, FitConfig(epochs=1, monitor="val_acc"),
            progress=False)
    with pytest.raises(ConfigError, match="schedule"):
        FitConfig(schedule="linear")


def test_a_killed_fit_resumes_to_identical_weights(tmp_path, monkeypatch):
    X, y = toy_problem()
    cfg = FitConfig(epochs=5, batch_size=32, patience=5)

    def run(folder):
        model = make_model()

        def validate(m):
            return {"val_loss": float(nn.functional.cross_entropy(m(X), y))}
        torch.manual_seed(0)
        fit(model, ce(model), X, y, validate, cfg, seed=1, checkpoint=EpochCheckpoint(folder, "last.pt", "k"),
            augment=lambda x: x + 0.05 * torch.randn_like(x), progress=False)
        return model.state_dict()

    reference = run(tmp_path / "a")
    monkeypatch.setenv(INTERRUPT_ENV, "2")
    with pytest.raises(SimulatedInterrupt):
        run(tmp_path / "b")
    monkeypatch.delenv(INTERRUPT_ENV)
    resumed = run(tmp_path / "b")
    assert all(torch.equal(reference[k], resumed[k]) for k in reference)


@pytest.mark.parametrize("cfg", [AugmentConfig(channel_offset=0.3), AugmentConfig(time_shift=0.2),
                                 AugmentConfig(channel_dropout=0.3), AugmentConfig(0.1, 0.1, 0.05, 0.1, 0.1)])
def test_augmentations_keep_shape_dtype_and_repeat_per_seed(cfg):
    x = torch.randn(16, 50, 6)
    torch.manual_seed(7)
    a = augment(x, cfg)
    torch.manual_seed(7)
    b = augment(x, cfg)
    torch.manual_seed(8)
    c = augment(x, cfg)
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, x)


def test_time_shift_rolls_each_window_and_dropout_silences_whole_channels():
    x = torch.arange(20.0).reshape(1, 20, 1).repeat(64, 1, 3)
    torch.manual_seed(0)
    shifted = augment(x, AugmentConfig(time_shift=0.25))
    assert all(sorted(w[:, 0].tolist()) == list(range(20)) for w in shifted)  # a roll, nothing lost
    assert (shifted[:, 0, 0] != 0).any() and (shifted[:, :, 0] - shifted[:, :, 1]).abs().max() == 0
    dropped = augment(torch.ones(200, 10, 4), AugmentConfig(channel_dropout=0.5))
    per_channel = dropped.sum(1)  # (B, C): 10 where kept, 0 where dropped
    assert set(per_channel.unique().tolist()) == {0.0, 10.0}
    assert 0.3 < float((per_channel == 0).float().mean()) < 0.7


def test_no_augmentation_returns_the_input_itself():
    x = torch.randn(2, 10, 3)
    assert augment(x, AugmentConfig()) is x
    with pytest.raises(ConfigError):
        AugmentConfig(time_shift=1.5)


def test_new_users_train_with_the_cross_user_augmentation():
    from myosem_core.presets import make_config
    from myosem_experiments.grid import MODELS, recipe, stage_presets

    for preset in ("quick", "full"):
        rand2, rand3 = stage_presets(preset, "rand")
        user2, user3 = stage_presets(preset, "user")
        assert user2.augment.channel_offset > rand2.augment.channel_offset
        assert user3.augment == user2.augment and rand3.augment == rand2.augment
        assert deep_config(preset, "user").augment == user2.augment
        assert deep_config(preset, "class").augment == rand2.augment
        assert user2.for_protocol("user") == user2  # applying it twice changes nothing
    cfg = make_config("quick", "synthetic")
    assert recipe(MODELS["myosem"], cfg, "user")["hash"] != recipe(MODELS["myosem"], cfg, "rand")["hash"]
