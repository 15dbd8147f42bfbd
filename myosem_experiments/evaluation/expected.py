"""Pinned results: the numbers a build produced, held against a committed file of expected ones.

    python scripts/expected_results.py check    # after `make test`: fails with a readable diff
    python scripts/expected_results.py update   # deliberate: pin what the last run produced

A *result* is one retrieval JSON in a results folder (:func:`myosem_experiments.grid.results_folder`),
named ``grid/<variant>/<protocol>/<model>`` for the comparison grid's rows (counted only while their recipe
matches today's code) and ``run/<variant>/<protocol>/<model>`` for a changed split's results, where
``variant`` spells what sets the folder apart (``default`` when nothing does). Each contributes R@1, R@3
and MRR of every direction it has, each with its own uncertainty: the bootstrap std over test windows
(EMG->text) or the standard error over episodes (text->EMG).

The check is a regression alarm, not an equality (:class:`PinRule`). Another CPU rounds floating point
differently, and a trained network then lands like a close seed: on DB1 at ``quick`` three machines
(two AMD EPYC, one Intel Xeon) differ by up to 3.1 of a value's own uncertainties, and the mean signed
shift of one result's values by up to 1.5. A real change of recipe moves values further, and in one
direction: halving the learning rate of MyoSem's Stages 2-3 moves its six values by 2.9-5.1 uncertainties,
all down. So a value fails when it moved by more than ``k`` uncertainties (with an absolute floor), a result
when the mean signed shift of its values, in uncertainties, passes ``result_mean``, and the whole file when
the mean over every value passes ``overall_mean``. Exact equality is a separate test: on one machine, the
same seed gives the same numbers to the bit.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from myosem_core.errors import DataError
from myosem_core.io import read_json, write_json

from ..report.machine import machine

METRICS = ("R@1", "R@3", "MRR")
DIRECTIONS = {"emg_to_text": ("emg_to_text",), "text_to_emg": ("text_to_emg",),
              "heldout_all": ("heldout", "emg_to_text_all_candidates")}


@dataclass(frozen=True)
class PinRule:
    """How far a produced value may lie from its pin, in units of the pin's own uncertainty ``sigma``."""

    k: float = 5.0  # per value: |moved| <= max(floor, k * sigma)
    floor: float = 0.005  # absolute slack for values whose uncertainty is (near) zero
    result_mean: float = 2.5  # per result: |mean of moved / sigma over its values| <= result_mean
    overall_mean: float = 1.0  # whole file: |mean of moved / sigma over every value| <= overall_mean


def _variant(record: dict) -> str:
    """A readable name for what sets a results folder apart from the default: ``default`` or ``key=value,...``
    (sorted) over its data options (subject calibration) and the sections of its key."""
    options = {**({"subject_calibration": record["data"]["subject_calibration"]}
                  if (record.get("data") or {}).get("subject_calibration") is not None else {}),
               **record.get("sections", {})}
    if not options:
        return "default"
    return ",".join(f"{k}={json.dumps(v, sort_keys=True, separators=(',', ':'))}" for k, v in sorted(options.items()))


def _metrics(result: dict) -> dict[str, dict[str, float]]:
    """``{"<direction> <metric>": {"value": v, "sigma": s}}`` of one result file."""
    out = {}
    for name, path in DIRECTIONS.items():
        node = result
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            spread = node.get("std") or node.get("se") or {}
            out.update({f"{name} {m}": {"value": float(node[m]), "sigma": float(spread.get(m, 0.0))}
                        for m in METRICS if m in node})
    return out


def collect(runs: str | Path, dataset: str, preset: str, seed: int = 0, data_dir: str | None = None) -> dict:
    """``{result name: {"<direction> <metric>": {"value", "sigma"}}}`` of every current result of ``seed``."""
    from myosem_core.run_store import read_record

    from ..grid import MODELS, current_results, load_experiment_results

    runs, out = Path(runs), {}
    for folder in sorted(runs.glob(f"results-{dataset}-{preset}-*")):
        variant = _variant(read_record(folder))
        for r in current_results(folder, MODELS, preset, dataset, data_dir):
            if r["seed"] == seed:
                out[f"grid/{variant}/{r['protocol']}/{r['model']}"] = _metrics(r)
        for r in load_experiment_results(folder):
            if "recipe_hash" not in r and r.get("seed") == seed and r.get("dataset") == dataset:
                out[f"run/{variant}/{r['protocol']}/{r['model']}"] = _metrics(r)
    return dict(sorted(out.items()))


