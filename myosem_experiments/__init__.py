"""myosem_experiments: the experiment layer of the MyoSem book, built on :mod:`myosem_core`.

The core library holds what a model is made of (data, models, losses, metrics, retrieval,
training, baselines, figures); this package holds the research processes that run it and the
book's views of their results. It imports :mod:`myosem_core`; the core never imports it.

- :mod:`.pipeline`: MyoSem end to end on one protocol (windows -> Stages 1-3 -> retrieval results);
- :mod:`.grid`: the comparison grid of notebooks 05/06 (``python -m myosem_experiments.grid``);
- :mod:`.tables`: comparison tables generated from result JSON files;
- :mod:`.evaluation`: research runners (user quality bar, EMBridge grid and report, AEMG LOSO,
  cross-device study) and the pinned-results check;
- :mod:`.cli`: the ``myosem`` command (``cli_commands``, ``cli_config``).
"""
