"""Cross-device retrieval figures: a DB1-trained MyoSem model on synthetic devices, zero-shot and few-shot.

Per device (:data:`~myosem_core.data.device_files.DEVICES`: 8 ch at 250 Hz raw,
16 ch at 2 kHz raw, and DB1's own layout, 10 RMS channels at 100 Hz, as a
same-layout control) ``n_subjects`` synthetic prompt sessions are simulated.
Repetitions ``1..n_shot_reps`` are the pool the few labelled windows are drawn
from; the later repetitions are the test windows (split by repetition, so no
test window overlaps a shot). Rows, all as EMG->text over the device's own
prompt descriptions (``close the index finger``, ...; chance = 1 / classes):

- ``MyoSem zero-shot``: the resampling / RMS path of :mod:`myosem_core.cross_device`;
- ``MyoSem few-shot (k)``: plus a ridge map fitted on k windows per class;
- ``nearest class mean (k)``: no model at all, per-channel mean log envelope of
  the same k windows per class (the floor any adaptation has to beat).

``db1_prototypes`` is the zero-shot R@1 of single-finger prompts against the
model's 12 DB1 classes (index closed -> "index flexion"; chance 1/12).

    python -m myosem_experiments.evaluation.cross_device --data-dir ../shared/data/ninapro-db1 --preset quick
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from myosem_core.cross_device import CrossDevice, labelled_windows
from myosem_core.data.device_files import DEVICES, Device, device_recording
from myosem_core.data.windows import WindowSet
from myosem_core.metrics import retrieval_summary, true_ranks
from myosem_core.threads import set_threads

#: Single-finger prompts and the DB1 exercise-A movement that is the same action.
DB1_EQUIVALENT = {"fingers/16": "ninapro/A/11", "fingers/8": "ninapro/A/1", "fingers/4": "ninapro/A/3",
                  "fingers/2": "ninapro/A/5", "fingers/1": "ninapro/A/7"}


@dataclass(frozen=True)
class CrossDeviceConfig:
    devices: tuple[Device, ...] = DEVICES
    n_subjects: int = 2  # synthetic sessions per device (each its own electrode placement)
    n_repetitions: int = 6  # repetitions of each of the 8 finger prompts per session
    n_shot_reps: int = 2  # repetitions the labelled shots come from; the rest are test windows
    shots: tuple[int, ...] = (1, 5)  # labelled windows per class
    n_draws: int = 5  # random draws of the shots
    lam: float = 1.0  # ridge strength of the few-shot map (pulls toward the zero-shot identity)
    seed: int = 0


def emg_to_text(scores: np.ndarray, y: np.ndarray) -> dict:
    """R@1/3/5 and MRR of each window ranking the candidates (no bootstrap: draws are averaged instead)."""
    return retrieval_summary(true_ranks(scores, y), tuple(k for k in (1, 3, 5) if k <= scores.shape[1]))


def _scores_nearest_mean(train: WindowSet, test: WindowSet, classes: list[str]) -> np.ndarray:
    def feat(X):
        f = np.log(X.mean(axis=1) + 1e-6)
        return f - f.mean(axis=1, keepdims=True)  # gain-free across channels
    Ftr, Fte = feat(train.X), feat(test.X)
    C = np.stack([Ftr[train.labels == k].mean(0) for k in classes])
    return -((Fte[:, None, :] - C[None]) ** 2).sum(-1)


def evaluate_device(xd: CrossDevice, device: Device, cfg: CrossDeviceConfig = CrossDeviceConfig()) -> dict:
    """Zero-shot, few-shot and the nearest-class-mean floor on fresh synthetic sessions of ``device``."""
    rows: dict[str, list[dict]] = {}
    db1 = []
    for subject in range(1, cfg.n_subjects + 1):
        rec = device_recording(device, subject, cfg.n_repetitions, cfg.seed)
        conv = xd.convert(rec)
        ws = labelled_windows(conv, xd.layout)
        norm = xd.normalizer(conv)
        sentences = rec.meta["descriptions"]
        classes = list(sentences)
        pool, test = ws.subset(ws.repetition <= cfg.n_shot_reps), ws.subset(ws.repetition > cfg.n_shot_reps)
        y = np.array([classes.index(k) for k in test.labels])
        keys, _, V = xd.candidates(sentences)
        xd.map = xd.map.__class__(np.inf)
        Z0 = xd.embed(test.X, norm)
        rows.setdefault("MyoSem zero-shot", []).append(emg_to_text(Z0 @ V.T, y))
        # the model's own DB1 classes for the single-finger prompts
        pk, _, P = xd.candidates(None)
        single = np.isin(test.labels, list(DB1_EQUIVALENT))
        if single.any() and all(v in pk for v in DB1_EQUIVALENT.values()):
            yt = np.array([pk.index(DB1_EQUIVALENT[k]) for k in test.labels[single]])
            db1.append(emg_to_text(Z0[single] @ P.T, yt))
        rng = np.random.default_rng([cfg.seed, subject])
        for k in cfg.shots:
            for _ in range(cfg.n_draws):
                pick = np.concatenate([rng.choice(np.flatnonzero(pool.labels == c), k, replace=False) for c in classes])
                shots = pool.subset(pick)
                xd.fit_few_shot(shots, norm, sentences, cfg.lam)
                rows.setdefault(f"MyoSem few-shot ({k}/class)", []).append(
                    emg_to_text(xd.embed(test.X, norm) @ V.T, y))
                rows.setdefault(f"nearest class mean ({k}/class)", []).append(
                    emg_to_text(_scores_nearest_mean(shots, test, classes), y))
        xd.map = xd.map.__class__(np.inf)
    summary = {name: {m: float(np.mean([r[m] for r in rs])) for m in ("R@1", "R@3", "MRR")} | {"n": len(rs)}
               for name, rs in rows.items()}
    return {"device": asdict(device), "synthetic": True, "n_classes": len(classes), "chance_R@1": 1 / len(classes),
            "rows": summary,
            "db1_prototypes": {"R@1": float(np.mean([r["R@1"] for r in db1])), "chance_R@1": 1 / len(pk),
                               "n_classes": len(DB1_EQUIVALENT)} if db1 else None}


def evaluate_cross_device(xd: CrossDevice, cfg: CrossDeviceConfig = CrossDeviceConfig()) -> dict:
    """:func:`evaluate_device` for every device of ``cfg``; ``{"config": ..., "devices": {name: result}}``."""
    return {"config": asdict(cfg), "devices": {d.name: evaluate_device(xd, d, cfg) for d in cfg.devices}}


def table(results: dict):
    """One row per (device, method): R@1, R@3, MRR and chance, as a DataFrame."""
    import pandas as pd

    out = []
    for name, r in results["devices"].items():
        for method, m in r["rows"].items():
            out.append({"device": name, "method": method, "R@1": m["R@1"], "R@3": m["R@3"], "MRR": m["MRR"],
                        "chance R@1": r["chance_R@1"]})
    return pd.DataFrame(out)


def main(argv=None) -> None:
    import argparse

    from myosem_core.presets import make_config

    from ..pipeline import run_myosem

    p = argparse.ArgumentParser(description="A DB1-trained MyoSem model on synthetic devices (zero-/few-shot)")
    p.add_argument("--preset", default="quick")
    p.add_argument("--data-dir", default=None, help="NinaPro DB1 folder (default: the synthetic dataset)")
    p.add_argument("--protocol", default="rand")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--runs", default=None)
    a = p.parse_args(argv)
    set_threads(1)
    dataset = "ninapro-db1" if a.data_dir else "synthetic"
    o = run_myosem(make_config(a.preset, dataset, a.data_dir, a.seed), a.protocol, runs=a.runs, baselines=())
    res = evaluate_cross_device(CrossDevice(o.stage3, o.text_space), CrossDeviceConfig(seed=a.seed))
    print(f"model: MyoSem {a.preset} trained on {dataset} ({a.protocol}); devices are SYNTHETIC")
    print(table(res).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for name, r in res["devices"].items():
        if r["db1_prototypes"]:
            d = r["db1_prototypes"]
            print(f"{name}: single-finger prompts vs the 12 DB1 classes, zero-shot R@1 {d['R@1']:.3f} "
                  f"(chance {d['chance_R@1']:.3f})")


if __name__ == "__main__":
    main()