@dataclass
class Comparison:
    """What a check found: moved values and results, pinned results not produced, produced results not pinned."""

    moved: list[str]
    missing: list[str]
    unpinned: list[str]
    n_checked: int
    overall_mean_z: float

    @property
    def ok(self) -> bool:
        return not self.moved and not self.missing

    def report(self) -> str:
        lines = [f"expected results: {self.n_checked} values checked, {len(self.moved)} moved, "
                 f"{len(self.missing)} pinned results missing, {len(self.unpinned)} results not pinned; "
                 f"mean signed shift {self.overall_mean_z:+.2f} uncertainties"]
        lines += [f"  MOVED    {m}" for m in self.moved]
        lines += [f"  MISSING  {m}" for m in self.missing]
        lines += [f"  new      {m} (not pinned; `make expected` pins it)" for m in self.unpinned]
        return "\n".join(lines)


def load_expected(path: str | Path) -> dict:
    """The expected-results file; a clear error when it is absent or malformed."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, None, "expected-results file missing; create it with `make expected`")
    data = read_json(path)
    for field in ("dataset", "preset", "seed", "rule", "machine", "results"):
        if field not in data:
            raise DataError(path, field, "missing; the file is written by `make expected`")
    for name, values in data["results"].items():
        for key, pin in values.items():
            if not isinstance(pin, dict) or set(pin) != {"value", "sigma"}:
                raise DataError(path, f"results.{name}.{key}", "expected {\"value\": number, \"sigma\": number}")
    return data


def _value(x) -> float:
    """A produced value: a number, or ``{"value": ...}`` as :func:`collect` gives it."""
    return float(x["value"]) if isinstance(x, dict) else float(x)


def compare(expected: dict, produced: dict) -> Comparison:
    """Every pinned value against the produced one under the file's :class:`PinRule` (see the module docstring)."""
    rule = PinRule(**expected["rule"])
    moved, missing, all_z, n = [], [], [], 0
    for name, values in expected["results"].items():
        got = produced.get(name)
        if got is None:
            missing.append(f"{name}: pinned but not produced by this run")
            continue
        zs = []
        for key, pin in values.items():
            n += 1
            if key not in got:
                missing.append(f"{name} {key}: pinned but absent from the result file")
                continue
            shift = _value(got[key]) - pin["value"]
            tol = max(rule.floor, rule.k * pin["sigma"])
            sigma = max(pin["sigma"], rule.floor / rule.k)
            zs.append(shift / sigma)
            if abs(shift) > tol:
                moved.append(f"{name} {key}: expected {pin['value']:.4f}, got {_value(got[key]):.4f} "
                             f"({shift:+.4f}, tolerance {tol:.4f} = max({rule.floor:g}, {rule.k:g} x {pin['sigma']:.4f}))")
        if zs and abs(sum(zs) / len(zs)) > rule.result_mean:
            moved.append(f"{name}: its values moved together by {sum(zs) / len(zs):+.2f} uncertainties on average "
                         f"(limit {rule.result_mean:g}): a systematic change")
        all_z += zs
    overall = sum(all_z) / len(all_z) if all_z else 0.0
    if abs(overall) > rule.overall_mean:
        moved.append(f"every value: mean signed shift {overall:+.2f} uncertainties (limit {rule.overall_mean:g})")
    unpinned = sorted(set(produced) - set(expected["results"]))
    return Comparison(moved, missing, unpinned, n, overall)


def write_expected(path: str | Path, produced: dict, dataset: str, preset: str, seed: int,
                   rule: PinRule = PinRule(), command: str = "") -> Path:
    """Pin ``produced`` (atomically) with the rule and the machine; refuses an empty set, which would pin nothing
    and always pass."""
    if not produced:
        raise DataError(path, "results", f"no current {dataset}/{preset}/seed {seed} results found to pin; "
                        "run `make test` (or the notebooks) first")
    rounded = {k: {m: {"value": round(v["value"], 6), "sigma": round(v["sigma"], 6)} for m, v in vals.items()}
               for k, vals in produced.items()}
    return write_json(path, {"dataset": dataset, "preset": preset, "seed": seed, "rule": asdict(rule),
                             "machine": machine(load=False), "written_by": command, "results": rounded})
