"""Figures of the MyoSem chapters: training curves, gates, codebook use, similarity heatmaps, UMAP,
query attention over the per-channel signal, and retrieval result tables."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..data.catalog import display_name


def _ax(ax=None, figsize=(6, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_curves(curves: list[dict], keys=("train_total", "val_total"), title: str = "", ax=None):
    """Per-epoch values of ``keys`` from a run's ``curves.json``."""
    ax = _ax(ax)
    epochs = [r["epoch"] for r in curves]
    for k in keys:
        ax.plot(epochs, [r.get(k) for r in curves], marker="o", ms=3, label=k)
    if curves and "phase" in curves[0]:
        switch = [r["epoch"] for r in curves if r["phase"] == "finetune"]
        if switch:
            ax.axvline(switch[0] - 0.5, color="grey", ls="--", lw=1, label="phase 2: encoder unfrozen")
    ax.set(xlabel="epoch", title=title)
    ax.legend(fontsize=8)
    return ax


def plot_gates(curves: list[dict], title: str = "descriptor gates", ax=None):
    """The three learnable gates (RMS, envelope, waveform length) over the epochs."""
    ax = _ax(ax)
    epochs = [r["epoch"] for r in curves]
    for name in curves[0]["gates"]:
        ax.plot(epochs, [r["gates"][name] for r in curves], marker="o", ms=3, label=name)
    ax.axhline(0, color="k", lw=0.5)
    ax.set(xlabel="epoch", ylabel="gate value", title=title)
    ax.legend(fontsize=8)
    return ax


def plot_codebook_usage(codes: np.ndarray, codebook_size: int, title: str = "codebook usage", ax=None):
    """Share of tokens per codebook entry, sorted; the title gives the perplexity (effective entries)."""
    ax = _ax(ax)
    counts = np.bincount(np.asarray(codes).ravel(), minlength=codebook_size).astype(float)
    p = counts / counts.sum()
    nz = p[p > 0]
    perplexity = float(np.exp(-(nz * np.log(nz)).sum()))
    ax.bar(np.arange(codebook_size), np.sort(p)[::-1], color="tab:blue")
    ax.set(xlabel="entry (sorted by use)", ylabel="share of tokens",
           title=f"{title}: {int((counts > 0).sum())}/{codebook_size} used, perplexity {perplexity:.1f}")
    return ax


def plot_similarity(M: np.ndarray, rows, cols, title: str = "", ax=None, vmin=None, vmax=None, cmap="viridis"):
    """Heatmap of a (rows x cols) similarity matrix with class names as tick labels."""
    ax = _ax(ax, (6.5, 5.5))
    im = ax.imshow(M, cmap=cmap, vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(cols)), [display_name(c) for c in cols], rotation=70, fontsize=7)
    ax.set_yticks(range(len(rows)), [display_name(r) for r in rows], fontsize=7)
    ax.set_title(title, fontsize=10)
    plt.colorbar(im, ax=ax, fraction=0.046)
    return ax


def plot_embedding_2d(Y: np.ndarray, labels, title: str = "", ax=None):
    """2-D scatter (e.g. UMAP) coloured by class."""
    ax = _ax(ax, (6.5, 5.5))
    labels = np.asarray(labels)
    for i, k in enumerate(sorted(pd.unique(labels), key=_natural)):
        m = labels == k
        ax.scatter(Y[m, 0], Y[m, 1], s=5, alpha=0.6, color=plt.cm.tab20(i % 20), label=display_name(k))
    ax.set(title=title, xticks=[], yticks=[])
    ax.legend(fontsize=6, markerscale=3, loc="best", ncol=2)
    return ax


