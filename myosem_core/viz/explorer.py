"""The retrieval explorer of notebook 09 as one widget: type a sentence or pick a window, see ranked results.

    from myosem_core.viz.explorer import explorer
    explorer(index, title="ninapro-db1, rand")      # an ipywidgets VBox; display it, or serve the notebook with Voilà

``make explore`` serves notebook 09 with Voilà on localhost, so the widget is live in a
browser (a sentence is searched when Enter is pressed or the box loses focus). Every sentence is
read by the index's reader first (:mod:`myosem_core.text.query`): one that names no known hand
movement gets that answer with its nearest candidates, bad input (control characters, too long) its
error, in plain words. "varied" (on by default) spreads the top windows over subjects, at most one
per repetition. Result tables and messages carry CSS classes (``myosem-query``, ``myosem-text-results``,
``myosem-abstained``, ``myosem-candidates``, ``myosem-query-error``, ``myosem-window-results``) so a
browser test can find them.
"""

from __future__ import annotations

import html

import matplotlib.pyplot as plt
import pandas as pd

from ..data.catalog import display_name
from ..errors import DataError
from .retrieval import plot_window


def _html_table(df: pd.DataFrame, css: str) -> str:
    return f'<div class="{css}">' + df.to_html(index=False, float_format=lambda x: f"{x:.3f}", escape=True) + "</div>"


def search_html(index, sentence: str, k: int = 5, varied: bool = True) -> str:
    """The explorer's answer to a typed sentence as HTML: the top windows, or the plain refusal with the nearest
    candidates, or the input error."""
    q = sentence.strip()
    if not q:
        return "<i>type a sentence and press Enter</i>"
    try:
        res = index.search_text(q, k=k, varied=varied)
    except DataError as exc:
        return f'<p class="myosem-query-error">{html.escape(exc.problem)}</p>'
    if not res.known:
        return (f'<p class="myosem-query myosem-abstained">{html.escape(res.message())}</p>'
                + _html_table(res.candidates(), "myosem-candidates"))
    return f'<p class="myosem-query">{html.escape(res.message())}</p>' + _html_table(res.hits, "myosem-text-results")


def explorer(index, title: str = "", sentence: str = "bend the ring finger", window: int = 0, k: int = 5,
             varied: bool = True):
    """An interactive explorer over a :class:`~myosem_core.retrieval.RetrievalIndex` (widgets, live in Jupyter/Voilà)."""
    import ipywidgets as W

    test = index.windows
    pick = W.IntSlider(value=int(window), min=0, max=len(test.X) - 1, description="window")
    text = W.Text(value=sentence, description="sentence", placeholder="describe a hand movement, press Enter",
                  continuous_update=False, layout=W.Layout(width="32em"))
    top = W.IntSlider(value=int(k), min=1, max=max(1, min(20, len(test.X))), description="top k")
    spread = W.Checkbox(value=bool(varied), description="varied: one window per repetition, across subjects",
                        indent=False, layout=W.Layout(width="32em"))
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
        out_t.value = search_html(index, text.value, top.value, spread.value)

    pick.observe(show_window, names="value")
    text.observe(show_text, names="value")
    spread.observe(show_text, names="value")
    top.observe(lambda *_: (show_window(), show_text()), names="value")
    show_window()
    show_text()
    status.value = f"<b>{html.escape(title)}</b> {len(test.X)} windows indexed" if title else f"{len(test.X)} windows indexed"
    return W.VBox([status, W.HTML("<h3>Free text → EMG windows</h3>"), text, spread, out_t,
                   W.HTML("<h3>EMG window → descriptions</h3>"), W.HBox([pick, top]), W.HBox([out_sig, out_w])])


def fixed_queries(index, sentences, k: int = 5) -> pd.DataFrame:
    """Top-``k`` windows for each sentence, one row per sentence: how many show the intended class."""
    rows = []
    for s, want in sentences:
        r = index.search_text(s, k=k)
        rows.append({"sentence": s, "intended": display_name(want),
                     f"right in top {k}": int((r.hits["class_key"] == want).sum()),
                     "top classes": ", ".join(r.hits["class_name"].tolist()) or r.message()})
    return pd.DataFrame(rows)


def side_by_side(index, sentence: str, k: int = 5) -> pd.DataFrame:
    """The plain top-``k`` and the varied top-``k`` of one sentence next to each other (subject, repetition,
    class and probability of each window)."""
    cols = ["subject", "repetition", "class_name", "probability"]
    plain, varied = (index.search_text(sentence, k=k, varied=v) for v in (False, True))
    if not plain.known:
        raise DataError("<query>", "text", plain.message())
    return pd.concat({"plain ranking": plain.hits[cols].reset_index(drop=True),
                      "varied": varied.hits[cols].reset_index(drop=True)}, axis=1)


def answers(index, sentences, k: int = 5) -> pd.DataFrame:
    """What the search answers to each sentence, one row each: read as which movement, or refused and why."""
    rows = []
    for s in sentences:
        try:
            r = index.search_text(s, k=k)
            answer = r.message()
        except DataError as exc:
            answer = f"error: {exc.problem}"
        shown = s if len(s) <= 40 else f"{s[:37]}... ({len(s)} characters)"
        rows.append({"typed": repr(shown), "answer": answer})
    return pd.DataFrame(rows)


__all__ = ["answers", "explorer", "fixed_queries", "search_html", "side_by_side"]
