"""The comparison grid of the MyoSem book: every model x protocol x seed, one result JSON each.

    python -m myosem_experiments.grid --preset full --data-dir ../shared/data/ninapro-db1 --seeds 0 1 2

trains (or reuses) every model named in :data:`MODELS` on every protocol and
seed, writes ``<dataset>__<protocol>__<model>__seed<k>.json`` into the
experiment folder (:func:`experiment_folder`), and regenerates the tables of
:data:`TABLES` from those files (``tables.md`` beside them). A result is reused
when its recipe hash (the data's identity, seed, protocol, model spec, training
configs and the code that trains and scores it) matches; MyoSem's stages reuse
their own runs from the run store the same way, so the notebooks and this
command share work. ``--force`` recomputes every result and retrains its runs.

Every model sees the same windows, split, candidates (all class prototypes)
and metrics (:func:`myosem_core.evaluation.retrieval_results.evaluate_scores`):

- ``myosem``: Stage 1 prototypes, Stage 2 encoder, Stage 3 alignment;
- EMG baselines: deep backbones aligned to the same Stage-1 prototypes
  (:mod:`myosem_core.baselines.deep`), LDA and a random forest (probabilities);
  foundation-model rows (CPEP, EMBridge, AEMG) run once their issues register
  a retriever of that name, and show as missing until then;
- text baselines: MyoSem's Stage-2 encoder with Stage 3 trained against other
  prototypes (:mod:`myosem_core.baselines.text`);
- ablations: MyoSem with one part switched off through its config.

``cross-dataset`` needs two datasets; with one dataset (NinaPro DB1 here) it is
not run and the CLI says so.

One concept per module:

- :mod:`.rows`: the rows (:data:`MODELS`), the tables they form (:data:`TABLES`), the protocols;
- :mod:`.recipes`: what a result depends on, and its hash;
- :mod:`.results`: where results go, and which saved ones are current;
- :mod:`.experiment`: one cell (row x protocol x seed) and the per-process memo (:class:`Context`);
- :mod:`.pool`: the grid cut into work units, on Dask workers;
- :mod:`.runner`: the whole grid (:func:`run_experiments`);
- :mod:`.views`: tables of the results, as notebooks 05/06 show them;
- :mod:`.cli`: the command above.
"""

from .experiment import Context, run_experiment
from .pool import default_jobs, work_units
from .recipes import TFIDF_DIM, recipe, row_stage_configs, stage_presets
from .results import (
           cached_result,
           current_results,
           experiment_folder,
           load_experiment_results,
           results_folder,
)
from .rows import MODELS, PROTOCOLS, TABLES, ModelSpec, TableSpec, model_spec
from .runner import run_experiments
from .views import (
           ExperimentView,
           experiment_tables,
           new_user_protocols,
           notebook_experiments,
           tables_markdown,
           timing_table,
)

__all__ = ["Context", "ExperimentView", "MODELS", "ModelSpec", "PROTOCOLS",
           "TABLES", "TFIDF_DIM", "TableSpec", "cached_result", "current_results", "default_jobs",
           "experiment_folder", "experiment_tables", "load_experiment_results", "model_spec", "new_user_protocols",
           "notebook_experiments",
           "recipe", "results_folder", "row_stage_configs", "run_experiment", "run_experiments", "stage_presets",
           "tables_markdown", "timing_table", "work_units"]
