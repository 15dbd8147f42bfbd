"""The Stage-2 recipe search (``scripts/recipe_search.py``) as a table and a cost figure.

A search file holds one row per candidate, selection split and seed: validation top-1 / top-3 and
the training seconds. Neither reads a test window: ``rand-val`` scores ``rand``'s validation
repetition, ``user-dev`` whole development subjects that the ``user`` protocol never tests on.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from myosem_core.errors import DataError
from myosem_core.io import read_json

ROW_FIELDS = ("candidate", "split", "seed", "top1", "top3", "seconds")


def read_recipe_search(path: str | Path) -> dict:
    """A search results file, checked: ``rows`` with the fields of :data:`ROW_FIELDS`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "recipe search results not found; write them with scripts/recipe_search.py")
    results = read_json(path)
    rows = results.get("rows") if isinstance(results, dict) else None
    if not isinstance(rows, list) or not rows:
        raise DataError(path, "rows", "expected a non-empty list of search rows")
    for i, row in enumerate(rows):
        missing = [f for f in ROW_FIELDS if f not in row]
        if missing:
            raise DataError(path, f"rows[{i}]", f"missing {missing}; every row needs {list(ROW_FIELDS)}")
    return results


def candidate_means(results: dict) -> pd.DataFrame:
    """Top-1 and training seconds per (split, candidate), averaged over the seeds it ran."""
    return pd.DataFrame(results["rows"]).groupby(["split", "candidate"])[["top1", "seconds"]].mean()


def recipe_table(results: dict) -> pd.DataFrame:
    """Top-1 per split (percent, mean over the seeds it ran), their mean, training seconds per split and the
    number of seeds, best mean first.

    Only candidates scored on every split are ranked (the search's own rule); the others sit
    at the bottom with an empty mean."""
    rows = pd.DataFrame(results["rows"])
    top1 = rows.pivot_table(index="candidate", columns="split", values="top1", aggfunc="mean") * 100
    seconds = rows.pivot_table(index="candidate", columns="split", values="seconds", aggfunc="mean")
    table = top1.round(1)
    table["mean top-1"] = top1.mean(axis=1).where(top1.notna().all(axis=1)).round(1)
    for split in seconds.columns:
        table[f"seconds ({split})"] = seconds[split].round(0)
    table["seeds"] = rows.groupby("candidate")["seed"].nunique()
    return table.sort_values("mean top-1", ascending=False, na_position="last")


def plot_budget_frontier(results: dict, reference: str = "base", title: str = ""):
    """Validation top-1 against training seconds, one panel per selection split, one point per candidate
    (mean over its seeds). ``reference`` (the preset's recipe) is circled; a point up and left of it is a
    better recipe at a lower cost. Returns the figure."""
    rows = candidate_means(results).reset_index()
    splits = sorted(rows["split"].unique())
    fig, axes = plt.subplots(1, len(splits), figsize=(6.5 * len(splits), 4), squeeze=False)
    for ax, split in zip(axes[0], splits):
        group = rows[rows["split"] == split]
        ax.scatter(group["seconds"], 100 * group["top1"], color="tab:blue")
        ref = group[group["candidate"] == reference]
        ax.scatter(ref["seconds"], 100 * ref["top1"], s=220, facecolors="none", edgecolors="tab:red", linewidths=1.5,
                   label=f"{reference} (the preset)")
        for _, r in group.iterrows():
            ax.annotate(r["candidate"], (r["seconds"], 100 * r["top1"]), fontsize=7, xytext=(4, 3),
                        textcoords="offset points")
        ax.set(xlabel="training seconds (one thread)", ylabel="validation top-1 (%)", title=split)
        ax.margins(x=0.25, y=0.15)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title or "Stage-2 recipes: accuracy against training cost")
    return fig


def cost_and_gain(results: dict, reference: str = "base") -> pd.DataFrame:
    """Per candidate: its top-1 minus ``reference``'s (points) and its seconds over ``reference``'s,
    per split, from the rows both were scored on."""
    rows = candidate_means(results)
    out = []
    for split in rows.index.get_level_values("split").unique():
        part = rows.loc[split]
        if reference not in part.index:
            continue
        ref = part.loc[reference]
        for name, r in part.iterrows():
            out.append({"split": split, "candidate": name, "gain (points)": round(100 * (r["top1"] - ref["top1"]), 1),
                        "cost (x reference)": round(float(r["seconds"] / ref["seconds"]), 2)
                        if ref["seconds"] > 0 else np.nan})
    return pd.DataFrame(out)
