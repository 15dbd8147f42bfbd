"""The pinned-results check: noise of another CPU passes, a moved number or a systematic shift fails, a missing
result or a stale recipe is caught, with a readable diff."""

import json
import sys
from dataclasses import asdict
from pathlib import Path

import pytest

from myosem_core.errors import DataError
from myosem_core.presets import make_config
from myosem_experiments.evaluation.expected import (
    PinRule,
    collect,
    compare,
    load_expected,
    write_expected,
)
from myosem_experiments.report.machine import machine
from myosem_experiments.grid import MODELS, recipe, results_folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import expected_results  # noqa: E402

HERE = Path(__file__).resolve().parent / "data"


def _result(protocol, model, r1, seed=0, **extra):
    return {"dataset": "ninapro-db1", "protocol": protocol, "model": model, "seed": seed,
            "emg_to_text": {"R@1": r1, "R@3": 0.9, "MRR": 0.8, "std": {"R@1": 0.01, "R@3": 0.005, "MRR": 0.006}},
            "text_to_emg": {"R@1": r1 + 0.05, "R@3": 0.95, "MRR": 0.85, "se": {"R@1": 0.02, "R@3": 0.01, "MRR": 0.01}},
            **extra}


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """A runs folder as a quick build leaves it: the grid's results folder and one with a changed split."""
    data = tmp_path / "db1"
    data.mkdir()
    (data / "S1_A1_E1.mat").write_bytes(b"stand-in for a recording")
    monkeypatch.setattr(expected_results, "EXPECTED", tmp_path / "unused.json")
    cfg = make_config("quick", "ninapro-db1", str(data), 0)
    grid = results_folder(cfg, tmp_path / "runs")
    current = recipe(MODELS["lda"], cfg, "rand")["hash"]
    (grid / "ninapro-db1__rand__lda__seed0.json").write_text(json.dumps(_result("rand", "lda", 0.40, recipe_hash=current)))
    (grid / "ninapro-db1__rand__rf__seed0.json").write_text(
        json.dumps(_result("rand", "rf", 0.80, recipe_hash="written-by-older-code")))
    split = results_folder(cfg, tmp_path / "runs", split_options={"val_subjects": ["S15", "S16"]})
    (split / "ninapro-db1__user__myosem__seed0.json").write_text(json.dumps(_result("user", "myosem", 0.30)))
    (split / "ninapro-db1__user__myosem__seed1.json").write_text(json.dumps(_result("user", "myosem", 0.10, seed=1)))
    return {"runs": tmp_path / "runs", "data": str(data), "split": split, "grid": grid}


SPLIT = 'run/split_options={"val_subjects":["S15","S16"]}/user/myosem'


def test_collect_names_results_with_their_uncertainty_and_drops_other_seeds_and_stale_recipes(runs):
    got = collect(runs["runs"], "ninapro-db1", "quick", seed=0, data_dir=runs["data"])
    assert sorted(got) == ["grid/default/rand/lda", SPLIT]
    assert got[SPLIT]["emg_to_text R@1"] == {"value": pytest.approx(0.30), "sigma": 0.01}
    assert got["grid/default/rand/lda"]["text_to_emg R@1"] == {"value": pytest.approx(0.45), "sigma": 0.02}


def _check(runs, pinned):
    return expected_results.main(["check", "--runs", str(runs["runs"]), "--expected", str(pinned),
                                  "--data-dir", runs["data"]])


def test_pinned_results_pass_then_a_moved_number_fails(runs, tmp_path, capsys):
    pinned = tmp_path / "expected.json"
    assert expected_results.main(["update", "--runs", str(runs["runs"]), "--expected", str(pinned),
                                  "--data-dir", runs["data"]]) == 0
    assert load_expected(pinned)["machine"] == machine(load=False)  # the file names the machine that wrote it
    assert _check(runs, pinned) == 0
    capsys.readouterr()

    path = runs["split"] / "ninapro-db1__user__myosem__seed0.json"
    path.write_text(json.dumps(_result("user", "myosem", 0.33)))  # 3 uncertainties: another CPU's rounding
    assert _check(runs, pinned) == 0
    path.write_text(json.dumps(_result("user", "myosem", 0.24)))  # 6 uncertainties: a changed recipe
    assert _check(runs, pinned) == 1
    out = capsys.readouterr()
    assert f"MOVED    {SPLIT} emg_to_text R@1: expected 0.3000, got 0.2400 (-0.0600, tolerance 0.0500" in out.out
    assert "make expected" in out.err


def _pins(values: dict, sigma: float, rule=PinRule()) -> dict:
    return {"rule": asdict(rule), "results": {name: {k: {"value": v, "sigma": sigma} for k, v in vals.items()}
                                              for name, vals in values.items()}}


def test_values_moved_together_fail_where_the_same_moves_with_mixed_signs_pass():
    base = {f"r{i}": {f"{d} {m}": 0.5 for d in ("emg_to_text", "text_to_emg") for m in ("R@1", "R@3", "MRR")}
            for i in range(4)}
    pins = _pins(base, 0.01)
    down = {k: {m: v - 0.03 for m, v in vals.items()} for k, vals in base.items()}  # each 3 sigma: within 5
    mixed = {k: {m: v + (0.03 if j % 2 else -0.03) for j, (m, v) in enumerate(vals.items())}
             for k, vals in base.items()}
    assert compare(pins, mixed).ok
    result = compare(pins, down)
    assert not result.ok and result.overall_mean_z == pytest.approx(-3.0)
    assert "r0: its values moved together by -3.00 uncertainties on average (limit 2.5)" in result.moved[0]
    assert result.moved[-1].startswith("every value: mean signed shift -3.00")


