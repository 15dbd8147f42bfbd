"""myosem_core: the slim library behind the MyoSem book.

Data readers, windows and protocols live in :mod:`myosem_core.data`; text in
:mod:`myosem_core.text`; models in :mod:`myosem_core.models`; losses, metrics,
retrieval, search, training (the fit loop and each model's trainer), baselines
(the retriever registry) and figures beside them.

The experiment layer (pipelines, the comparison grid, tables, research runners
and the ``myosem`` command) is the separate package :mod:`myosem_experiments`,
which imports this one; this package never imports it.
"""

__version__ = "0.1.0"