def plot_query_attention(window: np.ndarray, attention: np.ndarray, fs: float, title: str = "", ax=None,
                         channel_names=None):
    """Per-channel RMS of a window as a heatmap (channels x time) with each query's attention over time on top."""
    ax = _ax(ax, (7, 3.5))
    L, C = window.shape
    M, P = attention.shape
    t = np.arange(L) / fs
    ax.imshow(window.T, aspect="auto", origin="lower", cmap="Greys", extent=(0, L / fs, -0.5, C - 0.5))
    ax.set_yticks(range(C), channel_names or [f"ch{i + 1}" for i in range(C)], fontsize=6)
    ax2 = ax.twinx()
    centres = (np.arange(P) + 0.5) * (L / P) / fs
    for m in range(M):
        ax2.step(np.r_[0, centres + 0.5 * L / P / fs], np.r_[attention[m, 0], attention[m]], where="pre",
                 lw=1.5, label=f"query {m + 1}")
    ax2.set_ylim(0, max(0.01, float(attention.max()) * 1.15))
    ax2.set_ylabel("attention")
    ax2.legend(fontsize=6, loc="upper right")
    ax.set(xlabel="time (s)", title=title, xlim=(0, t[-1] + 1 / fs))
    return ax


def plot_window(window: np.ndarray, fs: float, title: str = "", ax=None, channel_names=None):
    """Each channel of a window as a line (offset for readability)."""
    ax = _ax(ax, (6, 3))
    t = np.arange(window.shape[0]) / fs
    span = float(np.ptp(window)) or 1.0
    for c in range(window.shape[1]):
        ax.plot(t, window[:, c] + c * span * 0.6, lw=1)
    ax.set_yticks([c * span * 0.6 for c in range(window.shape[1])],
                  channel_names or [f"ch{c + 1}" for c in range(window.shape[1])], fontsize=6)
    ax.set(xlabel="time (s)", title=title)
    return ax


def plot_bar_check(rows: list[dict], setting: str, metrics=("E→T R@1", "E→T R@3"), title: str = "", ax=None):
    """One setting of the user quality bar: mean per model and metric as bars, each seed as a dot."""
    ax = _ax(ax, (6, 3.5))
    sel = [r for r in rows if r["setting"] == setting]
    models = list(dict.fromkeys(r["model"] for r in sel))
    width = 0.8 / max(1, len(models))
    for j, model in enumerate(models):
        vals = np.array([[r[m] for m in metrics] for r in sel if r["model"] == model]) * 100
        x = np.arange(len(metrics)) + (j - (len(models) - 1) / 2) * width
        ax.bar(x, vals.mean(0), width, label=model, alpha=0.8)
        for v in vals:
            ax.plot(x, v, "k.", ms=4)
    ax.set_xticks(np.arange(len(metrics)), metrics)
    ax.set(ylabel="%", title=title or setting)
    ax.legend(fontsize=7, loc="lower right")
    return ax


def _natural(key):
    prefix, _, last = str(key).rpartition("/")
    return (prefix, int(last)) if last.isdigit() else (prefix, 0)




def plot_penalty_choice(choices: dict, title: str = "", ax=None):
    """Calibrated stacking's choice (:func:`myosem_core.calibrated_stacking.choose_penalty`), per seed: top-1 of
    trained-class and of untrained-class windows against the penalty; the chosen penalty dotted.

    ``choices``: ``{seed: choice}``.
    """
    ax = _ax(ax, (6.5, 3.8))
    for i, (seed, choice) in enumerate(sorted(choices.items())):
        g = [r["gamma"] for r in choice["curve"]]
        colour = f"C{i}"
        ax.plot(g, [100 * r["seen_top1"] for r in choice["curve"]], "-", color=colour, label=f"seed {seed}: trained")
        ax.plot(g, [100 * r["unseen_top1"] for r in choice["curve"]], "--", color=colour, label=f"seed {seed}: untrained")
        ax.axvline(choice["gamma"], color=colour, ls=":", lw=1)
    ax.set_xlabel("penalty on the trained classes' cosines")
    ax.set_ylabel("top-1 over all candidates (%)")
    ax.set_title(title or "penalty chosen on pseudo-held-out classes (no test window)")
    ax.legend(fontsize=7, ncol=2)
    return ax


