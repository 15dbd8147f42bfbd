"""Where retrieval results go, and which saved results are current (their recipe still matches today's).

One JSON per row, protocol and seed, ``<dataset>__<protocol>__<model>__seed<k>.json``, in one folder per
data identity and preset (:func:`results_folder`), shared by every seed. The comparison grid writes the
default folder; a changed split (``variant``) gets a folder of its own.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from myosem_core.config import Config, DataConfig
from myosem_core.evaluation.retrieval_results import result_path
from myosem_core.io import read_json
from myosem_core.paths import runs_root
from myosem_core.presets import make_config
from myosem_core.run_store import data_identity, read_record, run_folder
from myosem_core.typed import build_config

from .recipes import recipe
from .rows import GRID_PROTOCOLS, MODELS, model_spec


def results_folder(cfg: Config, runs: str | Path | None = None, **variant) -> Path:
    """``<runs>/results-<dataset>-<preset>-<key>``: the results of every model and seed on the config's data
    (keyed by what the data files contain, not where they lie); ``variant`` keys a folder of its own."""
    return run_folder(runs_root(runs), "results", label=f"{cfg.data.dataset}-{cfg.preset}",
                      data=data_identity(cfg.data), sections=variant)


def experiment_config(preset: str, dataset: str, data_dir: str | None, seed: int, data: DataConfig | None = None
                      ) -> Config:
    """The config of one grid cell: the preset's, or with ``data`` (a changed data option such as per-subject
    calibration) in place of the preset's data section; the synthetic generator keeps the cell's seed."""
    cfg = make_config(preset, dataset, data_dir, seed)
    if data is None:
        return cfg
    return replace(cfg, data=replace(data, dataset=dataset, data_dir=cfg.data.data_dir, synthetic=cfg.data.synthetic))


def experiment_folder(preset: str = "quick", dataset: str = "synthetic", data_dir: str | None = None,
                      runs: str | Path | None = None, data: DataConfig | None = None) -> Path:
    """The comparison grid's results folder for a preset and dataset (``data``: a changed data config)."""
    return results_folder(experiment_config(preset, dataset, data_dir, 0, data), runs)


def folder_data(folder: str | Path) -> DataConfig:
    """The data config a results folder was written for (its ``config.json``), without the data folder."""
    fields = {k: v for k, v in read_record(folder)["data"].items() if k != "content"}
    return build_config(DataConfig, fields, f"{Path(folder) / 'config.json'}: data")


def load_experiment_results(folder: str | Path) -> list[dict]:
    """Every result JSON in a results folder."""
    return [read_json(p) for p in sorted(Path(folder).glob("*__*__*__seed*.json"))]


def cached_result(name: str, protocol: str, seed: int, preset: str, dataset: str, data_dir: str | None,
                  runs: str | Path | None = None, data=None) -> dict | None:
    """The saved result of one row when its recipe still matches today's code, else None."""
    path = result_path(experiment_folder(preset, dataset, data_dir, runs, data), dataset, protocol, name, seed)
    if not path.is_file():
        return None
    cached = read_json(path)
    rec = recipe(model_spec(name), experiment_config(preset, dataset, data_dir, seed, data), protocol)
    return cached if cached.get("recipe_hash") == rec["hash"] else None


def current_results(folder: str | Path, models, preset: str, dataset: str, data_dir: str | None = None) -> list[dict]:
    """The results in ``folder`` of ``models`` on ``dataset`` whose recipe hash matches today's recipe.

    A file written before a config or code change (a stale recipe) is left out, never shown as current.
    """
    out, data = [], folder_data(folder)
    for r in load_experiment_results(folder):
        if r.get("dataset") != dataset or r.get("model") not in models or r.get("protocol") not in GRID_PROTOCOLS:
            continue
        cfg = experiment_config(preset, dataset, data_dir, r["seed"], data)
        if r.get("recipe_hash") == recipe(MODELS[r["model"]], cfg, r["protocol"])["hash"]:
            out.append(r)
    return out
