"""AEMG experiments: LOSO zero-shot / few-shot on the main dataset, and transfer to an unseen device.

**LOSO.** Target subjects are split into ``n_groups`` pretraining groups (round
robin in natural order). For each group an AEMG encoder is pretrained (label
free) on every other subject of the main dataset plus the synthetic devices,
so no window of a target ever reaches its own encoder, vocabulary or probe.
Rows compared under :func:`myosem_core.evaluation.loso.evaluate_loso`:

- AEMG (pretrained): kNN and linear probe on frozen embeddings;
- AEMG (no pretraining): the same tokenizer and Transformer architecture at its
  seeded initialisation, same probes;
- LDA on per-channel log MAV / RMS / WL / VAR (the classical anchor).

**Cross-device.** The synthetic device ``cross_device`` (16 channels, 1 kHz raw
by default) is held out: one encoder is pretrained with the group-0 data but
without that device, and compared with group 0's encoder (which saw other
subjects of that device) on fresh subjects of the device (LOSO over them).

    results, folder = load_or_run_aemg_evaluation(cfg)   # cached by config hash

From a shell (prints the LOSO summary; ``results.json`` lands in the run folder)::

    python -m myosem_experiments.evaluation.aemg --preset full --data-dir ../shared/data/ninapro-db1
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from myosem_core.baselines.classical import time_domain_features
from myosem_core.config import Config
from myosem_core.data.windows import WindowSet
from myosem_core.errors import ConfigError
from myosem_core.evaluation.aemg_config import AEMGEvalConfig
from myosem_core.evaluation.loso import evaluate_loso
from myosem_core.io import read_json, write_json
from myosem_core.paths import runs_root
from myosem_core.run_store import data_identity, is_complete, run_folder
from myosem_core.presets import preset_names
from myosem_core.training.aemg import (
    AEMGConfig,
    AEMGEncoder,
    device_seed,
    device_windows,
    load_or_pretrain_aemg,
)
from myosem_core.presets import preset_section

PRETRAINED, RANDOM, LDA = "AEMG (pretrained)", "AEMG (no pretraining)", "LDA (log MAV/RMS/WL/VAR)"


def choose_targets(subjects, max_targets: int | None) -> list[str]:
    """Every subject (natural order), or ``max_targets`` of them evenly spaced."""
    subjects = sorted(set(np.asarray(subjects).astype(str).tolist()), key=lambda s: (len(s), s))
    if max_targets is None or max_targets >= len(subjects):
        return subjects
    pick = np.unique(np.round(np.linspace(0, len(subjects) - 1, max_targets)).astype(int))
    return [subjects[i] for i in pick]


def target_groups(targets: list[str], n_groups: int) -> list[list[str]]:
    n_groups = max(1, min(n_groups, len(targets)))
    return [targets[g::n_groups] for g in range(n_groups)]


def encoder_rows(encoders: dict[str, AEMGEncoder], ws: WindowSet, seed: int, progress: bool = True) -> dict:
    """LOSO rows (name -> (method, target -> features)) of pretrained / random-init encoders and LDA.

    ``encoders`` maps each target subject to the encoder it may use.
    """
    from tqdm.auto import tqdm

    cache: dict[tuple[int, bool], np.ndarray] = {}
    unique = {id(e): e for e in encoders.values()}
    for key, enc in tqdm(unique.items(), desc="embedding windows", disable=not progress):
        cache[(key, True)] = enc.embed(ws)
        cache[(key, False)] = enc.random_init(seed).embed(ws)
    F = time_domain_features(ws.X)
    rows = {}
    for label, pre in ((PRETRAINED, True), (RANDOM, False)):
        for method, name in (("knn", "kNN"), ("probe", "linear probe")):
            rows[f"{label} · {name}"] = (method, lambda t, pre=pre: cache[(id(encoders[t]), pre)])
    rows[f"{LDA} · LDA"] = ("lda", lambda t: F)
    return rows


def run_aemg_evaluation(cfg: Config, ws: WindowSet, aemg: AEMGConfig, ev: AEMGEvalConfig,
                        runs: str | Path | None = None, progress: bool = True) -> dict:
    """Pretrain what is missing, then LOSO (zero- and few-shot) and the cross-device experiment."""
    t0 = time.perf_counter()
    targets = choose_targets(ws.subject, ev.max_targets)
    groups = target_groups(targets, ev.n_groups)
    encoders, pretraining = {}, {}
    for g, members in enumerate(groups):
        enc = load_or_pretrain_aemg(ws, aemg, cfg.seed, exclude_subjects=members, runs=runs, progress=progress)
        pretraining[f"group{g}"] = _pretraining_summary(enc, members)
        encoders.update({t: enc for t in members})
    rows = encoder_rows(encoders, ws, cfg.seed, progress)
    t_loso = time.perf_counter()
    loso = evaluate_loso(ws, rows, targets, replace(ev.loso, seed=cfg.seed), progress=progress)
    loso["seconds"] = time.perf_counter() - t_loso
    out = {
        "dataset": cfg.data.dataset, "synthetic": bool(ws.is_synthetic), "preset": cfg.preset, "seed": cfg.seed,
        "n_subjects": len(set(ws.subject.tolist())), "targets": targets, "groups": groups,
        "all_folds": len(targets) == len(set(ws.subject.tolist())),
        "class_keys": list(ws.class_keys), "n_windows": len(ws), "window_s": cfg.data.window.length_s,
        "hop_s": cfg.data.window.hop_s, "pretraining": pretraining, "loso": loso,
    }
    if ev.cross_device:
        out["cross_device"] = cross_device_evaluation(cfg, ws, aemg, ev, encoders[groups[0][0]], groups[0], runs,
                                                      progress)
    out["seconds"] = time.perf_counter() - t0
    return out


def cross_device_evaluation(cfg: Config, ws: WindowSet, aemg: AEMGConfig, ev: AEMGEvalConfig, seen: AEMGEncoder,
                            exclude_subjects, runs=None, progress: bool = True) -> dict:
    """LOSO over fresh subjects of the held-out device: encoder that saw the device vs one that never did."""
    device = {d.name: d for d in aemg.devices}.get(ev.cross_device)
    if device is None:
        raise ConfigError(f"cross_device {ev.cross_device!r} is not one of {[d.name for d in aemg.devices]}")
    unseen = load_or_pretrain_aemg(ws, aemg, cfg.seed, exclude_subjects=exclude_subjects,
                                   exclude_devices=(device.name,), runs=runs, progress=progress)
    dev_ws = device_windows(device, ev.cross_subjects, ev.cross_repetitions, device_seed(cfg.seed, device, "eval"),
                            aemg.device_window)
    Z = {"seen": seen.embed(dev_ws), "unseen": unseen.embed(dev_ws), "random": unseen.random_init(cfg.seed).embed(dev_ws)}
    F = time_domain_features(dev_ws.X)
    rows = {
        "AEMG, device seen in pretraining · linear probe": ("probe", lambda t: Z["seen"]),
        "AEMG, device never seen · linear probe": ("probe", lambda t: Z["unseen"]),
        "AEMG, device never seen, no pretraining · linear probe": ("probe", lambda t: Z["random"]),
        f"{LDA} · LDA": ("lda", lambda t: F),
    }
    loso_cfg = replace(ev.loso, fractions=(ev.loso.headline_fraction,), seed=cfg.seed)
    res = evaluate_loso(dev_ws, rows, None, loso_cfg, progress=progress)
    return {"device": asdict(device), "synthetic": True, "n_subjects": ev.cross_subjects,
            "n_windows": len(dev_ws), "unseen_pretraining": _pretraining_summary(unseen, exclude_subjects), **res}


def _pretraining_summary(enc: AEMGEncoder, excluded) -> dict:
    info = enc.info
    total = np.sum([np.asarray(u) for u in info.get("vocab_usage", {}).values()], axis=0)
    return {"folder": enc.folder.name if enc.folder else None, "excluded_subjects": list(excluded),
            "excluded_devices": info.get("exclude_devices", []), "seconds": info.get("seconds"),
            "threads": info.get("threads"), "sources": info.get("sources"), "final": info.get("final"),
            "curves": enc.curves,
            "majority_word_share": float(total.max() / total.sum()) if np.size(total) else None,
            "vocab_usage": info.get("vocab_usage")}


def evaluation_folder(cfg: Config, aemg: AEMGConfig, ev: AEMGEvalConfig, runs=None) -> Path:
    """The study's run folder: keyed by the data's identity, the seed, both AEMG sections and the study's code."""
    return run_folder(runs_root(runs), "aemg-eval", label=f"{cfg.data.dataset}-{cfg.preset}",
                      data=data_identity(cfg.data), seed=cfg.seed, sections={"aemg": aemg, "aemg_eval": ev},
                      code=(__name__,))


