"""Write the source notebook of chapter 07, EMBridge (outputs cleared).

    .venv/bin/python scripts/make_embridge_notebook.py

Cells stay short: they import the core, call it, and plot with myosem_core.viz.embridge.
Every number shown is read from the results JSON that the core writes.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgen import notebook

REPO = Path(__file__).resolve().parents[1]

PARAMETERS = '''dataset = "synthetic"   # or "ninapro-db1"
data_dir = None         # folder of the dataset files
protocol = "rand"       # unused here: this chapter always reports the "class" and "user" protocols
preset = "quick"        # quick (CI), full (book) or paper (the paper's model sizes, hours on CPU)
seed = 0
run_dir = None          # None -> myosem_core.paths.runs_root()'''

SETUP = '''import warnings

import numpy as np
import torch
from IPython.display import Markdown, display

from myosem_core.config import make_config
from myosem_core.data.protocols import make_split
from myosem_core.evaluation import embridge_report as rep
from myosem_core.evaluation.projection import umap_2d
from myosem_core.io import read_json
from myosem_core.prepare import load_config_windows
from myosem_core.threads import set_threads
from myosem_core.training.embridge import (EMBridgeConfig, evaluation_sets, load_or_train_aligner,
                                           run_embridge_experiments)
from myosem_core.viz import embridge as ve

set_threads(1)  # the machine is shared; one thread is also the fastest under load
warnings.filterwarnings("ignore", category=UserWarning)
cfg = make_config("full" if preset == "paper" else preset, dataset, data_dir, seed)  # "paper": full windows
ecfg = EMBridgeConfig.preset_named(preset)
ws = load_config_windows(cfg)
SYN = ws.is_synthetic
T = lambda title: ve.tag(title, SYN)
print(f"{len(ws)} windows of {ws.X.shape[1] / ws.fs:g} s: EMG {ws.X.shape[1:]}, pose ({ws.pose_kind}) {ws.pose.shape[1:]}")'''

INTRO = '''# 07 · EMBridge: EMG anchored on a frozen pose encoder

MyoSem aligns EMG with *text*. EMBridge (ICLR 2026) aligns EMG with *hand pose*: the CyberGlove
stream recorded with NinaPro's EMG is a cleaner, more structured view of the same movement, so a
frozen pose encoder can serve as the anchor that organises the EMG embedding space.

1. **Two masked autoencoders**, pre-trained separately on the training windows: one on EMG, one
   on the 22 glove sensors. Each is a Transformer over non-overlapping temporal patches; half
   of the patches are masked and rebuilt (MSE on the masked patches only).
2. **CPEP** (the CLIP-style baseline): the EMG encoder's [CLS] token, projected, is pulled
   towards the paired window's pose embedding by InfoNCE (EMG → pose; the pose side is frozen).
3. **EMBridge**: a *Q-Former* — 16 learnable queries, self-attention blocks copied from the pose
   encoder, cross-attention to the EMG tokens in every other block — trained with
   InfoNCE on the query closest to the paired pose, plus
   **MPRL** (a second pass in which masked pose tokens may read the queries only, never the
   EMG, and must be rebuilt from them) and **CASCLe** (soft targets from k-means communities of
   pose embeddings: a pose's affinities to its top-k_c communities, pose-pose similarity = their
   product, self removed, softmax with temperature τ_s).
   Loss = InfoNCE + α·CASCLe + λ·MPRL.

**Evaluation** (balanced accuracy). *Zero-shot* (ZS): each EMG window votes with the labels of its
10 most similar pose windows of the evaluation split (their frozen pose embeddings; a window
with several queries uses its best query per pose). *Linear probe* (LP): logistic regression on
frozen, query-averaged embeddings. *Upper bound*: the same probe on the pose encoder.
On DB1 exercise 1 the `class` protocol gives **seen gestures** (probe fitted on the training
windows, evaluated on repetitions 2, 5, 7 of the 8 training gestures) and **unseen gestures**
(index extension, ring flexion, little-finger extension, thumb flexion: never seen by any
model; probe fitted on their other repetitions, evaluated on 2, 5, 7); the `user` protocol gives
**unseen users** (trained on S1–S4, S7–S16, evaluated on S17–S20). The zero-shot pose corpus
is the evaluation split itself, so it contains each EMG window's own paired pose, as in the
paper.'''

GRID = '''a = ecfg.align
display(Markdown(
    f"**Preset `{ecfg.preset}`** — MAEs: d = {ecfg.pose.d_model}, {ecfg.pose.n_layers} encoder + "
    f"{ecfg.pose.decoder_layers} decoder layers, {ecfg.pose.epochs} epochs, patches of {ecfg.pose.patch_s:g} s; "
    f"alignment: {a.epochs} epochs, batch {a.batch_size}, lr {a.lr:g}, {a.n_queries} queries, "
    f"{a.n_clusters} communities, k_c = {a.k_c}, τ_s = {a.tau_s:g}, α = {a.alpha:g}, λ = {a.lam:g}.  \\n"
    f"Main table, `class`: {', '.join(ecfg.main_models)}; `user`: {', '.join(ecfg.user_models)}.  \\n"
    f"Ablations: {', '.join(ecfg.ablations)}. Batch sizes {list(ecfg.batch_sizes)} for {', '.join(ecfg.batch_models)}; "
    f"paired-data fractions {list(ecfg.fractions)}; τ_s ∈ {list(ecfg.tau_s_grid)}; k_c ∈ {list(ecfg.k_c_grid)}."))'''

PRESET_NOTE = '''**Quick vs full.** CI runs this notebook with `preset="quick"` on the real DB1 data in a few
minutes on 2 CPU cores, so the quick preset trains only a few epochs and runs a *reduced grid*
(printed above: fewer models in the main table, one ablation, one extra point per grid and per
sweep); its numbers are a smoke test of the pipeline, not results. The book is built with
`preset="full"`: the whole grid — every main-table model, all five ablations, batch sizes
256/512/1024 for CPEP, Q-Former and EMBridge, 20–100 % of the paired data, the τ_s and k_c
sweeps — at model sizes that fit 2 CPU cores. The paper's sizes are the preset `"paper"`
(hours on a CPU). All runs are cached by config hash, so a second execution only reads them.'''

RUN = '''out = run_embridge_experiments(cfg, ws, ecfg, runs=run_dir)
res = read_json(out["path"])  # everything below is read from this file
print(out["path"])'''

MAIN_MD = '''## Main table

Rows: the upper bound (linear probe on the frozen pose encoder), the EMG-only MAE, and the
aligned models. "(per-pair max)" rows replace the paper's query selection — one query per EMG
window, chosen with its *paired* pose, scores all poses of the batch — by BLIP-2's: the score of
every (EMG, pose) pair is its best query's. That is the score zero-shot retrieval uses at test
time, when the paired pose is unknown.'''

MAIN = '''ve.style_table(rep.main_table(res), T("Balanced accuracy on DB1 exercise 1 (LP = linear probe, ZS = 10-NN zero-shot)"))'''

SUMMARY = '''m = rep.main_table(res)
lines = []
for s in [c for c in ("Seen gestures", "Unseen gestures", "Unseen users") if (c, "ZS") in m.columns]:
    zs = m[(s, "ZS")].dropna()
    best = zs.idxmax()
    lines.append(f"- **{s}**: best zero-shot model {best} ({zs[best]:.3f}); "
                 + ", ".join(f"{k} {v:.3f}" for k, v in zs.items() if k != best))
display(Markdown("\\n".join(lines)))'''

ABL_MD = '''## Ablations (class protocol)

Each row removes one component from EMBridge: *w/o Q-Former* is CPEP + CASCLe (MPRL needs the
queries), *w/o MPRL* and *w/o CASCLe* drop one loss; *Label smoothing* and *SoftCLIP* replace
InfoNCE + α·CASCLe by label-smoothed InfoNCE (ε = 0.1) or by InfoNCE + α·soft cross-entropy on
*instance-level* pose-pose similarities.'''

ABL = '''ve.style_table(rep.ablation_table(res), T("EMBridge ablations, balanced accuracy"))'''

ABL_DIFF = '''a = rep.ablation_table(res)
delta = (a.drop(index="EMBridge") - a.loc["EMBridge"]).round(3)
display(Markdown("Change against EMBridge (positive = the variant scores higher):"))
delta'''

BATCH_MD = '''## Batch size

A bigger batch holds more same-gesture poses, which plain InfoNCE treats as negatives; the
soft targets of CASCLe should make EMBridge less sensitive to that. The number of epochs is
fixed, so a bigger batch also means fewer optimiser steps.'''

BATCH = '''ve.plot_grid(rep.grid_table(res, "batch_size", "batch_size"), "batch_size", T("Batch-size robustness"),
             "batch size", log_x=True);'''

EFF_MD = '''## Data efficiency

EMBridge trained on a fraction of the paired training data (whole repetitions drawn per gesture;
the two MAEs keep the full training set, as unpaired data would).'''

EFF = '''ve.plot_grid(rep.grid_table(res, "data_efficiency", "data_fraction"), "data_fraction",
             T("EMBridge with 20-100 % of the paired data"), "fraction of paired training data");'''

SENS_MD = '''## Sensitivity to τ_s and k_c

Both shape the CASCLe soft targets: a small τ_s concentrates the mass on the closest
community neighbours (towards supervised-contrastive hard positives), a large k_c lets distant
communities contribute. One is varied at a time, the other kept at its default.'''

SENS = '''ve.plot_sensitivity(rep.sensitivity_table(res), T("EMBridge sensitivity (class protocol)"));'''

SOFT_MD = '''What the soft targets look like on one batch of 64 training windows (sorted by gesture;
rows = EMG windows, columns = poses, diagonal excluded): CASCLe at two temperatures and two k_c,
and the instance-level SoftCLIP targets.'''

SOFT = '''split = make_split(ws, "class")
emb = load_or_train_aligner(cfg, ws, split, ecfg, "EMBridge", runs=run_dir)  # cached above
rng = np.random.default_rng(seed)
batch = np.sort(rng.choice(split.train, 64, replace=False))
batch = batch[np.argsort(ws.y[batch], kind="stable")]
V = torch.nn.functional.normalize(torch.from_numpy(emb.pose.embed(ws.subset(batch))), dim=-1)
ve.plot_soft_targets(rep.soft_target_examples(emb, ws.subset(split.train), V, seed),
                     T("Soft targets of one batch"));'''

CONF_MD = '''## Zero-shot confusion on unseen gestures

Predictions of the 10-NN vote on the held-out gestures (read from the results file), with
per-class F1 beside each row.'''

CONF = '''import matplotlib.pyplot as plt

names = [n for n in ("CPEP", "EMBridge", "EMBridge (per-pair max)") if n in ecfg.main_models]
fig, axes = plt.subplots(1, len(names), figsize=(7 * len(names), 5))
for ax, name in zip(np.atleast_1d(axes), names):
    y_true, y_pred = rep.zero_shot_predictions(res, name, "unseen")
    ve.plot_confusion(y_true, y_pred, ws.class_keys, T(f"{name}: unseen gestures"), ax=ax)
fig.tight_layout()'''

UMAP_MD = '''## EMG embeddings before and after alignment

UMAP (neighbours computed exactly by scikit-learn and passed to umap-learn) of the EMG-MAE
embeddings before alignment, of EMBridge's query-averaged embeddings after it, and of the
frozen pose anchor, for the evaluation windows of the seen and of the unseen gestures.'''

UMAP = '''for set_name in ("seen", "unseen"):
    _, ev = evaluation_sets(ws, split)[set_name]
    ev = np.sort(np.random.default_rng(seed).choice(ev, min(len(ev), 800), replace=False))
    sub = ws.subset(ev)
    coords = {"EMG-MAE (before)": umap_2d(emb.emg.embed(sub), seed=seed),
              "EMBridge (after)": umap_2d(emb.embed(sub), seed=seed),
              "pose MAE (anchor)": umap_2d(emb.pose.embed(sub), seed=seed)}
    ve.plot_umaps(coords, sub.y, ws.class_keys, T(f"{set_name} gestures: EMG before / after alignment"))'''

TIME_MD = '''## Training times

Wall-clock seconds on the machine that ran the training (shared with other jobs when the book
was built, so wall time can be several times the CPU time) and CPU seconds of the training
process (one thread: the cost on a core of its own). A run that was already cached when this
page was executed shows the times of its original training. Reproduce every table with
`.venv/bin/python scripts/run_embridge.py --preset full --data-dir ../shared/data/ninapro-db1`.

The full grid was kept whole rather than trimmed to the 20-minute aim: on one free core its
training alone takes longer than that (the sum below), because every Q-Former run pushes 16
queries through 4 blocks and the `user` protocol trains on almost twice as many windows. To
shorten it, drop the `user` protocol's LS variants (`EMBridgeConfig.user_models`) or the sweeps,
or give it two threads (`EMBridgeConfig.threads`) on a machine nobody else uses.'''

TIME = '''tt = rep.timing_table(res)
print(f"{len(tt)} distinct trainings")
display(tt.style.format({"train_seconds": "{:.1f}", "train_cpu_seconds": "{:.1f}"}, na_rep="–"))
display(Markdown(f"Total time of the experiment call (training + evaluation, cached runs only read): "
                 f"**{res['total_seconds'] / 60:.1f} min**; CPU time of the training runs listed: "
                 f"**{tt['train_cpu_seconds'].sum() / 60:.1f} min**."))'''

NOTES = '''## How this differs from the paper

- **Data.** The paper pre-trains on emg2pose (2 kHz raw EMG, 20 joint angles) and on NinaPro
  DB2, evaluating on DB7. Here everything is DB1 exercise 1: 10-channel RMS EMG and the raw,
  uncalibrated 22-sensor CyberGlove at 100 Hz, 1 s windows. Tokens are 0.1 s patches (10 tokens
  per window and stream); EMG is log-compressed then z-scored, pose z-scored, with training-set
  statistics.
- **Sizes.** Small Transformers (the sizes are printed at the top of this page) with 4 encoder
  blocks, so the Q-Former keeps the paper's 4 blocks; few epochs. The paper's sizes are the
  `"paper"` preset.
- **Optimiser.** AdamW with cosine decay (no warm restarts) and a larger learning rate than the
  paper's 10⁻⁴, which was far too slow for the few epochs that fit on 2 CPU cores. The
  contrastive temperature is learnable.
- **Query selection.** The main EMBridge / Q-Former rows follow the paper (InfoNCE on the query
  closest to the paired pose); the "(per-pair max)" rows use BLIP-2's pairwise maximum.
- **Seeds.** One seed per cell: differences of a few points are within seed-to-seed noise.'''


CELLS = [
    ("md", INTRO), ("code", PARAMETERS, "parameters"), ("code", SETUP), ("code", GRID), ("md", PRESET_NOTE),
    ("code", RUN), ("md", MAIN_MD), ("code", MAIN), ("code", SUMMARY), ("md", ABL_MD), ("code", ABL),
    ("md", BATCH_MD), ("code", BATCH), ("md", EFF_MD), ("code", EFF), ("md", SENS_MD), ("code", SENS),
    ("md", SOFT_MD), ("code", SOFT), ("md", CONF_MD), ("code", CONF), ("md", UMAP_MD), ("code", UMAP),
    ("md", TIME_MD), ("code", TIME), ("md", NOTES),
]

if __name__ == "__main__":
    path = REPO / "notebooks" / "07_embridge.ipynb"
    nbformat.write(notebook(CELLS), path)
    print(f"wrote {path}")
