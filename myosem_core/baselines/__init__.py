"""Baselines evaluated through the same retrieval interface as MyoSem (see :mod:`myosem_core.retrievers`)."""
