"""MyoSem and the baselines behind one retrieval interface, every entry declared in :mod:`.registry` (scored by
:func:`myosem_core.scoring.retriever_scores`)."""
