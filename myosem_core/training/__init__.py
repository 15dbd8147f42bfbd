"""Training loops of MyoSem: Stage 2 (activation-aware encoder) and Stage 3 (semantic-query alignment).

    s2 = load_or_train_stage2(cfg, ws, split)               # cached by config hash
    s3 = load_or_train_stage3(cfg, ws, split, prototypes, s2)
    z = s3.embed(ws.X[split.test])                           # (N, D) unit vectors
"""

from .stage2 import Stage2Config, Stage2Run, load_or_train_stage2, train_stage2
from .stage3 import Stage3Config, Stage3Run, load_or_train_stage3, train_stage3, untrained_stage3

__all__ = ["Stage2Config", "Stage2Run", "Stage3Config", "Stage3Run", "load_or_train_stage2", "load_or_train_stage3",
           "train_stage2", "train_stage3", "untrained_stage3"]
