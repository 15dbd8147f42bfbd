"""What each ``myosem`` subcommand does. Every function takes the parsed arguments and returns a JSON-able summary.

Training commands are safe under ``torchrun``: data loading and Stage 1 run on
rank 0 first (the others then read the cache / run folder), Stages 2-3 train
data-parallel on every rank, and only rank 0 writes files or prints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from myosem_core import distributed as ddp
from myosem_core.data.protocols import PROTOCOLS
from myosem_core.errors import ConfigError, DataError
from myosem_core.paths import runs_root

from .cli_config import StageConfigs, stage_configs


class MissingArtifact(FileNotFoundError):
    """A run, index or file named on the command line does not exist (exit code 4)."""


def configs(args) -> StageConfigs:
    return stage_configs(args.preset, args.dataset, args.data_dir, args.seed, args.set, args.threads)


def load_data(sc: StageConfigs, protocol: str, progress: bool = False):
    """The windows the config describes and their split, as the book loads them
    (:func:`myosem_core.prepare.load_data`)."""
    from myosem_core.prepare import load_data as config_data

    with ddp.main_first():  # rank 0 fills the window cache, the others read it
        return config_data(sc.cfg, protocol, progress=progress)


def text_space(sc: StageConfigs, ws, split, args):
    from .pipeline import load_stage1_text_space

    return load_stage1_text_space(sc.cfg, ws, split, args.runs, _progress(args), sc.stage1)


def _progress(args) -> bool:
    return not args.quiet and ddp.is_main()


def _stage2(sc, ws, split, args):
    from myosem_core.training import load_or_train_stage2

    return load_or_train_stage2(ws.subset(split.train), ws.subset(split.val), sc.stage2.for_protocol(split.config.name),
                                sc.cfg.seed, args.runs, progress=_progress(args))


def _stage3(sc, ws, split, args):
    """Stages 1-3 as the book trains them (:func:`myosem_experiments.pipeline.train_myosem`): ``(text, P, s2, s3)``."""
    from .pipeline import train_myosem

    return train_myosem(sc.cfg, ws, split, runs=args.runs, stage1=sc.stage1, stage2=sc.stage2, stage3=sc.stage3,
                        progress=_progress(args))


# ------------------------------------------------------------------ commands

def cmd_prepare(args) -> dict:
    from myosem_core.prepare import prepare_data

    sc = configs(args)
    protocols = args.protocols or PROTOCOLS
    if not ddp.is_main():
        return {}
    ws, splits, folder = prepare_data(sc.cfg, protocols, args.runs, _progress(args))
    return {"run": str(folder), "windows": len(ws), "synthetic": bool(ws.is_synthetic),
            "protocols": {name: {s: int((sp.manifest["split"] == s).sum()) for s in ("train", "val", "test")}
                          for name, sp in splits.items()}}


def cmd_train(args) -> dict:
    stage = args.stage
    sc = configs(args)
    ws, split = load_data(sc, args.protocol, _progress(args))
    if stage == 1:
        ts = text_space(sc, ws, split, args)
        return {"stage": 1, "run": str(ts.run_dir), "classes": len(ts.class_keys), "dim": ts.dim}
    if stage == 2:
        s2 = _stage2(sc, ws, split, args)
        best = min(s2.curves, key=lambda r: r["val_ce"]) if s2.curves else {}
        return {"stage": 2, "run": str(s2.folder), "epochs": len(s2.curves), "world_size": ddp.world_size(),
                **{k: best[k] for k in ("val_ce", "val_acc") if k in best}}
    *_, s3 = _stage3(sc, ws, split, args)
    best = min(s3.curves, key=lambda r: r["val_nce"]) if s3.curves else {}
    return {"stage": 3, "run": str(s3.folder), "epochs": len(s3.curves), "world_size": ddp.world_size(),
            **{k: best[k] for k in ("val_nce", "val_r1") if k in best}}


def cmd_evaluate(args) -> dict:
    """Stages 1-3 (data-parallel under torchrun), then MyoSem and the baselines on the test split (rank 0 alone),
    through the book's runner (:mod:`myosem_experiments.pipeline`)."""
    from myosem_core.evaluation.retrieval_results import results_table

    from .pipeline import evaluate_myosem

    sc = configs(args)
    ws, split = load_data(sc, args.protocol, _progress(args))
    _, P, _, s3 = _stage3(sc, ws, split, args)
    me, trained_on = ddp.rank(), ddp.run_key_extra()  # {"world_size": N} for a data-parallel run
    ddp.shutdown()  # training is over: the other ranks leave, rank 0 evaluates (and fits baselines) on its own
    if me != 0:
        return {}
    # the command's own results folder, named by its stage configs (``--set`` included) and, for a model trained
    # on N processes (not the one-process model), the world size
    variant = {"command": "evaluate", "stage1": sc.stage1, "stage2": sc.stage2, "stage3": sc.stage3, **trained_on}
    folder, results = evaluate_myosem(sc.cfg, ws, split, P, s3, args.runs, args.baselines, variant)
    table = results_table(list(results.values()))
    return {"results": str(folder), "table": table.to_dict(orient="records"),
            "files": [str(folder / r["path"]) for r in results.values()]}


