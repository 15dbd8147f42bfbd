"""Write the source notebooks of the MyoSem chapters 02, 03, 04 and 09 (outputs cleared).

    .venv/bin/python scripts/make_myosem_notebooks.py

Cells stay short: they import the core, call it, and plot with myosem_core.viz.retrieval.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgen import notebook

REPO = Path(__file__).resolve().parents[1]

PARAMETERS = '''dataset = "synthetic"   # or "ninapro-db1"
data_dir = None         # folder of the dataset files
protocol = "rand"
preset = "quick"        # "quick" (CI) or "full" (book)
seed = 0
run_dir = None          # None -> myosem_core.paths.runs_root()'''

SETUP = '''import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from myosem_core.config import make_config
from myosem_core.pipeline import load_data, load_stage1_text_space
from myosem_core.retrieval import prototypes_for
from myosem_core.threads import set_threads
from myosem_core.training import load_or_train_stage2, load_or_train_stage3
from myosem_core.viz import retrieval as vr

set_threads(1)  # the machine is shared; one thread is also the fastest under load
warnings.filterwarnings("ignore", category=UserWarning)
cfg = make_config(preset, dataset, data_dir, seed)
SYN = " (SYNTHETIC)" if dataset == "synthetic" else ""'''


def params(extra: str = "") -> tuple:
    return ("code", PARAMETERS + (("\n" + extra) if extra else ""), "parameters")


NB02 = [
    ("md", """# 02 · The activation-aware EMG encoder (MyoSem Stage 2)

A window of EMG is cut into temporal patches; every patch becomes a token through a linear map over its
channels × samples. Three classic time-domain descriptors per patch and channel — **RMS** (activation
intensity), the **energy envelope** (mean |x|) and the **waveform length** (how much the contraction changes) —
each pass through a small MLP and are *added* to the token through a learnable scalar **gate** that starts at
0.1, so training starts close to a plain patch encoder. A Transformer encoder contextualises the tokens; a
**VQ codebook** (nearest entry by cosine, straight-through gradients, commitment term, dead-code reset)
quantises their projections, which reconstruct the signal. Loss = CE + w_rec · reconstruction + w_vq · VQ.
Stage 3 (chapter 03) reads the *pre-VQ* tokens and the pooled segment vector.

Input: RMS envelopes are log-compressed (`log(x + eps)`, eps = a low quantile of the training values) and
z-scored per channel with statistics of the training split only, so a user's per-channel gain becomes an
offset. Training goes through the core's one fit loop (`myosem_core.training.fit`) with the EMG recipe chosen on
validation repetitions and whole training subjects (`scripts/recipe_search.py`): one-cycle AdamW, label
smoothing 0.1, gradient clipping, random per-channel offsets (gain), time shifts and noise; early stopping keeps
the epoch with the best validation accuracy."""),
    params(),
    ("code", SETUP + '''
from dataclasses import replace

from myosem_core.retrieval import class_centres, cosine_matrix, diagonal_margin
from myosem_core.training import Stage2Config'''),
    ("code", '''ws, split = load_data(cfg, protocol)
s2 = load_or_train_stage2(cfg, ws, split, runs=run_dir)
test = ws.subset(split.test)
display(Markdown(f"**{dataset}{SYN}**, protocol `{protocol}`, preset `{preset}`: {len(split.train)} training, "
                 f"{len(split.val)} validation, {len(test)} test windows of {ws.X.shape[1]} samples × "
                 f"{ws.X.shape[2]} channels; run folder `{s2.folder.name}`"))'''),
    ("md", "## Training curves\nEarly stopping keeps the epoch with the highest validation accuracy."),
    ("code", '''fig, axes = plt.subplots(1, 4, figsize=(16, 3.3))
vr.plot_curves(s2.curves, ["train_ce", "val_ce"], "classification (CE)", axes[0])
vr.plot_curves(s2.curves, ["train_rec", "val_rec"], "reconstruction (MSE)", axes[1])
vr.plot_curves(s2.curves, ["train_vq", "val_vq"], "VQ (codebook + commitment)", axes[2])
vr.plot_curves(s2.curves, ["val_acc"], "validation accuracy", axes[3])
fig.suptitle(f"Stage 2 on {dataset}{SYN}, {protocol}"); plt.tight_layout(); plt.show()'''),
    ("md", "## How much descriptor information the encoder uses\nThe three gates start at 0.1; a gate that grows means the model leans on that descriptor."),
    ("code", '''fig, axes = plt.subplots(1, 2, figsize=(11, 3.3))
vr.plot_gates(s2.curves, f"descriptor gates{SYN}", axes[0])
codes = s2.codes(test.X)
vr.plot_codebook_usage(codes, s2.model.cfg.codebook_size, f"test tokens{SYN}", axes[1])
plt.tight_layout(); plt.show()
pd.DataFrame([s2.model.gate_values()], index=["final gate"]).round(3)'''),
    ("md", """## Activation-aware class centres