def plot_reliability(tables: dict[str, list[dict]], eces: dict[str, float] | None = None, title: str = "", ax=None):
    """Reliability diagram: per bin of shown probability (:func:`myosem_core.score_calibration.reliability`
    records), the fraction of windows that were right against the mean probability shown, one line per
    ranking; the diagonal is perfect calibration, the marker area the number of windows in the bin."""
    ax = _ax(ax, (4.5, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", lw=1, ls="--", label="perfectly calibrated")
    for i, (name, rows) in enumerate(tables.items()):
        if not rows:
            continue
        p = np.array([r["mean_probability"] for r in rows])
        f = np.array([r["fraction_right"] for r in rows])
        n = np.array([r["n"] for r in rows], float)
        label = name if not eces or eces.get(name) is None else f"{name} (ECE {eces[name]:.3f})"
        ax.plot(p, f, "-", color=plt.cm.tab10(i), lw=1, alpha=0.7)
        ax.scatter(p, f, s=20 + 200 * n / n.max(), color=plt.cm.tab10(i), alpha=0.7, label=label)
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="probability shown", ylabel="fraction of windows that were right",
           title=title)
    ax.legend(fontsize=7, loc="upper left")
    return ax


def plot_new_user_checks(records: list[dict], settings: tuple[str, ...], axes=None):
    """One panel per new-user setting: MyoSem's EMG→text R@1 on each set of held-out users (bars, ± std over
    seeds), the strongest other row of the same windows (a tick) and the target (dashed). ``records`` as
    ``myosem_experiments.evaluation.new_user.check_records``."""
    import matplotlib.pyplot as plt

    shown = [s for s in settings if any(r["setting"] == s for r in records)]
    if axes is None:
        _, axes = plt.subplots(1, len(shown), figsize=(4 * len(shown), 3.4), squeeze=False, sharey=True)
        axes = axes[0]
    for ax, setting in zip(axes, shown):
        sel = [r for r in records if r["setting"] == setting]
        x = np.arange(len(sel))
        ax.bar(x, [100 * r["mine"]["E→T R@1"] for r in sel], yerr=[100 * r["mine"]["E→T R@1 std"] for r in sel],
               color="C0", alpha=0.8, ecolor="0.55", label="MyoSem")
        for i, r in enumerate(sel):
            if r["other"] is not None:
                ax.plot(i, r["other"][1][0], "k_", ms=22, mew=2.5, label="strongest other row" if i == 0 else None)
        ax.axhline(sel[0]["target R@1"], color="C3", ls="--", lw=1, label="target")
        ax.set_xticks(x, [r["users"].replace(" (test)", "\n(test)").replace("mean of the sets above", "mean")
                          for r in sel], fontsize=8)
        ax.set(title=setting, ylabel="EMG→text R@1 (%)" if ax is axes[0] else "")
    axes[0].legend(fontsize=7, loc="upper left")
    return axes


def plot_new_user_methods(summary: list[dict], setting: str, title: str = "", ax=None):
    """Development R@1 of every method tried under one new-user setting: MyoSem as bars (± std over seeds),
    LDA on the same windows as a tick, and LDA fitted on the user's windows alone (``LDA-user``) as a cross;
    ``summary`` rows as ``myosem_experiments.evaluation.new_user.summarise``."""
    sel = [s for s in summary if s["setting"] == setting and s["stage"] == "dev"]
    mine = [s for s in sel if s["model"] == "MyoSem"]
    lda = {(s["candidate"], s["adaptation"] if s["adaptation"] in ("none",) else "adapted"): s for s in sel
           if s["model"] == "LDA"}
    own = {s["candidate"]: s for s in sel if s["model"] == "LDA-user"}
    ax = _ax(ax, (6.5, 0.28 * len(mine) + 1.2))
    y = np.arange(len(mine))
    ax.barh(y, [100 * s["E→T R@1"] for s in mine], xerr=[100 * s["E→T R@1 std"] for s in mine], alpha=0.8,
            label="MyoSem", color="C0")
    drawn = False
    for i, s in enumerate(mine):
        ref = lda.get((s["candidate"], "none" if s["adaptation"] == "none" else "adapted"))
        if ref is not None:
            ax.plot(100 * ref["E→T R@1"], i, "k|", ms=10, mew=2, label="LDA" if i == 0 else None)
        if s["adaptation"] != "none" and s["candidate"] in own:
            ax.plot(100 * own[s["candidate"]]["E→T R@1"], i, "x", color="C3", ms=6, mew=1.5,
                    label=None if drawn else "LDA on the user's windows alone")
            drawn = True
    ax.set_yticks(y, [f"{s['candidate']} + {s['adaptation']}" for s in mine], fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel="EMG→text R@1 on S13–S16 (%)", title=title or setting)
    ax.legend(fontsize=7, loc="best")
    return ax