def load_or_run_aemg_evaluation(cfg: Config, aemg: AEMGConfig | None = None, ev: AEMGEvalConfig | None = None,
                                ws: WindowSet | None = None, runs: str | Path | None = None,
                                progress: bool = True) -> tuple[dict, Path]:
    """``(results, folder)``: the saved ``results.json`` if the config hash matches, else run and save it."""
    aemg = aemg or preset_section(cfg.preset, "aemg")
    ev = ev or preset_section(cfg.preset, "aemg_eval")
    folder = evaluation_folder(cfg, aemg, ev, runs)
    if is_complete(folder):
        return read_json(folder / "results.json"), folder
    if ws is None:
        from myosem_core.prepare import load_config_windows

        ws = load_config_windows(cfg)
    results = run_aemg_evaluation(cfg, ws, aemg, ev, runs, progress)
    write_json(folder / "results.json", results)
    return results, folder


def main(argv=None) -> None:
    import argparse

    from myosem_core.presets import make_config

    p = argparse.ArgumentParser(description="AEMG pretraining + LOSO zero-/few-shot + cross-device evaluation")
    p.add_argument("--preset", default="quick", choices=preset_names())
    p.add_argument("--dataset", default=None, help="default: ninapro-db1 with --data-dir, else synthetic")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", default=None, help="run folder root (default: $MYOSEM_RUNS or <repo>/runs)")
    a = p.parse_args(argv)
    dataset = a.dataset or ("ninapro-db1" if a.data_dir else "synthetic")
    results, folder = load_or_run_aemg_evaluation(make_config(a.preset, dataset, a.data_dir, a.seed), runs=a.runs)
    loso = results["loso"]
    print(f"{folder}/results.json  ({results['dataset']}, {len(results['targets'])} LOSO folds)")
    for g, info in results["pretraining"].items():
        print(f"pretraining {g}: {info['seconds']:.0f} s on {info['threads']} thread(s), "
              f"held-out masked-word accuracy {info['final']['val_masked_acc']:.3f}")
    for name, z in loso["zero_shot"].items():
        few = loso["few_shot"].get(name, {}).get("fractions", {})
        curve = "  ".join(f"{100 * float(f):g}%: {100 * v['mean']:.1f}" for f, v in few.items())
        print(f"{name:45s} zero-shot {100 * z['mean']:5.1f} ± {100 * z['std']:4.1f}   few-shot {curve}")
    if "cross_device" in results:
        for name, z in results["cross_device"]["zero_shot"].items():
            print(f"[synthetic {results['cross_device']['device']['name']}] {name:55s} zero-shot {100 * z['mean']:5.1f}")


if __name__ == "__main__":
    main()
