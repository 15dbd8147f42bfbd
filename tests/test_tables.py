"""The table generator on hand-made result JSON files: mean ± std, missing rows, bold best, the reading."""

from __future__ import annotations

import json

import numpy as np
import pytest

from myosem_experiments.grid import TABLES, experiment_tables, load_experiment_results
from myosem_experiments.report import MISSING, NOT_APPLICABLE, comparison_table, reading
from myosem_experiments.report.show import plot_metric


def result(model, protocol, seed, r1, r3=None, mrr=None, t_r1=None, dataset="ninapro-db1"):
    e2t = {"R@1": r1, "R@3": r3 if r3 is not None else min(1.0, r1 + 0.2), "MRR": mrr if mrr is not None else r1 + 0.1}
    t2e = {"R@1": t_r1 if t_r1 is not None else r1, "R@3": 0.9, "MRR": 0.5}
    return {"dataset": dataset, "protocol": protocol, "model": model, "seed": seed, "emg_to_text": e2t,
            "text_to_emg": t2e}


@pytest.fixture
def folder(tmp_path):
    rows = [result("myosem", "rand", s, v) for s, v in zip((0, 1, 2), (0.50, 0.60, 0.70))]
    rows += [result("tcn", "rand", s, v) for s, v in zip((0, 1, 2), (0.40, 0.45, 0.50))]
    rows += [result("myosem", "user", 0, 0.20), result("tcn", "user", 0, 0.30), result("tcn", "user", 1, 0.34)]
    rows += [result("rf", "rand", 0, 0.99, dataset="other-dataset")]  # another dataset: ignored when asked
    for r in rows:
        path = tmp_path / f"{r['dataset']}__{r['protocol']}__{r['model']}__seed{r['seed']}.json"
        path.write_text(json.dumps(r))
    (tmp_path / "config.json").write_text("{}")  # not a result
    return tmp_path


def test_mean_and_sample_std_over_seeds(folder):
    results = load_experiment_results(folder)
    assert len(results) == 10
    t = comparison_table(results, ["myosem", "tcn", "rf"], ["rand", "user"], n_seeds=3, dataset="ninapro-db1")
    assert t.mean.at["myosem", ("rand", "R@1")] == pytest.approx(0.60)
    assert t.std.at["myosem", ("rand", "R@1")] == pytest.approx(np.std([0.5, 0.6, 0.7], ddof=1))
    assert t.std.at["myosem", ("rand", "R@1")] == pytest.approx(0.1)
    assert t.mean.at["tcn", ("user", "R@1")] == pytest.approx(0.32)
    assert t.n.at["tcn", ("user", "R@1")] == 2
    assert np.isnan(t.std.at["myosem", ("user", "R@1")])  # one seed: no std
    assert t.cell("myosem", ("rand", "R@1")) == "60.0 ± 10.0"
    assert t.cell("tcn", ("user", "R@1")) == "32.0 ± 2.8 (n=2)"
    assert t.cell("myosem", ("user", "R@1")) == "20.0 (n=1)"


def test_missing_rows_show_as_missing_not_zero(folder):
    t = comparison_table(load_experiment_results(folder), ["myosem", "rf", "cpep"], ["rand"], dataset="ninapro-db1")
    f = t.formatted()
    assert (f.loc["rf"] == MISSING).all() and (f.loc["cpep"] == MISSING).all()
    assert np.isnan(t.mean.loc["rf"]).all()
    md = t.to_markdown()
    assert "| rf | — | — | — |" in md and "| cpep | — | — | — |" in md


def test_cells_a_row_does_not_run_under_read_not_applicable(folder):
    rows = load_experiment_results(folder) + [result("lda-user", "user-one-repetition", 0, 0.5)]
    t = comparison_table(rows, ["myosem", "lda-user", "rf"], ["rand", "user", "user-one-repetition"],
                         dataset="ninapro-db1", not_applicable=[("lda-user", "rand"), ("lda-user", "user")])
    f = t.formatted()
    assert (f.loc["lda-user", ["rand", "user"]] == NOT_APPLICABLE).all()
    assert f.at["lda-user", ("user-one-repetition", "R@1")].endswith("50.0**")
    assert (f.loc["rf"] == MISSING).all()  # absent without a reason: still "no result yet"
    assert f"{NOT_APPLICABLE} = the row does not run under that column" in t.caption()
    assert NOT_APPLICABLE not in comparison_table(rows, ["myosem"], ["rand"]).caption()
    ax = plot_metric(t)
    marks = [x.get_text() for x in ax.texts]
    assert marks.count(NOT_APPLICABLE) == 2 and marks.count(MISSING) == 1  # myosem has no user-one-repetition