Cosine similarity between the class centres of the segment vectors of the test windows, for the encoder
trained with the descriptors and for the same encoder with the gates held at zero (a plain patch encoder,
the "w/o activation-aware" ablation of chapter 06, which reuses this run). A clearer diagonal — larger gap
between same-class and other-class similarity — means better separated classes."""),
    ("code", '''plain_cfg = Stage2Config.preset_named(preset)
plain_cfg = replace(plain_cfg, encoder=replace(plain_cfg.encoder, gates_fixed_zero=True))
s2_plain = load_or_train_stage2(cfg, ws, split, plain_cfg, runs=run_dir, progress=False)
fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
margins = {}
for ax, (name, run) in zip(axes, [("gates = 0 (plain patches)", s2_plain), ("activation-aware", s2)]):
    seg = run.encode(test.X)[1]
    M = cosine_matrix(class_centres(seg, test.y, ws.n_classes), class_centres(seg, test.y, ws.n_classes))
    margins[name] = diagonal_margin(M)
    vr.plot_similarity(M, ws.class_keys, ws.class_keys, f"{name}{SYN}\\nmargin {margins[name]:.3f}", ax, -1, 1, "RdBu_r")
plt.tight_layout(); plt.show()
pd.Series(margins, name="diagonal margin").round(3)'''),
]

NB03 = [
    ("md", """# 03 · Alignment and bidirectional retrieval (MyoSem Stage 3)

Stage 3 connects the Stage-2 encoder to the frozen Stage-1 prototypes: a global pooled projection plus M
learnable **semantic queries** that cross-attend to the token sequence, combined and L2-normalised, trained
with InfoNCE against the prototypes (plus a light auxiliary CE). Phase 1 trains only the projection and the
queries; phase 2 unfreezes the encoder's last layer at a lower learning rate.

