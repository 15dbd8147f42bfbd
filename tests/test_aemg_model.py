"""AEMG Transformer and pretraining: mask ratio, any channel count, determinism, cached runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from myosem_core.models.aemg import (
    AEMGModelConfig,
    AEMGTransformer,
    TokenizerConfig,
    masked_token_loss,
    random_mask,
)
from myosem_core.training.aemg import (
    AEMGConfig,
    DeviceSpec,
    Source,
    device_windows,
    load_aemg,
    pretrain_aemg,
    pretraining_sources,
)
from myosem_core.presets import preset_section

TINY = AEMGConfig(preset="test", tokenizer=TokenizerConfig(vocab_size=12, fit_segments_per_source=1500),
                  model=AEMGModelConfig(d_model=16, n_layers=1, n_heads=2),
                  devices=(DeviceSpec("a8", 8, 200.0), DeviceSpec("b16", 16, 1000.0)),
                  device_subjects=1, device_repetitions=1, epochs=3, batch_size=16, lr=3e-3, threads=1)


def test_default_mask_ratio_is_half():
    assert AEMGConfig().mask_ratio == 0.5
    assert all(preset_section(p, "aemg").mask_ratio == 0.5 for p in ("quick", "full"))


@pytest.mark.parametrize("shape", [(4, 10, 10), (3, 16, 5), (2, 8, 10)])
def test_random_mask_hides_exactly_half_of_every_window(shape):
    mask = random_mask(shape, 0.5, torch.Generator().manual_seed(0))
    per_window = mask.reshape(shape[0], -1).sum(1)
    assert mask.shape == shape and mask.dtype == torch.bool
    assert torch.all(per_window == round(0.5 * np.prod(shape[1:])))
    assert not torch.equal(mask[0], mask[1])  # windows get different masks


def test_random_mask_repeats_for_a_seed():
    a = random_mask((5, 10, 10), 0.5, torch.Generator().manual_seed(7))
    b = random_mask((5, 10, 10), 0.5, torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_masked_places_see_only_the_mask_word():
    torch.manual_seed(0)
    model = AEMGTransformer(AEMGModelConfig(vocab_size=12, d_model=16, n_layers=1, n_heads=2)).eval()
    tokens = torch.randint(0, 12, (2, 8, 5))
    pos, t = torch.arange(8) / 8, (torch.arange(5) + 0.5) * 0.2
    mask = random_mask(tokens.shape, 0.5, torch.Generator().manual_seed(1))
    other = torch.where(mask, (tokens + 3) % 12, tokens)  # change only the masked words
    with torch.no_grad():
        a, b = model(tokens, pos, t, mask), model(other, pos, t, mask)
    torch.testing.assert_close(a.logits, b.logits)  # hidden words cannot leak into the prediction
    loss, parts = masked_token_loss(a, tokens, mask)
    assert torch.isfinite(loss) and 0.0 <= parts["masked_acc"] <= 1.0


@pytest.mark.parametrize("n_channels", [8, 10, 12, 16])
def test_one_model_embeds_any_channel_count(n_channels):
    torch.manual_seed(0)
    model = AEMGTransformer(AEMGModelConfig(vocab_size=12, d_model=16, n_layers=1, n_heads=2)).eval()
    tokens = torch.randint(0, 12, (3, n_channels, 10))
    pos, t = torch.arange(n_channels) / n_channels, (torch.arange(10) + 0.5) * 0.1
    with torch.no_grad():
        z = model.embed(tokens, pos, t)
        model.cfg = AEMGModelConfig(vocab_size=12, d_model=16, n_layers=1, n_heads=2, pool="mean")
        z_mean = model.embed(tokens, pos, t)
    assert z.shape == (3, n_channels * 16) and torch.all(torch.isfinite(z))  # one vector per channel stream
    torch.testing.assert_close(z_mean, z.reshape(3, n_channels, 16).mean(1))


def test_out_of_vocabulary_token_is_rejected():
    model = AEMGTransformer(AEMGModelConfig(vocab_size=12, d_model=16, n_layers=1, n_heads=2))
    with pytest.raises(ValueError, match="token ids"):
        model.embed(torch.full((1, 8, 10), 12), torch.arange(8) / 8, torch.arange(10) * 0.1)


@pytest.fixture(scope="module")
def tiny_sources():
    rng = np.random.default_rng(0)
    main = Source("main", np.abs(rng.normal(size=(40, 100, 10))).astype(np.float32), 100.0, "rms")
    return [main] + pretraining_sources(None, TINY, seed=0, progress=False)


def test_pretraining_sources_cover_every_device_but_the_excluded(tiny_sources):
    assert [s.name for s in tiny_sources] == ["main", "a8", "b16"]
    assert [s.X.shape[2] for s in tiny_sources] == [10, 8, 16]
    left = pretraining_sources(None, TINY, seed=0, exclude_devices=("b16",), progress=False)
    assert [s.name for s in left] == ["a8"]


def test_device_subjects_for_evaluation_differ_from_pretraining():
    from myosem_core.training.aemg import device_seed

    d = TINY.devices[0]
    assert device_seed(0, d, "eval") != device_seed(0, d, "pretrain")
    a = device_windows(d, 1, 1, device_seed(0, d, "eval"))
    b = device_windows(d, 1, 1, device_seed(0, d, "pretrain"))
    assert a.X.shape[1:] == (200, 8) and not np.allclose(a.X[:5], b.X[:5])


@pytest.fixture(scope="module")
def tiny_run(tiny_sources, tmp_path_factory):
    folder = tmp_path_factory.mktemp("aemg") / "run"
    return pretrain_aemg(tiny_sources, TINY, seed=0, folder=folder, progress=False)


def test_pretraining_is_deterministic_and_saved_atomically(tiny_sources, tiny_run):
    again = pretrain_aemg(tiny_sources, TINY, seed=0, progress=False)
    X = tiny_sources[2].X[:6]
    za = tiny_run.embed_array(X, 1000.0, "raw")
    np.testing.assert_array_equal(za, again.embed_array(X, 1000.0, "raw"))
    assert za.shape == (6, 16 * 16)  # 16 channels x d_model
    assert not list(tiny_run.folder.glob(".*"))  # no temporary file left behind
    loaded = load_aemg(tiny_run.folder)
    np.testing.assert_allclose(loaded.embed_array(X, 1000.0, "raw"), za, rtol=1e-5, atol=1e-6)
    assert set(loaded.info["vocab_usage"]) == {"main", "a8", "b16"}


def test_pretraining_lowers_the_masked_word_loss(tiny_run):
    losses = [r["train_loss"] for r in tiny_run.curves]
    assert len(losses) == TINY.epochs and losses[-1] < losses[0]
    assert all(0.0 <= r["val_masked_acc"] <= 1.0 for r in tiny_run.curves)


def test_interrupted_pretraining_resumes_from_its_checkpoint(tiny_sources, tiny_run, tmp_path):
    import shutil

    folder = tmp_path / "resume"
    shutil.copytree(tiny_run.folder, folder)
    (folder / "results.json").unlink()
    resumed = pretrain_aemg(tiny_sources, TINY, seed=0, folder=folder, progress=False)
    assert len(resumed.curves) == TINY.epochs  # nothing retrained: the last epoch's checkpoint is complete
    X = tiny_sources[1].X[:3]
    np.testing.assert_array_equal(resumed.embed_array(X, 200.0, "raw"), tiny_run.embed_array(X, 200.0, "raw"))


def test_random_init_keeps_the_tokenizer_and_changes_the_weights(tiny_sources, tiny_run):
    base = tiny_run.random_init(seed=0)
    assert base.tokenizer is tiny_run.tokenizer and not base.pretrained
    X = tiny_sources[0].X[:4]
    assert not np.allclose(base.embed_array(X, 100.0, "rms"), tiny_run.embed_array(X, 100.0, "rms"))
