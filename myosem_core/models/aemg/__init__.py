"""AEMG (Any Electromyography): a contraction tokenizer for any channel layout and a masked-token Transformer.

- :mod:`.tokenizer` — :class:`ContractionTokenizer`: raw or RMS EMG of any channel
  count and sampling rate -> a (channels x segments) grid of vocabulary indices.
- :mod:`.model` — :class:`AEMGTransformer`: word + channel-position + time
  embeddings, masked-token pretraining head, mean-pooled window embedding.

Training lives in :mod:`myosem_core.training.aemg`, evaluation in
:mod:`myosem_experiments.evaluation.aemg`.
"""

from .model import (
           AEMGModelConfig,
           AEMGOutput,
           AEMGTransformer,
           masked_token_loss,
           random_mask,
)
from .tokenizer import (
           ContractionTokenizer,
           TokenizerConfig,
           TokenSequence,
           common_envelope,
           segment_features,
)

__all__ = ["AEMGModelConfig", "AEMGOutput", "AEMGTransformer", "ContractionTokenizer", "TokenSequence",
           "TokenizerConfig", "common_envelope", "masked_token_loss", "random_mask", "segment_features"]