def cmd_index(args) -> dict:
    from myosem_core.data.catalog import class_name
    from myosem_core.search import load_index, save_index

    sc = configs(args)
    ws, split = load_data(sc, args.protocol, _progress(args))
    text, _, s2, s3 = _stage3(sc, ws, split, args)
    if not ddp.is_main():
        return {}
    rows = np.arange(len(ws)) if args.split == "all" else split.indices(args.split)
    if len(rows) == 0:
        raise DataError(f"<{args.protocol} split>", "split", f"no {args.split!r} windows to index")
    sub = ws.subset(rows)
    E = s3.embed(sub.X)
    windows = pd.DataFrame({"window": rows, "class_key": sub.labels, "class_name": [class_name(k) for k in sub.labels],
                            "subject": sub.subject, "repetition": sub.repetition, "start": sub.start,
                            "recording": sub.recording})
    folder = Path(s3.folder) / f"index-{args.split}"
    info = {"stage3_run": str(s3.folder), "stage2_run": str(s2.folder), "stage1_run": str(text.run_dir),
            "stage1_query_run": str(text.query_dir) if text.query_dir else None,
            "dataset": sc.cfg.data.dataset, "synthetic": bool(ws.is_synthetic), "protocol": args.protocol,
            "split": args.split, "window_shape": list(ws.X.shape[1:]), **_calibration(text, s3, ws, split)}
    ann = None if args.ann == "none" else args.ann
    save_index(folder, E, windows, info, prototypes=s3.prototypes, ann=ann, progress=_progress(args))
    saved = load_index(folder)
    return {"index": str(folder), "run": str(s3.folder), "n": int(len(E)), "dim": int(E.shape[1]),
            "synthetic": bool(ws.is_synthetic), "approximate": saved.info.get("ann"),
            **({"approximate_bytes": saved.ann.memory_bytes} if saved.ann is not None else {})}


def _calibration(text, s3, ws, split) -> dict:
    """The fitted temperature of p(class | window) and the map to shown probabilities, from the protocol's
    validation windows (never tested) and the development sentences; empty without validation windows."""
    from myosem_core.retrieval import emg_temperature, fit_score_map
    from myosem_core.text.query import query_reader

    val = split.indices("val")
    if len(val) == 0:
        return {}
    cal = ws.subset(val)
    Z = s3.embed(cal.X)
    T = emg_temperature(Z, cal.labels, text.prototypes, text.class_keys)
    m = fit_score_map(query_reader(text), Z, cal.labels, text.prototypes, T)
    return {"emg_temperature": T, "calibrated_on": f"{len(val)} validation windows",
            **({"score_map": m.to_dict()} if m is not None else {})}


def resolve_index(run: str, runs: str | None, split: str) -> Path:
    """The index folder ``run`` names: an index folder, or a Stage-3 run holding ``index-<split>``."""
    p = Path(run).expanduser()
    if not p.exists():
        p = runs_root(runs) / run
    if (p / "index.json").is_file():
        return p
    if (p / f"index-{split}" / "index.json").is_file():
        return p / f"index-{split}"
    if not p.exists():
        raise MissingArtifact(f"run {run!r} not found (neither a folder nor a run under {runs_root(runs)})")
    raise MissingArtifact(f"{p}: no retrieval index (expected {p / f'index-{split}'}/index.json); "
                          "build it with `myosem index` and the options the run was trained with")


def _descriptions(index_info: dict) -> dict[str, str]:
    """Class key -> canonical description from the Stage-1 run's views (empty when unavailable)."""
    from myosem_core.io import read_json

    path = Path(index_info.get("stage1_run", "")) / "views.json"
    if not path.is_file():
        return {}
    return {v["key"]: v["canonical"] for v in read_json(path)}