def test_another_cpu_passes_and_a_halved_learning_rate_fails():
    """The rule against machines measured at one commit: pins and uncertainties from an AMD EPYC, the same code,
    seed and data run on an Intel Xeon (AVX-512, AMX) and on another AMD EPYC, and MyoSem and a deep row
    retrained with both learning rates halved (Stage 2 3e-3 -> 1.5e-3, Stage 3 2e-3 -> 1e-3)."""
    pins = load_expected(HERE / "expected_results_bec13b0_amd_epyc.json")
    intel = json.loads((HERE / "expected_results_bec13b0_intel_xeon.json").read_text())["results"]
    other_amd = json.loads((HERE / "expected_results_bec13b0_amd_epyc_committed.json").read_text())["results"]
    for produced in (intel, other_amd):
        result = compare(pins, produced)
        assert result.ok and result.n_checked == 156 and not result.missing, result.report()
    changed = json.loads((HERE / "results_bec13b0_lr_half.json").read_text())["results"]
    changed["notebook/default/rand/myosem"] = changed["grid/default/rand/myosem"]  # notebook 03's copy of the row
    result = compare(pins, {**intel, **changed})
    names = [m.split(":")[0] for m in result.moved]
    assert set(names) == {"grid/default/rand/myosem", "notebook/default/rand/myosem",
                          "grid/default/rand/myosem emg_to_text R@1", "notebook/default/rand/myosem emg_to_text R@1",
                          "grid/default/rand/myosem emg_to_text MRR", "notebook/default/rand/myosem emg_to_text MRR"}
    # the deep row moved too, but alone within what another CPU does: one row is no evidence of a changed recipe
    assert not any("se-cnn" in n for n in names)
    # the fixed 0.02 of earlier pins could not tell the two apart: another CPU moved a value by 0.024
    worst = max(abs(intel[n][k] - p["value"]) for n, vals in pins["results"].items() for k, p in vals.items())
    assert worst > 0.02


def test_a_pinned_result_the_run_did_not_produce_fails(runs, tmp_path):
    pinned = tmp_path / "expected.json"
    write_expected(pinned, collect(runs["runs"], "ninapro-db1", "quick", data_dir=runs["data"]), "ninapro-db1",
                   "quick", 0)
    (runs["grid"] / "ninapro-db1__rand__lda__seed0.json").unlink()
    result = compare(load_expected(pinned), collect(runs["runs"], "ninapro-db1", "quick", data_dir=runs["data"]))
    assert not result.ok
    assert result.missing == ["grid/default/rand/lda: pinned but not produced by this run"]


def test_an_unpinned_result_is_listed_without_failing(runs):
    produced = collect(runs["runs"], "ninapro-db1", "quick", data_dir=runs["data"])
    pins = {"rule": asdict(PinRule()), "results": {k: v for k, v in produced.items() if "lda" not in k}}
    result = compare(pins, produced)
    assert result.ok and result.unpinned == ["grid/default/rand/lda"]
    assert "not pinned" in result.report()


def test_the_rule_comes_from_the_file():
    pins = _pins({"r": {"emg_to_text R@1": 0.5, "text_to_emg R@1": 0.5}}, 0.01)
    produced = {"r": {"emg_to_text R@1": 0.54, "text_to_emg R@1": 0.46}}
    assert compare(pins, produced).ok  # 4 uncertainties each way
    strict = _pins({"r": {"emg_to_text R@1": 0.5, "text_to_emg R@1": 0.5}}, 0.01, PinRule(k=3.0))
    assert [m.split(":")[0] for m in compare(strict, produced).moved] == ["r emg_to_text R@1", "r text_to_emg R@1"]
    floored = _pins({"r": {"emg_to_text R@1": 0.5, "text_to_emg R@1": 0.5}}, 0.0, PinRule(floor=0.05))
    assert compare(floored, produced).ok  # no uncertainty: the floor holds


def test_nothing_to_pin_and_a_bad_file_give_clear_errors(tmp_path):
    with pytest.raises(DataError, match="no current ninapro-db1/quick/seed 0 results found to pin"):
        write_expected(tmp_path / "e.json", collect(tmp_path, "ninapro-db1", "quick"), "ninapro-db1", "quick", 0)
    with pytest.raises(DataError, match="expected-results file missing"):
        load_expected(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"dataset": "ninapro-db1", "preset": "quick", "seed": 0, "rule": {}, "results": {}}))
    with pytest.raises(DataError, match="field 'machine'"):
        load_expected(bad)
    bad.write_text(json.dumps({"dataset": "ninapro-db1", "preset": "quick", "seed": 0, "rule": {}, "machine": {},
                               "results": {"grid/default/rand/lda": {"emg_to_text R@1": 0.4}}}))
    with pytest.raises(DataError, match=r"results.grid/default/rand/lda.emg_to_text R@1.*expected \{\"value\""):
        load_expected(bad)
