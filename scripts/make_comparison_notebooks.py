"""Write notebooks 05 (baselines) and 06 (ablations) with outputs cleared.

    .venv/bin/python scripts/make_comparison_notebooks.py

The notebooks hold no model code: they call :func:`myosem_core.experiments.notebook_experiments`
and show the tables with :mod:`myosem_core.viz.tables`.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_notebook, new_markdown_cell, new_code_cell

PARAMS = '''dataset = "synthetic"   # or "ninapro-db1"
data_dir = None         # folder of the dataset files
protocol = "rand"
preset = "quick"        # "quick" (CI) or "full" (book)
seed = 0
run_dir = None          # None -> myosem_core.paths.runs_root()
protocols = None        # None: quick -> trains [protocol], shows every current cached one; full -> rand, user, class
seeds = None            # None: quick -> trains [seed], shows every current cached one; full -> 0, 1, 2'''

SCOPE = '''display(Markdown(
    f"**Data:** `{dataset}`{' (SYNTHETIC)' if dataset == 'synthetic' else ''} · **preset:** `{preset}` · "
    f"**protocols:** {', '.join(view.protocols)} · **seeds:** {', '.join(map(str, view.seeds))}  \\n"
    + ("The *quick* preset (CI) trains one protocol and one seed with the quick training budgets (fewer epochs, "
       "narrower deep baselines). It also shows every other protocol and seed already computed with those "
       "budgets (`python -m myosem_core.experiments --preset quick --seeds 0 1 2`) whose recipe still matches "
       "the code; with one seed a cell shows no std. The book's *full* preset trains every protocol over "
       "seeds 0, 1, 2. " if preset == "quick" else "")
    + "**Cross-dataset** needs two datasets (DB2 -> DB3 in the paper); this book has one real dataset "
      "(NinaPro DB1 exercise 1), so that protocol is not run.  \\n"
    f"Result files: `{view.folder}`"))'''


def nb05():
    cells = [
        new_markdown_cell("""# 05 · Baselines

Is MyoSem's EMG↔text retrieval better than what an EMG practitioner would do anyway? Every model here sees the
**same windows, splits, candidates and metrics** as MyoSem (chapter 03); only the part under test changes.