def cmd_query(args) -> dict:
    from myosem_core.search import load_index

    if args.recording is not None:  # handled by cli_devices.cmd_query; here for a direct call
        raise ConfigError("query --recording is myosem_experiments.cli_devices.cmd_query's")
    if (args.text is None) == (args.window is None):
        raise ConfigError("query needs either a sentence or --window FILE (not both), or --recording FILE")
    if not ddp.is_main():
        return {}
    index = load_index(resolve_index(args.run, args.runs, args.split))
    reading = None
    if args.text is not None:  # every sentence is read first: bad input stops here, off-topic text is refused
        from myosem_core.text.query import query_reader

        space = _stage1_space(index)
        reading = query_reader(space).read(args.text)
        if not reading.known:
            return _refused(args, reading, index)
    if args.text is not None:
        return _query_text(args, index, space, reading)
    return _query_window(args, index)


def _stage1_space(index):
    from myosem_core.text.stage1 import load_stage1

    folder = Path(index.info["stage1_run"])
    query = index.info.get("stage1_query_run")
    for f in (folder, *([Path(query)] if query else [])):
        if not (f / "results.json").is_file():
            raise MissingArtifact(f"{f}: the Stage-1 run this index was built with is missing")
    return load_stage1(folder, query_folder=query)


def _refused(args, reading, index) -> dict:
    from myosem_core.data.catalog import class_name

    return {"query": args.text, "known": False, "message": reading.message(),
            "nearest_candidates": [{"class_key": k, "class_name": class_name(k), "probability": round(p, 4)}
                                   for k, p in reading.nearest(3)],
            "index": str(index.folder), "hits": []}


def _query_text(args, index, space, reading) -> dict:
    """The top windows of a read sentence, prototype-mediated as :class:`~myosem_core.retrieval.RetrievalIndex`
    ranks them; probabilities shown through the index's fitted score map; ``--varied`` spreads them."""
    from myosem_core.retrieval import spread_over_repetitions
    from myosem_core.score_calibration import ScoreMap

    n = len(index.windows)
    pool = min(n, max(100, 50 * args.k)) if args.varied else args.k
    hits = index.search(None, pool, prototypes=space.prototypes, class_probabilities=reading.probabilities[None])
    if args.varied:
        keep = spread_over_repetitions(np.arange(len(hits)), hits["subject"].to_numpy(), hits["repetition"].to_numpy(),
                                       args.k)
        hits = hits.iloc[keep].reset_index(drop=True)
        hits["rank"] = np.arange(1, len(hits) + 1)
    if "score_map" in index.info:
        hits.insert(1, "probability", ScoreMap.from_dict(index.info["score_map"])(hits.pop("score").to_numpy()))
    cols = [c for c in ("rank", "probability", "score", "window", "class_key", "class_name", "subject", "repetition")
            if c in hits.columns]
    return {"query": args.text, "known": True, "message": reading.message(), "index": str(index.folder),
            "synthetic": index.info.get("synthetic"), "varied": bool(args.varied),
            "hits": hits[cols].to_dict(orient="records")}


def _query_window(args, index) -> dict:
    from myosem_core.data.catalog import class_name
    from myosem_core.training.stage3 import load_stage3

    path = Path(args.window).expanduser()
    if not path.is_file():
        raise MissingArtifact(f"{path}: window file not found")
    try:
        x = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(path, None, f"not a readable .npy array ({exc})") from exc
    shape = tuple(index.info["window_shape"])
    x = x[None] if x.ndim == 2 else x
    if x.ndim != 3 or tuple(x.shape[1:]) != shape or len(x) != 1:
        raise DataError(path, "shape", f"expected one window of shape {shape} (samples, channels) "
                        f"or (1, {shape[0]}, {shape[1]}), got {x.shape}")
    if not np.isfinite(x).all():
        raise DataError(path, "values", "the window contains NaN or infinite values")
    run_folder = Path(index.info["stage3_run"])
    if not (run_folder / "results.json").is_file():
        raise MissingArtifact(f"{run_folder}: the Stage-3 run this index was built with is missing")
    run = load_stage3(run_folder)
    z = run.embed(x.astype(np.float32))[0]
    s = run.prototypes @ z
    order = np.argsort(-s, kind="stable")[:args.k]
    canon = _descriptions(index.info)
    ranked = [{"rank": r + 1, "score": float(s[i]), "class_key": run.class_keys[i],
               "class_name": class_name(run.class_keys[i]), "description": canon.get(run.class_keys[i], "")}
              for r, i in enumerate(order)]
    similar = index.search(z, args.k, exact=args.exact)  # the stored windows most like it (approximate past a size)
    cols = [c for c in ("rank", "score", "window", "class_key", "class_name", "subject", "repetition")
            if c in similar.columns]
    return {"window": str(path), "run": str(run_folder), "synthetic": index.info.get("synthetic"), "ranked": ranked,
            "similar": similar[cols].to_dict(orient="records"),
            "search": "exact" if args.exact or index.ann is None else index.ann.settings.kind}
