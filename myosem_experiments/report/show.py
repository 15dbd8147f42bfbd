"""Showing tables in the notebooks: comparison tables as HTML with bold best cells and a bar chart per metric,
any other table with the same conventions."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .comparison import DIRECTIONS, MISSING, NOT_APPLICABLE, ComparisonTable


def table_html(table: ComparisonTable) -> str:
    """The table as HTML: two header rows (protocol, metric), best cells bold, caption below."""
    f = table.formatted(bold=("<b>", "</b>"))
    protocols = list(dict.fromkeys(c[0] for c in f.columns))
    metrics = [c[1] for c in f.columns if c[0] == protocols[0]]
    head1 = "<th></th>" + "".join(f'<th colspan="{len(metrics)}" style="text-align:center">{p}</th>'
                                  for p in protocols)
    head2 = "<th>Model</th>" + "".join(f"<th>{m}</th>" for _, m in f.columns)
    body = "".join("<tr><td style='text-align:left'>" + str(name) + "</td>"
                   + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for name, row in zip(f.index, f.values))
    return (f"<table><caption style='caption-side:bottom'>{table.caption()}</caption>"
            f"<thead><tr>{head1}</tr><tr>{head2}</tr></thead><tbody>{body}</tbody></table>")


def show_table(table, caption: str = ""):
    """A table as a notebook cell shows it.

    A :class:`ComparisonTable` as HTML (bold best cells, its caption); a DataFrame with text left-aligned and
    wrapping, numbers to three decimals with each numeric column's best value bold, missing cells as a dash.
    """
    if isinstance(table, ComparisonTable):
        from IPython.display import HTML

        return HTML(f"<h4>{table.title}</h4>" + table_html(table))
    numeric = list(table.select_dtypes("number").columns)
    style = table.style.set_properties(**{"text-align": "left", "white-space": "pre-wrap"})
    if numeric:
        style = style.format("{:.3f}", subset=numeric, na_rep="–").highlight_max(
            axis=0, subset=numeric, props="font-weight: bold")
    return style.set_caption(caption) if caption else style


def plot_metric(table: ComparisonTable, metric: str = "R@1", ours: str = "myosem", ax=None):
    """Grouped bars of one metric: protocols on the x axis, one bar per model, std over seeds as error bars.

    Models without any result are left out of the bars and named in the legend title.
    """
    cols = [c for c in table.mean.columns if c[1] == metric]
    protocols = [c[0] for c in cols]
    have = [m for m in table.models if table.mean.loc[m, cols].notna().any()]
    absent = [table.labels.get(m, m) for m in table.models if m not in have]
    if ax is None:
        _, ax = plt.subplots(figsize=(1.2 + 1.1 * len(protocols) * max(1, len(have)) / 3, 3.4))
    width = 0.8 / max(1, len(have))
    x = np.arange(len(protocols))
    for i, m in enumerate(have):
        mean = 100 * table.mean.loc[m, cols].to_numpy(dtype=float)
        std = 100 * np.nan_to_num(table.std.loc[m, cols].to_numpy(dtype=float))
        style = {"edgecolor": "black", "linewidth": 1.5} if m == ours else {}
        pos = x + (i - (len(have) - 1) / 2) * width
        ok = np.isfinite(mean)
        ax.bar(pos[ok], mean[ok], width, yerr=std[ok], capsize=2, label=table.labels.get(m, m), **style)
        for p, col, shown in zip(pos, cols, ok):
            if not shown:  # a cell without a result is marked, never drawn as a zero bar
                ax.text(p, 1, MISSING if table.applies(m, col) else NOT_APPLICABLE, ha="center", va="bottom",
                        fontsize=8)
    ax.set_xticks(x, protocols)
    ax.set_ylabel(f"{DIRECTIONS[table.direction]} {metric} (%)")
    ax.set_ylim(0, 100)
    title = f"models without results ({MISSING}): {', '.join(absent)}" if absent else None
    ax.legend(fontsize=7, ncol=2, title=title, title_fontsize=7, loc="upper right")
    ax.set_title(table.title, fontsize=9)
    return ax
