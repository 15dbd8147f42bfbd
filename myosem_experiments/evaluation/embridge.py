"""The experiment grid of notebook 07: every table (main, ablations, batch size, data efficiency, tau_s / k_c
sensitivity) as one dict saved to JSON; models come from the run cache, metrics are kept beside each model."""

from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

from tqdm.auto import tqdm

from myosem_core.config import Config
from myosem_core.data.protocols import make_split
from myosem_core.data.windows import WindowSet
from myosem_core.io import read_json, write_json
from myosem_core.paths import runs_root
from myosem_core.run_store import code_version, data_identity, digest, run_folder
from myosem_core.training.embridge.config import EMBridgeConfig, variant
from myosem_core.training.embridge.data import require_pose
from myosem_core.training.embridge.evaluate import evaluate_aligner, evaluate_mae
from myosem_core.training.embridge.store import ModelStore
from myosem_core.presets import preset_section


def run_embridge_experiments(cfg: Config, ws: WindowSet, ecfg: EMBridgeConfig | None = None, runs=None,
                             progress: bool = True) -> dict:
    """Every table of notebook 07 (main, ablations, batch size, data efficiency, tau_s / k_c sensitivity).

    Models come from the one run cache (:class:`~myosem_core.training.embridge.store.ModelStore`, shared with the comparison grid's CPEP / EMBridge
    rows); the result dict is written to ``<runs>/embridge-<dataset>-<preset>-<key>/results.json``.
    """
    require_pose(ws)
    ecfg = ecfg or preset_section(cfg.preset, "embridge")
    out_dir = run_folder(runs_root(runs), "embridge", label=f"{cfg.data.dataset}-{ecfg.preset}",
                         data=data_identity(cfg.data), seed=cfg.seed, sections={"embridge": ecfg}, code=(__name__,))
    res: dict = {"dataset": cfg.data.dataset, "preset": ecfg.preset, "seed": cfg.seed, "config": asdict(ecfg),
                 "synthetic": bool(ws.is_synthetic), "main": [], "ablations": [], "batch_size": [],
                 "data_efficiency": [], "sensitivity": [], "timing": []}
    jobs = _jobs(ecfg)
    bar = tqdm(jobs, desc="EMBridge experiments", disable=not progress)
    splits = {p: make_split(ws, p) for p in ecfg.protocols}
    stores = {p: ModelStore.of(ws.subset(s.train), runs) for p, s in splits.items()}  # hashes each training set once
    t0, data = time.perf_counter(), data_identity(cfg.data)
    for table, protocol, name, overrides, extra in bar:
        bar.set_postfix_str(f"{protocol}: {name} {extra}")
        split, store = splits[protocol], stores[protocol]
        # a model folder is keyed by its training windows only: the metrics key names the evaluation windows
        if name in ("Upper bound (pose MAE)", "EMG-MAE"):
            mae = store.mae("pose" if name.startswith("Upper") else "emg", ecfg, cfg.seed, progress)
            metrics = _cached_metrics(mae.folder, (data, split.config.key(), cfg.seed),
                                      lambda: evaluate_mae(mae, ws, split, cfg.seed, ecfg.threads))
            res["timing"].append({"protocol": protocol, "model": name, "train_seconds": mae.seconds,
                                  "train_cpu_seconds": mae.cpu_seconds})
        else:
            align = variant(ecfg.align, name, **overrides)
            run = store.aligner(ecfg, name, align, cfg.seed, progress)
            keep = table == "main" and protocol == "class"
            metrics = _cached_metrics(run.folder, (data, split.config.key(), ecfg.knn_k, cfg.seed, keep),
                                      lambda: evaluate_aligner(run, ws, split, ecfg.knn_k, cfg.seed, keep, ecfg.threads))
            res["timing"].append({"protocol": protocol, "model": name, **extra, "train_seconds": run.seconds,
                                  "train_cpu_seconds": run.cpu_seconds, "n_train_windows": run.n_train})
        res[table].append({"protocol": protocol, "model": name, **extra, "metrics": metrics})
    res["total_seconds"] = time.perf_counter() - t0
    write_json(out_dir / "results.json", res)
    res["path"] = out_dir / "results.json"
    return res


def _cached_metrics(folder: Path | None, key: tuple, evaluate) -> dict:
    """Metrics of a run folder's model for one evaluation setting and evaluation code, computed once and kept
    beside the model."""
    if folder is None:
        return evaluate()
    path = Path(folder) / f"metrics-{digest([key, code_version('myosem_core.training.embridge.evaluate')])}.json"
    if path.is_file():
        return read_json(path)
    metrics = evaluate()
    write_json(path, metrics)
    return metrics


def _jobs(ecfg: EMBridgeConfig) -> list[tuple[str, str, str, dict, dict]]:
    """(table, protocol, model, AlignConfig overrides, extra columns) for every cell of the grid."""
    jobs = []
    for protocol in ecfg.protocols:
        models = ecfg.main_models if protocol == "class" else ecfg.user_models
        for name in ("Upper bound (pose MAE)", "EMG-MAE", *models):
            jobs.append(("main", protocol, name, {}, {}))
    if "class" not in ecfg.protocols:
        return jobs
    for name in ecfg.ablations:
        jobs.append(("ablations", "class", name, {}, {}))
    for bs in ecfg.batch_sizes:
        for name in ecfg.batch_models:
            jobs.append(("batch_size", "class", name, {"batch_size": bs}, {"batch_size": bs}))
    for f in ecfg.fractions:
        jobs.append(("data_efficiency", "class", "EMBridge", {"data_fraction": f}, {"data_fraction": f}))
    for t in ecfg.tau_s_grid:
        jobs.append(("sensitivity", "class", "EMBridge", {"tau_s": t}, {"param": "tau_s", "value": t}))
    for kc in ecfg.k_c_grid:
        jobs.append(("sensitivity", "class", "EMBridge", {"k_c": kc}, {"param": "k_c", "value": kc}))
    return jobs
