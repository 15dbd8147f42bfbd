"""The pinned-results check: a moved number, a missing result or a stale recipe is caught with a readable diff."""

import json
import sys
from pathlib import Path

import pytest

from myosem_core.config import make_config
from myosem_core.errors import DataError
from myosem_experiments.evaluation.expected import collect, compare, load_expected, write_expected
from myosem_experiments.grid import MODELS, recipe

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import expected_results  # noqa: E402

DATA_DIR = "/data/ninapro-db1"


def _result(protocol, model, r1, **extra):
    return {"dataset": "ninapro-db1", "protocol": protocol, "model": model, "seed": 0,
            "emg_to_text": {"R@1": r1, "R@3": 0.9, "MRR": 0.8, "std": {"R@1": 0.01}},
            "text_to_emg": {"R@1": r1 + 0.05, "R@3": 0.95, "MRR": 0.85}, **extra}


@pytest.fixture
def runs(tmp_path):
    """A runs folder as a quick build leaves it: one notebook result folder and one comparison-grid folder."""
    nb = tmp_path / "retrieval-ninapro-db1-quick-aaaa"
    nb.mkdir()
    (nb / "config.json").write_text(json.dumps({"data": {"subject_calibration": True}}))
    (nb / "ninapro-db1__user__myosem__seed0.json").write_text(json.dumps(_result("user", "myosem", 0.30)))
    (nb / "ninapro-db1__user__myosem__seed1.json").write_text(json.dumps(_result("user", "myosem", 0.10)))
    grid = tmp_path / "experiments-ninapro-db1-quick-bbbb"
    grid.mkdir()
    (grid / "config.json").write_text(json.dumps({"data": {"data_dir": DATA_DIR}}))
    current = recipe(MODELS["lda"], make_config("quick", "ninapro-db1", DATA_DIR, 0), "rand")["hash"]
    (grid / "ninapro-db1__rand__lda__seed0.json").write_text(
        json.dumps(_result("rand", "lda", 0.40, recipe_hash=current)))
    (grid / "ninapro-db1__rand__rf__seed0.json").write_text(
        json.dumps(_result("rand", "rf", 0.80, recipe_hash="written-by-older-code")))
    return tmp_path


def test_collect_names_results_and_drops_other_seeds_and_stale_recipes(runs):
    got = collect(runs, "ninapro-db1", "quick", seed=0)
    assert sorted(got) == ["grid/default/rand/lda", "notebook/subject_calibration=true/user/myosem"]
    assert got["notebook/subject_calibration=true/user/myosem"]["emg_to_text R@1"] == pytest.approx(0.30)
    assert got["grid/default/rand/lda"]["text_to_emg R@1"] == pytest.approx(0.45)
    assert "emg_to_text std" not in str(got)


def test_pinned_results_pass_then_a_deliberately_changed_number_fails(runs, tmp_path, capsys):
    pinned = tmp_path / "expected.json"
    assert expected_results.main(["update", "--runs", str(runs), "--expected", str(pinned)]) == 0
    assert expected_results.main(["check", "--runs", str(runs), "--expected", str(pinned)]) == 0
    capsys.readouterr()

    path = runs / "retrieval-ninapro-db1-quick-aaaa" / "ninapro-db1__user__myosem__seed0.json"
    within = _result("user", "myosem", 0.31)  # inside the 0.02 tolerance
    path.write_text(json.dumps(within))
    assert expected_results.main(["check", "--runs", str(runs), "--expected", str(pinned)]) == 0

    path.write_text(json.dumps(_result("user", "myosem", 0.25)))  # moved by 5 points
    assert expected_results.main(["check", "--runs", str(runs), "--expected", str(pinned)]) == 1
    out = capsys.readouterr()
    assert "MOVED    notebook/subject_calibration=true/user/myosem emg_to_text R@1: expected 0.3000, got 0.2500" in out.out
    assert "text_to_emg R@1: expected 0.3500, got 0.3000" in out.out
    assert "make expected" in out.err


def test_a_pinned_result_the_run_did_not_produce_fails(runs, tmp_path):
    pinned = tmp_path / "expected.json"
    write_expected(pinned, collect(runs, "ninapro-db1", "quick"), "ninapro-db1", "quick", 0)
    (runs / "experiments-ninapro-db1-quick-bbbb" / "ninapro-db1__rand__lda__seed0.json").unlink()
    result = compare(load_expected(pinned), collect(runs, "ninapro-db1", "quick"))
    assert not result.ok
    assert result.missing == ["grid/default/rand/lda: pinned but not produced by this run"]


def test_an_unpinned_result_is_listed_without_failing(runs, tmp_path):
    produced = collect(runs, "ninapro-db1", "quick")
    expected = {"tolerance": {}, "results": {k: v for k, v in produced.items() if "lda" not in k}}
    result = compare(expected, produced)
    assert result.ok and result.unpinned == ["grid/default/rand/lda"]
    assert "not pinned" in result.report()


def test_tolerance_comes_from_the_file(runs):
    produced = collect(runs, "ninapro-db1", "quick")
    name = "grid/default/rand/lda"
    shifted = {name: {k: v + 0.015 for k, v in produced[name].items()}}
    assert compare({"tolerance": {}, "results": shifted}, produced).ok
    strict = compare({"tolerance": {"R@1": 0.01}, "results": shifted}, produced)
    assert [m.split(":")[0] for m in strict.moved] == [f"{name} emg_to_text R@1", f"{name} text_to_emg R@1"]


def test_nothing_to_pin_and_a_bad_file_give_clear_errors(tmp_path):
    with pytest.raises(DataError, match="no current ninapro-db1/quick/seed 0 results found to pin"):
        write_expected(tmp_path / "e.json", collect(tmp_path, "ninapro-db1", "quick"), "ninapro-db1", "quick", 0)
    with pytest.raises(DataError, match="expected-results file missing"):
        load_expected(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"dataset": "ninapro-db1", "preset": "quick", "seed": 0, "results": {}}))
    with pytest.raises(DataError, match="field 'tolerance'"):
        load_expected(bad)
