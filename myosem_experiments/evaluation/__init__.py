"""Research processes of the book, each caching its results in a run folder keyed by its config:

- :mod:`.user_bar`: the ``user`` protocol's quality bar, MyoSem against LDA (notebook 03);
- :mod:`.embridge`: the EMBridge / CPEP experiment grid of notebook 07 (its tables: :mod:`myosem_experiments.report.embridge`);
- :mod:`.aemg`: AEMG pretraining, LOSO zero-/few-shot and cross-device transfer (notebook 08);
- :mod:`.cross_device`: a trained MyoSem model on synthetic devices (notebook 10);
- :mod:`.expected`: the pinned results of a quick build, and the check that they did not move.

The reusable evaluation code they use (probes, LOSO folds, projections) is :mod:`myosem_core.evaluation`.
"""
