"""Where the grid's results go, and which saved results are current (their recipe still matches today's).

One JSON per row, protocol and seed, ``<dataset>__<protocol>__<model>__seed<k>.json``, in one folder per
data config (:func:`experiment_folder`), shared by every seed.
"""

from __future__ import annotations

from pathlib import Path

from myosem_core.config import make_config, run_directory
from myosem_core.io import read_json
from myosem_core.paths import runs_root
from myosem_core.evaluation.retrieval_results import result_path

from .recipes import recipe
from .rows import MODELS, NEW_USER_PROTOCOLS, PROTOCOLS, model_spec


def resolve_data_dir(data_dir: str | Path | None) -> str | None:
    """The absolute data folder: ``../shared/data/x`` and ``/abs/shared/data/x`` must key the same cached runs."""
    return str(Path(data_dir).expanduser().resolve()) if data_dir else None


def experiment_folder(preset: str = "quick", dataset: str = "synthetic", data_dir: str | None = None,
                      runs: str | Path | None = None) -> Path:
    """``<runs>/experiments-<dataset>-<preset>-<hash of the data config>``: every seed's results of this data."""
    cfg = make_config(preset, dataset, resolve_data_dir(data_dir), seed=0)
    return run_directory(runs_root(runs), cfg, name=f"experiments-{dataset}")


def load_experiment_results(folder: str | Path) -> list[dict]:
    """Every result JSON in an experiment folder."""
    return [read_json(p) for p in sorted(Path(folder).glob("*__*__*__seed*.json"))]


def cached_result(name: str, protocol: str, seed: int, preset: str, dataset: str, data_dir: str | None,
                  runs: str | Path | None = None) -> dict | None:
    """The saved result of one row when its recipe still matches today's code, else None."""
    data_dir = resolve_data_dir(data_dir)
    path = result_path(experiment_folder(preset, dataset, data_dir, runs), dataset, protocol, name, seed)
    if not path.is_file():
        return None
    cached = read_json(path)
    rec = recipe(model_spec(name), make_config(preset, dataset, data_dir, seed), protocol)
    return cached if cached.get("recipe_hash") == rec["hash"] else None


def current_results(folder: str | Path, models, preset: str, dataset: str, data_dir: str | None = None) -> list[dict]:
    """The results in ``folder`` of ``models`` on ``dataset`` whose recipe hash matches today's recipe.

    A file written before a config change (a stale recipe) is left out, never shown as current.
    """
    data_dir, out = resolve_data_dir(data_dir), []
    for r in load_experiment_results(folder):
        if r.get("dataset") != dataset or r.get("model") not in models or r.get("protocol") not in PROTOCOLS + NEW_USER_PROTOCOLS:
            continue
        cfg = make_config(preset, dataset, data_dir, r["seed"])
        if r.get("recipe_hash") == recipe(MODELS[r["model"]], cfg, r["protocol"])["hash"]:
            out.append(r)
    return out
