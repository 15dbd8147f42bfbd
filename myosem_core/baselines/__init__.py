"""MyoSem and the baselines behind one retrieval interface (:mod:`myosem_core.retrievers`); every entry is
declared in :mod:`.registry`."""
