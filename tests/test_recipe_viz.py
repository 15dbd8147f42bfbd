"""The recipe-search view of chapter 02: the committed search files read, rank and plot as the book shows them."""

from __future__ import annotations

import json

import matplotlib
import pytest

from myosem_core.errors import DataError
from myosem_core.paths import repo_root
from myosem_experiments.report import recipe

matplotlib.use("Agg")


def _row(candidate, split, top1, seconds, seed=0):
    return {"candidate": candidate, "split": split, "seed": seed, "top1": top1, "top3": min(1.0, top1 + 0.1),
            "seconds": seconds}


def _search(tmp_path, rows, name="search.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"preset": "quick", "rule": "r", "chosen": None, "rows": rows}))
    return path


def test_a_search_file_without_rows_or_with_a_short_row_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        recipe.read_recipe_search(tmp_path / "absent.json")
    with pytest.raises(DataError, match="'rows'"):
        recipe.read_recipe_search(_search(tmp_path, []))
    bad = [_row("base", "rand-val", 0.7, 10.0), {"candidate": "x", "split": "rand-val", "seed": 0, "top1": 0.5}]
    with pytest.raises(DataError, match=r"rows\[1\].*top3.*seconds"):
        recipe.read_recipe_search(_search(tmp_path, bad))


def test_the_table_ranks_candidates_scored_on_every_split_by_mean_top1():
    rows = [_row("base", "rand-val", 0.70, 10), _row("base", "user-dev", 0.20, 8),
            _row("longer", "rand-val", 0.80, 20), _row("longer", "user-dev", 0.22, 16),
            _row("half-done", "rand-val", 0.99, 5)]
    table = recipe.recipe_table({"rows": rows})
    assert list(table.index) == ["longer", "base", "half-done"]
    assert table.loc["longer", "mean top-1"] == pytest.approx(51.0)
    assert table["mean top-1"].isna().tolist() == [False, False, True]
    assert table.loc["base", "seconds (user-dev)"] == 8
    assert table.loc["half-done", "seeds"] == 1


def test_cost_and_gain_are_relative_to_the_reference_on_each_split():
    rows = [_row("base", "rand-val", 0.70, 10), _row("longer", "rand-val", 0.75, 25),
            _row("longer", "rand-val", 0.77, 15, seed=1), _row("base", "rand-val", 0.72, 10, seed=1)]
    out = recipe.cost_and_gain({"rows": rows}).set_index("candidate")
    assert out.loc["longer", "gain (points)"] == pytest.approx(5.0)
    assert out.loc["longer", "cost (x reference)"] == pytest.approx(2.0)
    assert out.loc["base", "gain (points)"] == 0


def test_the_committed_search_files_read_and_plot():
    results = repo_root() / "book" / "results"
    for name in ("recipe-search-quick.json", "recipe-budget-quick-cpu.json"):
        search = recipe.read_recipe_search(results / name)
        table = recipe.recipe_table(search)
        assert {"rand-val", "user-dev"} <= set(table.columns)
        fig = recipe.plot_budget_frontier(search)
        assert [ax.get_title() for ax in fig.axes] == sorted({r["split"] for r in search["rows"]})
