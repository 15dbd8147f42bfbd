"""Pinned results: the numbers a build produced, compared with a committed file of expected ones.

    python scripts/expected_results.py check    # after `make test`: fails with a readable diff
    python scripts/expected_results.py update   # deliberate: pin what the last run produced

A *result* is one retrieval JSON written by the code (the comparison grid's
``experiments-*`` folders and the ``retrieval-*`` folders of the MyoSem
notebooks). Each is named ``<source>/<variant>/<protocol>/<model>`` where
``variant`` spells the config's extra options (``default`` when none), and
contributes R@1, R@3 and MRR of every direction it has (EMG->text,
text->EMG and, for held-out classes, EMG->text over all candidates). Results of
the comparison grid count only while their recipe matches today's code
(:func:`myosem_experiments.grid.current_results`), so a stale file never
passes for a current one.

The expected file holds the values and an absolute tolerance per metric;
``check`` fails on a pinned value that moved by more than its tolerance and on a
pinned result the run did not produce. A result the file does not pin is
listed but does not fail (an older runs folder may hold more than one build).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from myosem_core.errors import DataError
from myosem_core.io import read_json, write_json

METRICS = ("R@1", "R@3", "MRR")
DIRECTIONS = {"emg_to_text": ("emg_to_text",), "text_to_emg": ("text_to_emg",),
              "heldout_all": ("heldout", "emg_to_text_all_candidates")}
#: Absolute tolerance per metric. Same seed gives the same numbers on one machine; the slack covers another
#: CPU's floating-point rounding (a trained network then lands like a close seed), not a changed recipe.
DEFAULT_TOLERANCE = {"R@1": 0.02, "R@3": 0.02, "MRR": 0.02}


def _variant(config: dict) -> str:
    """A readable name for what sets a results folder apart from the default: ``default`` or
    ``key=value,...`` (sorted) over its data options (subject calibration) and its run key's parts."""
    options = {**({"subject_calibration": config["data"]["subject_calibration"]}
                  if config.get("data", {}).get("subject_calibration") is not None else {}),
               **config.get("key", {})}
    if not options:
        return "default"
    return ",".join(f"{k}={json.dumps(v, sort_keys=True, separators=(',', ':'))}" for k, v in sorted(options.items()))


def _folder_config(folder: Path) -> dict:
    """The ``config.json`` a results folder was written with ({} when absent)."""
    return read_json(folder / "config.json") if (folder / "config.json").is_file() else {}


def _metrics(result: dict) -> dict[str, float]:
    out = {}
    for name, path in DIRECTIONS.items():
        node = result
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            out.update({f"{name} {m}": float(node[m]) for m in METRICS if m in node})
    return out


def collect(runs: str | Path, dataset: str, preset: str, seed: int = 0, data_dir: str | None = None) -> dict:
    """``{result name: {"<direction> <metric>": value}}`` of every current result of ``seed`` under ``runs``.

    ``data_dir`` (default: the one each folder's ``config.json`` records) only completes the recipe check.
    """
    from ..grid import MODELS, current_results

    runs, out = Path(runs), {}
    for folder in sorted(runs.glob(f"experiments-{dataset}-{preset}-*")):
        cfg = _folder_config(folder)
        folder_data = cfg.get("data", {}).get("data_dir")
        for r in current_results(folder, MODELS, preset, dataset, data_dir or folder_data):
            if r["seed"] == seed:
                out[f"grid/{_variant(cfg)}/{r['protocol']}/{r['model']}"] = _metrics(r)
    for folder in sorted(runs.glob(f"retrieval-{dataset}-{preset}-*")):
        variant = _variant(_folder_config(folder))
        for path in sorted(folder.glob(f"{dataset}__*__*__seed{seed}.json")):
            r = read_json(path)
            out[f"notebook/{variant}/{r['protocol']}/{r['model']}"] = _metrics(r)
    return dict(sorted(out.items()))


@dataclass
class Comparison:
    """What a check found: moved values, pinned results not produced, produced results not pinned."""

    moved: list[str]
    missing: list[str]
    unpinned: list[str]
    n_checked: int

    @property
    def ok(self) -> bool:
        return not self.moved and not self.missing

    def report(self) -> str:
        lines = [f"expected results: {self.n_checked} values checked, {len(self.moved)} moved, "
                 f"{len(self.missing)} pinned results missing, {len(self.unpinned)} results not pinned"]
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
    for field in ("dataset", "preset", "seed", "tolerance", "results"):
        if field not in data:
            raise DataError(path, field, "missing; the file is written by `make expected`")
    return data


def compare(expected: dict, produced: dict) -> Comparison:
    """Every pinned value against the produced one, within the file's tolerance per metric."""
    tol = {**DEFAULT_TOLERANCE, **expected["tolerance"]}
    moved, missing, n = [], [], 0
    for name, values in expected["results"].items():
        got = produced.get(name)
        if got is None:
            missing.append(f"{name}: pinned but not produced by this run")
            continue
        for key, want in values.items():
            metric = key.rsplit(" ", 1)[-1]
            n += 1
            if key not in got:
                missing.append(f"{name} {key}: pinned but absent from the result file")
            elif abs(got[key] - want) > tol[metric]:
                moved.append(f"{name} {key}: expected {want:.4f}, got {got[key]:.4f} "
                             f"({got[key] - want:+.4f}, tolerance {tol[metric]:g})")
    unpinned = sorted(set(produced) - set(expected["results"]))
    return Comparison(moved, missing, unpinned, n)


def write_expected(path: str | Path, produced: dict, dataset: str, preset: str, seed: int,
                   tolerance: dict | None = None, command: str = "") -> Path:
    """Pin ``produced`` (atomically); refuses an empty set, which would pin nothing and always pass."""
    if not produced:
        raise DataError(path, "results", f"no current {dataset}/{preset}/seed {seed} results found to pin; "
                        "run `make test` (or the notebooks) first")
    rounded = {k: {m: round(v, 6) for m, v in vals.items()} for k, vals in produced.items()}
    return write_json(path, {"dataset": dataset, "preset": preset, "seed": seed,
                             "tolerance": {**DEFAULT_TOLERANCE, **(tolerance or {})},
                             "written_by": command, "results": rounded})