**EMG encoders** (EMG→text, adapted to retrieval as in the MyoSem paper's appendix A.3). The five deep
baselines (TCN, Attn-CNN-RNN, CNN-BiLSTM, SE-CNN, Atzori CNN) first train with their own classifier (cross-entropy,
MyoSem Stage 2's epoch budget); then the segment representation before that classifier is projected into the
prototype space and trained with MyoSem's **Stage-3 objective** (InfoNCE against the same frozen Stage-1
prototypes + auxiliary CE, same schedule). Every deep model trains through the same fit loop with the same EMG
recipe (one-cycle AdamW, label smoothing, EMG augmentations, early stopping on validation). They score the
prototypes by cosine, turned into each window's softmax over the candidates (so that text→EMG compares windows on
a common scale, as the classifiers' probabilities do), as MyoSem does. The classical anchors,
LDA and a random forest on per-channel time-domain features (log MAV, RMS, WL, VAR; ZC/SSC only on raw EMG, and DB1
ships RMS envelopes), rank classes by predicted probability and give 0 to classes they never saw.
Foundation-model rows (CPEP, EMBridge, AEMG) use their own chapters' frozen encoders with a linear head into the
same prototype space, through the same registry.

**Text prototypes** (text→EMG). MyoSem's Stage-1 prototypes are replaced by the frozen sentence encoder's (no
Stage-1 fine-tuning, every view), the frozen encoder on the label alone, and a TF-IDF bag of words (uni- and bigrams,
truncated SVD to 64 dimensions, fitted on training texts only). A TF-IDF space shares nothing with a sentence
encoder's, so for a fair comparison the EMG side is MyoSem's Stage-2 encoder with **Stage 3 retrained against each
prototype set**.

Every number below is read from the result JSON files; one command regenerates all of them:

```
python -m myosem_core.experiments --preset full --data-dir ../shared/data/ninapro-db1 --seeds 0 1 2
```"""),
        new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
        new_code_cell('''import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from myosem_core.experiments import TABLES, notebook_experiments, timing_table
from myosem_core.tables import reading
from myosem_core.viz.tables import plot_metric, show_table

view = notebook_experiments(["emg", "text"], preset, dataset, data_dir, protocol, seed, run_dir, protocols, seeds)'''),
        new_code_cell(SCOPE),
        new_markdown_cell("## EMG encoders against the same prototypes"),
        new_code_cell('''emg_e2t, emg_t2e = view.tables[("emg", "emg_to_text")], view.tables[("emg", "text_to_emg")]
display(show_table(emg_e2t))
display(show_table(emg_t2e))'''),
        new_code_cell('''fig, axes = plt.subplots(1, 2, figsize=(13, 3.8))
plot_metric(emg_e2t, "R@1", ax=axes[0])
plot_metric(emg_t2e, "R@1", ax=axes[1])
fig.tight_layout()'''),
        new_markdown_cell("""### Reading

Generated from the table above: per protocol and metric, whether MyoSem leads and the gap to the best other model
(percentage points). Under `class`, LDA and the random forest cannot rank the four held-out classes (they never
saw them), while the prototype-based models can."""),
        new_code_cell('''display(Markdown("\\n".join(f"- {s}" for t in (emg_e2t, emg_t2e) for s in reading(t))))'''),
        new_markdown_cell("## Text prototypes against the same EMG encoder"),
        new_code_cell('''txt_e2t, txt_t2e = view.tables[("text", "emg_to_text")], view.tables[("text", "text_to_emg")]
display(show_table(txt_t2e))
display(show_table(txt_e2t))
display(Markdown("\\n".join(f"- {s}" for t in (txt_t2e, txt_e2t) for s in reading(t))))'''),
        new_code_cell('''fig, ax = plt.subplots(figsize=(7, 3.6))
plot_metric(txt_t2e, "R@1", ax=ax)
fig.tight_layout()'''),
        new_markdown_cell("""## Training time

Seconds of training recorded with each result (MyoSem rows: its Stage-2 and Stage-3 epochs; baselines: their
`fit`), on whatever else the machine was running at the time. `benchmarks/bench_baselines.py` measures the
baselines one after the other in one process and prints ratios to the Atzori CNN."""),
        new_code_cell('''timing_table(view.results, list(dict.fromkeys(TABLES["emg"].models + TABLES["text"].models)))'''),
    ]
    return cells


def nb06():
    cells = [
        new_markdown_cell("""# 06 · Ablations

Which parts of MyoSem carry its retrieval? Each row switches one part off through the stage configs and retrains
what depends on it; everything else (windows, split, candidates, metrics, epoch budgets) is unchanged.

| Row | Switch | Retrained |
|---|---|---|
| w/o activation-aware descriptors | `EncoderConfig.gates_fixed_zero=True`: the RMS / envelope / waveform-length descriptors never reach the tokens | Stages 2 + 3 |
| w/o semantic queries | `QueryHeadConfig.use_queries=False`: the global pooled projection alone | Stage 3 |
| w/o action-semantic pretraining | prototypes of the frozen sentence encoder on the class label alone (no Stage 1, no multi-view text) | Stage 3 |
| w/o VQ | `EncoderConfig.use_vq=False`: reconstruction from unquantised tokens, no VQ loss | Stages 2 + 3 |

"w/o action-semantic pretraining" is the same model as the label-only text baseline of chapter 05 (the same cached
runs). Every number below is read from the result JSON files (`python -m myosem_core.experiments ...` regenerates
them)."""),
        new_code_cell(PARAMS, metadata={"tags": ["parameters"]}),
        new_code_cell('''import matplotlib.pyplot as plt
from IPython.display import Markdown, display

from myosem_core.experiments import TABLES, notebook_experiments, timing_table
from myosem_core.tables import reading
from myosem_core.viz.tables import plot_metric, show_table

view = notebook_experiments(["ablation"], preset, dataset, data_dir, protocol, seed, run_dir, protocols, seeds)'''),
        new_code_cell(SCOPE),
        new_markdown_cell("## Both directions"),
        new_code_cell('''abl_e2t, abl_t2e = view.tables[("ablation", "emg_to_text")], view.tables[("ablation", "text_to_emg")]
display(show_table(abl_e2t))
display(show_table(abl_t2e))'''),
        new_code_cell('''fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
plot_metric(abl_e2t, "R@1", ax=axes[0])
plot_metric(abl_e2t, "MRR", ax=axes[1])
fig.tight_layout()'''),
        new_markdown_cell("""### Reading

Generated from the tables: for each column, whether full MyoSem beats every ablated variant. A column where a
variant matches or beats the full model means that part did not help on this data, protocol and budget."""),
        new_code_cell('''display(Markdown("\\n".join(f"- {s}" for t in (abl_e2t, abl_t2e) for s in reading(t))))'''),
        new_markdown_cell("## Training time"),
        new_code_cell('''timing_table(view.results, TABLES["ablation"].models)'''),
    ]
    return cells


for name, cells in (("05_baselines", nb05()), ("06_ablations", nb06())):
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "myosem", "display_name": "Python (myosem)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.write(nb, Path(__file__).resolve().parents[1] / "notebooks" / f"{name}.ipynb")