**EMG→text**: every test window ranks all class prototypes (Recall@1/3/5, MRR; ± bootstrap std over test
windows). **Text→EMG**: 100 balanced episodes, each with one random test window per class as candidates;
every prototype queries (mean ± standard error). The classical anchor is LDA on per-channel log
MAV/RMS/WL/VAR features, ranking classes by its probabilities, on the same windows."""),
    params('protocols = None        # None: quick -> [protocol]; full -> rand, user, class\n'
           'bar_seeds = None        # None: quick -> [seed]; full -> 0, 1, 2 (the cross-user quality bar)'),
    ("code", SETUP + '''
from myosem_core.pipeline import run_myosem
from myosem_core.retrieval import class_centres, cosine_matrix, diagonal_margin
from myosem_core.training import Stage3Config, untrained_stage3

protocols = protocols or ([protocol] if preset == "quick" else ["rand", "user", "class"])
outs = {p: run_myosem(cfg, p, runs=run_dir) for p in protocols}'''),
    ("md", "## Both directions, MyoSem against LDA"),
    ("code", '''def row(p, model, r):
    e, t = r["emg_to_text"], r["text_to_emg"]
    return {"protocol": p, "model": model,
            **{f"E→T {k}": f"{100 * e[k]:.1f} ± {100 * e['std'][k]:.1f}" for k in ("R@1", "R@3", "R@5", "MRR")},
            **{f"T→E {k}": f"{100 * t[k]:.1f} ± {100 * t['se'][k]:.1f}" for k in ("R@1", "R@3", "MRR")}}

table = pd.DataFrame([row(p, m, r) for p, o in outs.items() for m, r in o.results.items()]).set_index(["protocol", "model"])
display(Markdown(f"**{dataset}{SYN}**, preset `{preset}`, seed {seed}; percent, EMG→text ± bootstrap std, "
                 "text→EMG ± standard error over 100 episodes. Read from the result JSON files in "
                 f"`{next(iter(outs.values())).results_folder}`."))
table'''),
    ("code", '''for p, o in outs.items():
    r = o.results["myosem"]
    if "heldout" in r:
        h = r["heldout"]
        display(Markdown(f"**`{p}` protocol, held-out classes** ({', '.join(h['classes'])}): MyoSem R@3 over all "
                         f"{h['emg_to_text_all_candidates']['n_candidates']} candidates "
                         f"{100 * h['emg_to_text_all_candidates']['R@3']:.1f} %, over the held-out candidates only "
                         f"{100 * h['emg_to_text_heldout_candidates']['R@3']:.1f} % "
                         f"(R@1 {100 * h['emg_to_text_heldout_candidates']['R@1']:.1f} %, chance "
                         f"{100 / h['emg_to_text_heldout_candidates']['n_candidates']:.0f} %)."))'''),
    ("md", """## The cross-user quality bar
The `user` protocol trains on S1–S4, S7–S16 and tests on S17–S20, people the model never saw. The bar:
MyoSem's EMG→text R@1 and R@3 above LDA on the same windows. With the default setting MyoSem does not clear it
(notebook 05, column `user`). The setting below was chosen on a development split inside the training
subjects (`scripts/user_dev_selection.py`: train S1–S4, S7–S12, test S13–S16), never on S17–S20:

- **per-subject gain calibration** of every model's windows: each channel is divided by that user's own median
  level. It reads each user's *unlabeled* windows, so it is transductive; the second row estimates the gains
  from repetition 1 only, as a short calibration session would.
- **early stopping on whole training subjects** (the last two, S15 and S16) instead of their repetition 10,
  with the `quick` model sizes whatever the book's preset (the `full` encoder generalises worse across people
  on the development split).

Two LDA anchors: fitted on MyoSem's own training windows, and fitted on every training subject (LDA has
nothing to validate, so it may use S15 and S16 too)."""),
    ("code", '''from myosem_core.evaluation.user_bar import BAR_SETTINGS, bar_verdicts, run_user_bar, save_user_bar

bar_seeds = bar_seeds or ([seed] if preset == "quick" else [0, 1, 2])
bar_rows = run_user_bar(dataset, data_dir, bar_seeds, run_dir)
bar_path = save_user_bar(bar_rows, dataset, run_dir)
fig, axes = plt.subplots(1, len(BAR_SETTINGS), figsize=(6.5 * len(BAR_SETTINGS), 3.8), squeeze=False, sharey=True)
for ax, setting in zip(axes[0], BAR_SETTINGS):
    vr.plot_bar_check(bar_rows, setting, title=f"{setting}{SYN}", ax=ax)
plt.tight_layout(); plt.show()
verdicts = pd.DataFrame(bar_verdicts(bar_rows))
for c in ("MyoSem R@1", "MyoSem R@3", "LDA R@1", "LDA R@3"):
    verdicts[c] = (100 * verdicts[c]).round(1)
display(Markdown(f"**{dataset}{SYN}**, `user` protocol, seeds {bar_seeds}; EMG→text, percent, mean over seeds "
                 f"(dots in the figure: single seeds). Read from `{bar_path}`."))
verdicts.set_index(["setting", "anchor"])'''),
    ("code", '''per_seed = pd.DataFrame(bar_rows).drop(columns=["val_subjects"], errors="ignore")
metric_cols = [c for c in per_seed.columns if c.startswith(("E→T", "T→E"))]
per_seed[metric_cols] = (100 * per_seed[metric_cols]).round(1)
per_seed.set_index(["setting", "model", "seed"])'''),
    ("md", """## EMG class centres against the prototypes, before and after alignment
