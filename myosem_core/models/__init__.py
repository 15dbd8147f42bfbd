"""Models: MyoSem's activation-aware encoder, VQ codebook and semantic-query head; baselines; EMBridge; AEMG."""
