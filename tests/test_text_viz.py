"""Text-space figures and tables show the numbers of the results they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np

from myosem_core.text.views import ClassViews
from myosem_core.viz import tag
from myosem_experiments.report import text as vtext


def _res(r1_before, r1_after, heldout=()):
    def state(r1):
        c = {"class_matrix": np.eye(2).tolist(), "same_class_mean": 1.0, "other_class_mean": 0.0, "gap": 1.0}
        ret = {"all": {"R@1": r1, "MRR": r1 / 2 + 0.5, "n_queries": 6, "n_candidates": 2}}
        if heldout:
            ret["heldout"] = {"R@1": r1 / 2, "MRR": 0.5, "n_queries": 3, "n_candidates": 2}
        return {"retrieval": ret, "consistency": c}
    return {"class_keys": ["ninapro/A/1", "ninapro/A/2"], "heldout_classes": list(heldout),
            "before": state(r1_before), "after": state(r1_after)}


def test_retrieval_table_reads_the_results():
    t = vtext.retrieval_table({"rand": _res(0.25, 0.75), "class": _res(0.5, 1.0, ["ninapro/A/2"])})
    assert t.loc[("rand", "all classes"), "R@1 before"] == 0.25
    assert t.loc[("rand", "all classes"), "R@1 after"] == 0.75
    assert t.loc[("class", "held-out classes"), "R@1 after"] == 0.5
    assert ("rand", "held-out classes") not in t.index


def test_views_table_and_figures_render():
    views = [ClassViews("ninapro/A/1", "index flexion", "The index finger flexes.", "canon", ["a", "b", "c"]),
             ClassViews("ninapro/A/2", "index extension", None, "canon 2", ["d", "e", "f"])]
    t = vtext.views_table(views, ["ninapro/A/2"])
    assert list(t.index) == ["ninapro/A/2"] and "no training pose" in t.iloc[0]["process (from pose)"]
    axes = vtext.plot_view_consistency(_res(0.2, 0.8), "t", heldout_classes=["ninapro/A/2"])
    assert "same class 1.00" in axes[0].get_title()
    ax = vtext.plot_retrieval({"rand": _res(0.25, 0.75)})
    heights = sorted(round(p.get_height(), 3) for p in ax.patches if p.get_height() > 0)
    assert 0.25 in heights and 0.75 in heights
    ax = vtext.plot_loss([{"step": 0, "loss": 2.0, "label": 1.0}, {"step": 1, "loss": 1.0, "label": 0.5}])
    assert len(ax.get_lines()) == 2
    assert tag("x", True).endswith("(synthetic data)")
