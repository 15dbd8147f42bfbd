"""A tiny synthetic MyoSem set-up (2 subjects, 480 windows, a 16-wide encoder) for the scale tests: seconds, not minutes.

The same sizes as command-line overrides are in :data:`CLI_TINY`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from myosem_core.data import load_windows, make_split
from myosem_core.data.synthetic import SyntheticConfig
from myosem_core.models.activation_encoder import EncoderConfig
from myosem_core.presets import make_config
from myosem_core.training import Stage2Config, Stage3Config

SYNTH = dict(n_subjects=2, n_repetitions=10, movement_s=1.5, rest_s=1.0)
ENCODER = dict(d_model=16, n_layers=1, n_heads=2, codebook_size=16, code_dim=8, descriptor_hidden=8)

STAGE2 = replace(Stage2Config(), encoder=EncoderConfig(**ENCODER), max_epochs=4, batch_size=32, patience=10,
                 threads=1)
STAGE3 = replace(Stage3Config(), phase1_epochs=2, phase2_epochs=2, batch_size=32, patience=10, threads=1)

CLI_TINY = ["--quiet", "--threads", "1", *[a for k, v in SYNTH.items() if k != "n_repetitions"
                                           for a in ("--set", f"data.synthetic.{k}={v}")],
            "--set", "stage1.epochs=0", "--set", "stage2.max_epochs=2", "--set", "stage2.batch_size=32",
            *[a for k, v in ENCODER.items() for a in ("--set", f"stage2.encoder.{k}={v}")],
            "--set", "stage3.phase1_epochs=1", "--set", "stage3.phase2_epochs=1", "--set", "stage3.batch_size=32"]


def tiny_windows(seed: int = 0):
    """(windows, rand split) of the tiny synthetic set."""
    cfg = make_config("quick", "synthetic", seed=seed, synthetic=SyntheticConfig(**SYNTH, seed=seed))
    ws = load_windows("synthetic", None, cache_dir=None, progress=False, **cfg.data.load_options())
    return ws, make_split(ws, "rand")


def tiny_prototypes(n_classes: int, dim: int = 8, seed: int = 1) -> np.ndarray:
    P = np.random.default_rng(seed).standard_normal((n_classes, dim)).astype(np.float32)
    return P / np.linalg.norm(P, axis=1, keepdims=True)


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(bool((sa[k] == sb[k]).all()) for k in sa)
