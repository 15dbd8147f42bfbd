"""EMBridge and CPEP: EMG representations anchored on a frozen, MAE-pretrained pose encoder.

- :mod:`.mae` masked autoencoder over temporal patches (one for EMG, one for pose)
- :mod:`.cpep` CLS projection head (the CLIP-style baseline)
- :mod:`.qformer` Q-Former: learnable queries, blocks copied from the pose encoder, cross-attention to EMG
- :mod:`.mprl` masked pose reconstruction through the queries (second pass, attention mask)
- :mod:`.cascle` community-aware soft targets (k-means communities, top-k_c affinities) and SoftCLIP targets
- :mod:`.contrastive` InfoNCE (EMG -> pose), label smoothing, soft cross-entropy
- :mod:`.aligner` EMG encoder + CPEP or Q-Former head, the trainable model
"""

from .aligner import EMGPoseAligner
from .cascle import (
           cascle_targets,
           community_affinity,
           fit_communities,
           instance_soft_targets,
)
from .contrastive import info_nce, soft_cross_entropy
from .mae import MAEConfig, PatchMAE, random_masking
from .mprl import MaskedPoseReconstruction, mprl_attention_mask
from .qformer import QFormer, best_query

__all__ = ["EMGPoseAligner", "MAEConfig", "MaskedPoseReconstruction", "PatchMAE", "QFormer", "best_query",
           "cascle_targets", "community_affinity", "fit_communities", "info_nce", "instance_soft_targets",
           "mprl_attention_mask", "random_masking", "soft_cross_entropy"]