Rows: the mean embedding of each class's test windows; columns: the class prototypes. "Before" is the same
trained encoder with a freshly initialised Stage-3 head."""),
    ("code", '''p0 = protocols[0]
o = outs[p0]
test = o.ws.subset(o.split.test)
before = untrained_stage3(o.stage2, o.prototypes, o.stage3.config, seed)
fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
for ax, (name, run) in zip(axes, [("before alignment", before), ("after alignment", o.stage3)]):
    M = cosine_matrix(class_centres(run.embed(test.X), test.y, o.ws.n_classes), o.prototypes)
    vr.plot_similarity(M, o.ws.class_keys, o.ws.class_keys,
                       f"{name}, {p0}{SYN}\\ndiagonal margin {diagonal_margin(M):.3f}", ax)
    ax.set(xlabel="prototype", ylabel="EMG class centre")
plt.tight_layout(); plt.show()'''),
    ("md", "## UMAP of the test embeddings\nAt most 1500 test windows, coloured by their true class."),
    ("code", '''import umap

rng = np.random.default_rng(seed)
pick = rng.choice(len(test), size=min(1500, len(test)), replace=False)
Z = o.stage3.embed(test.X[pick])
Y = umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=seed, n_jobs=1).fit_transform(Z)
vr.plot_embedding_2d(Y, test.labels[pick], f"test embeddings, {p0}{SYN}"); plt.show()'''),
]

NB04 = [
    ("md", """# 04 · What the semantic queries read

Each of the M semantic queries attends over the token sequence (one token per 0.1 s patch). Below, each
query's attention over time is drawn over the window's per-channel signal (grey, darker = stronger
activation), for test windows of several classes that MyoSem ranks correctly, and then averaged per class."""),
    params(),
    ("code", SETUP + '''
from myosem_core.pipeline import run_myosem
o = run_myosem(cfg, protocol, runs=run_dir, baselines=())
test = o.ws.subset(o.split.test)
att = o.stage3.attention(test.X)        # (N, M, P)
scores = o.stage3.scores(test.X)        # (N, K)
display(Markdown(f"**{dataset}{SYN}**, protocol `{protocol}`: {att.shape[1]} queries over {att.shape[2]} patches"))'''),
    ("code", '''rng = np.random.default_rng(seed)
classes = [k for k in range(o.ws.n_classes) if np.any(test.y == k)][::max(1, o.ws.n_classes // 6)][:6]
fig, axes = plt.subplots(len(classes), 1, figsize=(9, 2.6 * len(classes)))
for ax, k in zip(np.atleast_1d(axes), classes):
    idx = np.flatnonzero(test.y == k)
    good = idx[scores[idx].argmax(1) == k]
    i = int(rng.choice(good if len(good) else idx))
    vr.plot_query_attention(test.X[i], att[i], test.fs, f"{vr._name(o.ws.class_keys[k])} (window {i}, "
                            f"{'correct' if scores[i].argmax() == k else 'wrong'} top-1){SYN}", ax,
                            list(test.channel_names))
plt.tight_layout(); plt.show()'''),
    ("md", "## Mean attention profile per class\nFor each query, its attention over the patches averaged over the test windows of each class."),
    ("code", '''M = att.shape[1]
fig, axes = plt.subplots(1, M, figsize=(3.6 * M, 4.5), squeeze=False)
for m in range(M):
    prof = np.stack([att[test.y == k, m].mean(0) if np.any(test.y == k) else np.full(att.shape[2], np.nan)
                     for k in range(o.ws.n_classes)])
    ax = axes[0, m]
    im = ax.imshow(prof, aspect="auto", cmap="magma")
    ax.set_yticks(range(o.ws.n_classes), [vr._name(c) for c in o.ws.class_keys], fontsize=7)
    ax.set(xlabel="patch (0.1 s)", title=f"query {m + 1}{SYN}")
plt.tight_layout(); plt.show()'''),
]

NB09 = [
    ("md", """# 09 · Retrieval explorer