def test_experiment_tables_mark_the_rows_each_protocol_skips(folder):
    tables = experiment_tables(load_experiment_results(folder), ["rand", "user", "user-nothing", "user-unlabeled"],
                               seeds=[0, 1, 2])
    f = tables[("new-user", "emg_to_text")].formatted()
    row = f.loc["LDA on the user's windows alone"]
    # lda-user is declared for the settings that give a user's windows only
    assert (row[["rand", "user", "user-nothing"]] == NOT_APPLICABLE).all()
    assert (row["user-unlabeled"] == MISSING).all()
    assert (f.loc["MyoSem", ["user-nothing"]] == MISSING).all()


def test_best_per_column_in_bold(folder):
    t = comparison_table(load_experiment_results(folder), ["myosem", "tcn"], ["rand", "user"], dataset="ninapro-db1")
    f = t.formatted()
    assert f.at["myosem", ("rand", "R@1")].startswith("**") and not f.at["tcn", ("rand", "R@1")].startswith("**")
    assert f.at["tcn", ("user", "R@1")].startswith("**") and not f.at["myosem", ("user", "R@1")].startswith("**")
    # text->EMG R@3 is 0.9 for everyone: a tie bolds every row
    t2 = comparison_table(load_experiment_results(folder), ["myosem", "tcn"], ["rand"], "text_to_emg",
                          dataset="ninapro-db1")
    assert all(v.startswith("**") for v in t2.formatted()[("rand", "R@3")])


def test_best_ignores_missing_cells_and_ties_on_shown_precision(tmp_path):
    rows = [result("a", "rand", 0, 0.40001), result("b", "rand", 0, 0.40004)]
    t = comparison_table(rows, ["a", "b", "c"], ["rand"])
    best = t.best()[("rand", "R@1")]
    assert best["a"] and best["b"] and not best["c"]


def test_reading_says_where_the_reference_does_not_lead(folder):
    t = comparison_table(load_experiment_results(folder), ["myosem", "tcn", "cpep"], ["rand", "user"],
                         labels={"myosem": "MyoSem", "tcn": "TCN"}, dataset="ninapro-db1")
    text = " ".join(reading(t))
    assert "does NOT lead in: user EMG→text R@1: 20.0 vs best TCN 32.0 (-12.0)" in text
    assert "rand EMG→text R@1: 60.0 vs next best TCN 45.0 (+15.0)" in text
    assert reading(t, ours="cpep") == ["cpep has no result for: " + ", ".join(
        f"{p} EMG→text {m}" for p in ("rand", "user") for m in ("R@1", "R@3", "MRR")) + "."]


def test_experiment_tables_cover_every_table_and_direction(folder):
    tables = experiment_tables(load_experiment_results(folder), ["rand", "user"], seeds=[0, 1, 2])
    assert set(tables) == {(name, d) for name in TABLES for d in ("emg_to_text", "text_to_emg")}
    emg = tables[("emg", "emg_to_text")]
    assert emg.models[0] == "myosem" and "cpep" in emg.models
    assert emg.labels["tcn"] == "TCN"


def test_class_heldout_column_reads_the_heldout_section():
    r = result("myosem", "class", 0, 0.5)
    r["heldout"] = {"emg_to_text_all_candidates": {"R@1": 0.25, "R@3": 0.5, "MRR": 0.4},
                    "text_to_emg_heldout": {"R@1": 0.75, "R@3": 1.0, "MRR": 0.8}}
    lda = result("lda", "class", 0, 0.6)
    lda["heldout"] = {"emg_to_text_all_candidates": {"R@1": 0.0, "R@3": 0.0, "MRR": 0.1},
                      "text_to_emg_heldout": {"R@1": 0.25, "R@3": 0.75, "MRR": 0.5}}
    t = comparison_table([r, lda], ["myosem", "lda"], ["class", "class-heldout"])
    assert t.mean.at["myosem", ("class", "R@1")] == pytest.approx(0.5)
    assert t.mean.at["myosem", ("class-heldout", "R@1")] == pytest.approx(0.25)
    assert t.mean.at["lda", ("class-heldout", "R@1")] == pytest.approx(0.0)
    assert t.formatted().at["lda", ("class-heldout", "R@1")] == "0.0"  # a measured zero stays 0.0
    t2 = comparison_table([r, lda], ["myosem", "lda"], ["class-heldout"], "text_to_emg")
    assert t2.mean.at["myosem", ("class-heldout", "R@1")] == pytest.approx(0.75)
    assert "held-out-class test windows" in t2.caption()
