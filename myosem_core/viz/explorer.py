"""The retrieval explorer of notebook 09 as one widget: type a sentence or pick a window, see ranked results.

    from myosem_core.viz.explorer import explorer
    explorer(index, title="ninapro-db1, rand")      # an ipywidgets VBox; display it, or serve the notebook with Voilà

``make explore`` serves notebook 09 with Voilà on localhost, so the widget is live in a
browser (a sentence is searched when Enter is pressed or the box loses focus). Result
tables carry CSS classes (``myosem-text-results``, ``myosem-window-results``) so a
browser test can find them.
"""

from __future__ import annotations

import html

import matplotlib.pyplot as plt
import pandas as pd

from ..data.catalog import display_name
from .retrieval import plot_window


def _html_table(df: pd.DataFrame, css: str) -> str:
    return f'<div class="{css}">' + df.to_html(index=False, float_format=lambda x: f"{x:.3f}", escape=True) + "</div>"


def explorer(index, title: str = "", sentence: str = "bend the ring finger", window: int = 0, k: int = 5):
    """An interactive explorer over a :class:`~myosem_core.retrieval.RetrievalIndex` (widgets, live in Jupyter/Voilà)."""
    import ipywidgets as W

    test = index.windows
    pick = W.IntSlider(value=int(window), min=0, max=len(test.X) - 1, description="window")
    text = W.Text(value=sentence, description="sentence", placeholder="describe a hand movement, press Enter",
                  continuous_update=False, layout=W.Layout(width="32em"))
    top = W.IntSlider(value=int(k), min=1, max=max(1, min(20, len(test.X))), description="top k")
    out_sig, out_w, out_t = W.Output(), W.HTML(), W.HTML()
    status = W.HTML()

    def show_window(*_):
        i = pick.value
        with out_sig:
            out_sig.clear_output(wait=True)
            fig, ax = plt.subplots(figsize=(6, 2.6))
            plot_window(test.X[i], test.fs, f"window {i}: true {display_name(test.labels[i])}", ax, list(test.channel_names))
            plt.show()
        out_w.value = _html_table(index.search_emg(i, k=top.value), "myosem-window-results")

    def show_text(*_):
        q = text.value.strip()
        if not q:
            out_t.value = "<i>type a sentence and press Enter</i>"
            return
        res = index.search_text(q, k=top.value)
        out_t.value = (f'<p class="myosem-query">“{html.escape(q)}”: top {len(res)} windows</p>'
                       + _html_table(res.drop(columns=["score"]).assign(score=res["score"].round(3)),
                                     "myosem-text-results"))

    pick.observe(show_window, names="value")
    text.observe(show_text, names="value")
    top.observe(lambda *_: (show_window(), show_text()), names="value")
    show_window()
    show_text()
    status.value = f"<b>{html.escape(title)}</b> {len(test.X)} windows indexed" if title else f"{len(test.X)} windows indexed"
    return W.VBox([status, W.HTML("<h3>Free text → EMG windows</h3>"), text, out_t,
                   W.HTML("<h3>EMG window → descriptions</h3>"), W.HBox([pick, top]), W.HBox([out_sig, out_w])])


def fixed_queries(index, sentences, k: int = 5) -> pd.DataFrame:
    """Top-``k`` windows for each sentence, one row per sentence: how many show the intended class."""
    rows = []
    for s, want in sentences:
        r = index.search_text(s, k=k)
        rows.append({"sentence": s, "intended": display_name(want), f"right in top {k}": int((r["class_key"] == want).sum()),
                     "top classes": ", ".join(r["class_name"].tolist())})
    return pd.DataFrame(rows)


__all__ = ["explorer", "fixed_queries"]