Pick a test window and see the descriptions MyoSem ranks for it, beside its signal; or type **any**
sentence — it is embedded by the Stage-1 text encoder — and see the closest test windows with their true
labels.

**Live explorer.** In the static book the widgets below show their initial state only. To type your own
sentences, run `make explore DATA_DIR=../shared/data/ninapro-db1` and open <http://localhost:8866>: it serves
this notebook with Voilà on your machine, reading the trained runs (and training them first if absent)."""),
    params(),
    ("code", SETUP + '''
from myosem_core.pipeline import run_myosem
from myosem_core.retrieval import RetrievalIndex, free_text_to_emg
from myosem_core.text.benchmark import load_benchmark
from myosem_core.viz.explorer import explorer, fixed_queries

o = run_myosem(cfg, protocol, runs=run_dir, baselines=())
test = o.ws.subset(o.split.test)
descriptions = {v.key: v.canonical for v in getattr(o.text_space, "views", [])}
index = RetrievalIndex.from_run(o.stage3, test, o.text_space, descriptions)
display(Markdown(f"Index: {len(test)} test windows of **{dataset}{SYN}**, protocol `{protocol}`."))'''),
    ("md", """## Fixed queries (these are in the static book too)

The three sentences a first reader tried (issue 15: before, "straighten the index finger" returned index
*flexion* windows and "move the thumb toward the palm" returned thumb extension), each with the class a person
means by it. They are not chosen to be easy; the free-text benchmark below measures all such sentences."""),
    ("code", '''fixed = [("bend the ring finger", "ring flexion"), ("straighten the index finger", "index extension"),
         ("move the thumb toward the palm", "thumb flexion")]
keys = {vr._name(k): k for k in o.ws.class_keys}
fixed = [(s, keys.get(c, c)) for s, c in fixed if c in keys]
if fixed:
    display(fixed_queries(index, fixed, k=5))
for sentence, _ in fixed[:2]:
    display(Markdown(f"**“{sentence}”**"))
    display(index.search_text(sentence, k=5).round(3))'''),
    ("md", """## The free-text benchmark, end to end

Every sentence of the free-text benchmark (`myosem_core/text/benchmarks/free_text_ninapro.yaml`, written
before any tuning, never seen by training) queries the test windows; the share of its top-5 windows that show
the movement it describes, averaged over the sentences, overall and per kind of phrasing."""),
    ("code", '''bench = [s for s in load_benchmark() if s.class_key in set(o.ws.class_keys)]
if bench:
    e2e = free_text_to_emg(index, bench, k=5)
    display(Markdown(f"**{100 * e2e['top5_right']:.1f} %** of the top-5 windows show the right movement over "
                     f"{e2e['n_sentences']} sentences (top-1 window right for {100 * e2e['top1_right']:.1f} %){SYN}."))
    display(pd.Series({k: round(100 * v, 1) for k, v in e2e["by_kind"].items()}, name="top-5 right, %").to_frame())
else:
    display(Markdown(f"The free-text benchmark has no sentences for the classes of **{dataset}**{SYN}."))'''),
    ("code", '''i0 = int(np.flatnonzero(test.y == test.y[0])[0])
display(Markdown(f"Window {i0}, true class **{vr._name(test.labels[i0])}**"))
index.search_emg(i0, k=5).round(3)'''),
    ("md", "## Interactive\nType a sentence and press Enter, or move the window slider (live under Jupyter or `make explore`)."),
    ("code", '''explorer(index, title=f"{dataset}{SYN}, protocol {protocol}")'''),
]


def main() -> None:
    for name, cells in (("02_emg_encoder", NB02), ("03_alignment_retrieval", NB03), ("04_semantic_queries", NB04),
                        ("09_retrieval_explorer", NB09)):
        path = REPO / "notebooks" / f"{name}.ipynb"
        nbformat.write(notebook(cells), path)
        print("wrote", path.relative_to(REPO))


if __name__ == "__main__":
    main()
