"""MyoSem's EMG side end to end: Stage 2 then Stage 3 on a split's windows, each from the run store or trained
and saved there. Every caller trains MyoSem through :func:`train_myosem_stages` (the pipeline with Stage 1's text
space, the comparison grid, the command line and the retrieval registry's :class:`MyoSemRetriever`), so they share
runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..data.windows import WindowSet
from .stage2 import Stage2Config, Stage2Run, load_or_train_stage2
from .stage3 import Stage3Config, Stage3Run, load_or_train_stage3


def train_myosem_stages(train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray, stage2: Stage2Config,
                        stage3: Stage3Config, seed: int = 0, runs: str | Path | None = None,
                        progress: bool = True) -> tuple[Stage2Run, Stage3Run]:
    """Stage 2 on ``train_ws`` (early-stopped on ``val_ws``), then Stage 3 aligning it to ``prototypes``
    ((K, D) unit rows in the windows' class order); each reused from the run store when its key matches."""
    s2 = load_or_train_stage2(train_ws, val_ws, stage2, seed, runs, progress)
    s3 = load_or_train_stage3(train_ws, val_ws, s2, prototypes, stage3, seed, runs, progress)
    return s2, s3
