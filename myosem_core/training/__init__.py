"""Training loops of MyoSem: Stage 2 (activation-aware encoder) and Stage 3 (semantic-query alignment).

    s2, s3 = train_myosem_stages(train_ws, val_ws, prototypes, stage2_cfg, stage3_cfg, seed)  # from the run store
    z = s3.embed(test_ws.X)                                                                    # (N, D) unit vectors
"""

from .myosem import train_myosem_stages
from .stage2 import Stage2Config, Stage2Run, load_or_train_stage2, train_stage2
from .stage3 import (
           Stage3Config,
           Stage3Run,
           load_or_train_stage3,
           train_stage3,
           untrained_stage3,
)

__all__ = ["Stage2Config", "Stage2Run", "Stage3Config", "Stage3Run", "load_or_train_stage2", "load_or_train_stage3",
           "train_myosem_stages", "train_stage2", "train_stage3", "untrained_stage3"]
