"""Figures and tables of the text-space chapter (MyoSem Stage 1).

Everything here reads what Stage 1 saved (results JSON, embeddings), so the
numbers in the book are the ones the core computed.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from myosem_core.data.catalog import display_name
from myosem_core.evaluation.projection import umap_2d

_GROUPS = {"all": "all classes", "seen": "seen classes", "heldout": "held-out classes",
           "heldout_only_candidates": "held-out classes, held-out candidates only"}




def views_table(views, keys: list[str] | None = None, n_paraphrases: int = 2) -> pd.DataFrame:
    """One row per class: label, process, canonical and the first paraphrases (the four views)."""
    rows = []
    for v in views:
        if keys is not None and v.key not in keys:
            continue
        rows.append({"class": v.key, "label": v.label, "process (from pose)": v.process or "(no training pose data)",
                     "canonical": v.canonical,
                     "paraphrases": " | ".join(v.paraphrases[:n_paraphrases]) + f" (+{len(v.paraphrases) - n_paraphrases} more)"})
    return pd.DataFrame(rows).set_index("class")


def plot_view_consistency(results: dict, title: str = "", heldout_classes=(), axes=None):
    """Before/after heatmaps of the cross-view class similarity matrix (diagonal = same class)."""
    keys = results["class_keys"]
    names = [display_name(k) + (" *" if k in set(heldout_classes) else "") for k in keys]
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), constrained_layout=True)
    mats = [np.asarray(results[s]["consistency"]["class_matrix"]) for s in ("before", "after")]
    vmin, vmax = min(m.min() for m in mats), max(m.max() for m in mats)
    for ax, state, m in zip(axes, ("before", "after"), mats):
        c = results[state]["consistency"]
        sns.heatmap(m, ax=ax, cmap="viridis", vmin=vmin, vmax=vmax, square=True, xticklabels=names, yticklabels=names,
                    cbar_kws={"label": "mean cosine, different views", "shrink": 0.8})
        ax.set_title(f"{state} fine-tuning: same class {c['same_class_mean']:.2f}, other {c['other_class_mean']:.2f}",
                     fontsize=10)
        ax.tick_params(labelsize=7)
    if title:
        axes[0].figure.suptitle(title)
    return axes


def plot_text_umap(embeddings: dict, class_keys, state: str = "after", title: str = "", ax=None, seed: int = 0,
                   heldout_classes=()):
    """UMAP of every view text's embedding, coloured by class, marker by view."""
    emb = embeddings[state]
    xy = umap_2d(emb, seed=seed)
    ax = ax or plt.subplots(figsize=(8, 6.5))[1]
    palette = sns.color_palette("tab20", len(class_keys))
    markers = {"label": "s", "process": "*", "canonical": "D", "paraphrase": "o", "heldout": "x"}
    cls, view = embeddings["class_index"], embeddings["view"]
    for v, m in markers.items():
        sel = view == v
        if sel.any():
            ax.scatter(xy[sel, 0], xy[sel, 1], c=[palette[c] for c in cls[sel]], marker=m, s=60 if m == "*" else 28,
                       linewidths=1 if m == "x" else 0.3, edgecolors="k" if m != "x" else None, label=v)
    for c, key in enumerate(class_keys):
        p = np.median(xy[cls == c], axis=0)
        ax.annotate(display_name(key) + (" *" if key in set(heldout_classes) else ""), p, fontsize=7, ha="center",
                    color=palette[c], weight="bold")
    ax.legend(title="view", fontsize=7, loc="best")
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_title(title or f"UMAP of view embeddings ({state} fine-tuning)")
    return ax


def retrieval_table(results_by_protocol: dict[str, dict]) -> pd.DataFrame:
    """Held-out paraphrase -> class retrieval, before vs after fine-tuning, per protocol and class group."""
    rows = []
    for proto, res in results_by_protocol.items():
        for group, label in _GROUPS.items():
            if group not in res["after"]["retrieval"]:
                continue
            b, a = res["before"]["retrieval"][group], res["after"]["retrieval"][group]
            rows.append({"protocol": proto, "queries": label, "n queries": a["n_queries"],
                         "candidates": a["n_candidates"], "R@1 before": b["R@1"], "R@1 after": a["R@1"],
                         "MRR before": b["MRR"], "MRR after": a["MRR"]})
    return pd.DataFrame(rows).set_index(["protocol", "queries"])


def free_text_table(results: dict, name: str = "benchmark") -> pd.DataFrame:
    """Free-text sentences -> class, frozen vs fine-tuned encoder: R@1/R@3/MRR overall and per kind of phrasing.

    ``results`` is a Stage-1 results dict; ``name`` ``benchmark`` (the held-out test set) or ``dev``.
    Empty when the run has no free-text benchmark (e.g. synthetic classes).
    """
    ft = results.get("free_text", {})
    if name not in ft.get("after", {}):
        return pd.DataFrame()
    b, a = ft["before"][name], ft["after"][name]
    rows = []
    for group, x, y in [("all", b["all"], a["all"])] + [(k, b["by_kind"][k], a["by_kind"][k]) for k in a["by_kind"]]:
        row = {"phrasing": group, "sentences": y["n_queries"], "candidates": y["n_candidates"]}
        for m in ("R@1", "R@3", "MRR"):
            row[f"{m} frozen"], row[f"{m} fine-tuned"] = x[m], y[m]
        rows.append(row)
    return pd.DataFrame(rows).set_index("phrasing")


def plot_retrieval(results_by_protocol: dict[str, dict], title: str = "", ax=None):
    """Grouped bars: R@1 and MRR before vs after fine-tuning, per protocol and class group."""
    df = retrieval_table(results_by_protocol).reset_index()
    df["group"] = df["protocol"] + "\n" + df["queries"].str.replace(", ", ",\n")
    long = df.melt(id_vars="group", value_vars=["R@1 before", "R@1 after", "MRR before", "MRR after"],
                   var_name="metric", value_name="value")
    ax = ax or plt.subplots(figsize=(10, 4))[1]
    sns.barplot(long, x="group", y="value", hue="metric", ax=ax,
                palette=["#9ecae1", "#3182bd", "#fdae6b", "#e6550d"])
    ax.set_ylim(0, 1)
    ax.set_xlabel("")
    ax.set_ylabel("held-out paraphrase -> class")
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=8, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.25))
    ax.set_title(title or "Held-out paraphrase retrieval before vs after Stage-1 fine-tuning")
    return ax


def plot_loss(history: list[dict], title: str = "", ax=None):
    """Stage-1 training loss and its terms per step."""
    df = pd.DataFrame(history).set_index("step").drop(columns=["seconds"], errors="ignore")
    ax = ax or plt.subplots(figsize=(6, 3))[1]
    df.plot(ax=ax)
    ax.set_ylabel("loss")
    ax.set_title(title or "Stage-1 fine-tuning loss")
    return ax
