"""Calibrate a MyoSem model to one person's device from one labelled recording, and keep it as a run.

A calibration recording is any recording :mod:`myosem_core.data.own_recordings`
or :mod:`myosem_core.data.brainflow_files` reads with labels, typically a prompt
session ("thumb, index and middle closed", ...). :func:`calibrate_device` fits,
through the resampling / RMS path of :mod:`myosem_core.cross_device`:

1. the **normalizer** (log floor, per-channel z-score) on all of the recording's
   windows, labels unused, so later recordings and live streams of the device
   are normalised like it without seeing themselves first;
2. the **few-shot map** (:class:`~myosem_core.cross_device.FewShotMap`) from the
   labelled windows' embeddings to the text embeddings of their prompts'
   descriptions (all labelled windows, or ``shots`` per prompt drawn with ``seed``);
3. a **check**: leave one repetition out, fit on the others, rank the held-out
   repetition's windows against the prompts (R@1), beside the zero-shot R@1 of
   the same windows.

The result is a run of the run store (``calibration-<device>-<key>/``, the key a
hash of the recording's bytes, the model runs, the settings and the code) holding
``calibration.json`` and ``map.npy``; ``myosem query --run`` and
``myosem live --run`` take it in place of the model run.

    cal = calibrate_device(CrossDevice(stage3, text_space), read_recording("prompts.csv"))
    folder = save_calibration(cal, runs_root())
    xd = CrossDevice(stage3, text_space, calibration=load_calibration(folder))
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .cross_device import FEW_SHOT_LAM, CrossDevice, FewShotMap, Layout, labelled_windows, sliding_windows
from .data.session import Recording
from .errors import DataError
from .io import atomic_path, read_json, write_json
from .metrics import retrieval_summary, true_ranks
from .training.normalization import InputNormalizer

CALIBRATION_FILE = "calibration.json"


@dataclass
class DeviceCalibration:
    """What a device's calibration fixes: normalizer, few-shot map and the prompts' sentences."""

    stage3_run: str
    stage1_run: str
    layout: Layout
    normalizer: InputNormalizer
    sentences: dict[str, str]  # class key -> description, the candidates the device's windows rank
    W: np.ndarray | None  # (D, D) few-shot map, None = zero-shot
    lam: float = FEW_SHOT_LAM
    info: dict = field(default_factory=dict)
    folder: Path | None = None

    def few_shot_map(self) -> FewShotMap:
        m = FewShotMap(self.lam)
        m.W = self.W
        return m


def _held_out_repetitions(xd: CrossDevice, Z0: np.ndarray, ws, V: np.ndarray, keys: list[str], lam: float) -> dict:
    """Leave-one-repetition-out R@1 of the map fitted on the other repetitions, and zero-shot R@1 of the same."""
    y = np.array([keys.index(k) for k in ws.labels])
    ranks_map, ranks_zero = [], []
    for r in np.unique(ws.repetition):
        test, train = ws.repetition == r, ws.repetition != r
        if len(np.unique(y[train])) < len(keys):  # a prompt seen only in this repetition: nothing to fit it on
            continue
        Zm = FewShotMap(lam).fit(Z0[train], V[y[train]])(Z0[test])
        ranks_map.append(true_ranks(Zm @ V.T, y[test]))
        ranks_zero.append(true_ranks(Z0[test] @ V.T, y[test]))
    if not ranks_map:
        return {"held_out_repetitions": 0}
    few, zero = (retrieval_summary(np.concatenate(r), (1,)) for r in (ranks_map, ranks_zero))
    return {"held_out_repetitions": len(ranks_map), "held_out_R@1": few["R@1"], "zero_shot_R@1": zero["R@1"],
            "chance_R@1": 1 / len(keys)}


def calibrate_device(xd: CrossDevice, rec: Recording, shots: int | None = None, lam: float = FEW_SHOT_LAM,
                     seed: int = 0) -> DeviceCalibration:
    """Fit normalizer and few-shot map of ``xd``'s model on the labelled recording ``rec`` (see the module)."""
    if not rec.meta.get("descriptions"):
        raise DataError(rec.source, "labels", "expected a labelled recording (prompts from a label column, an events "
                                              "file or markers) to calibrate on")
    conv = xd.convert(rec)
    X_all, _ = sliding_windows(conv, xd.layout)
    normalizer = xd.fit_normalizer(X_all)
    ws = labelled_windows(conv, xd.layout)
    keys = sorted(set(ws.labels.tolist()), key=list(rec.meta["descriptions"]).index)
    if len(keys) < 2:
        raise DataError(rec.source, "labels", f"expected windows of at least two prompts, got {len(keys)} "
                                              f"({keys}); are the prompts long enough for a {xd.layout.window_s:g} s "
                                              "window?")
    if shots is not None:
        if shots < 1:
            raise DataError(rec.source, "shots", f"expected a positive number of windows per prompt, got {shots}")
        rng = np.random.default_rng(seed)
        pick = []
        for k in keys:
            rows = np.flatnonzero(ws.labels == k)
            if len(rows) < shots:
                raise DataError(rec.source, "shots", f"prompt {k!r} has {len(rows)} windows, fewer than the {shots} "
                                                     "asked for")
            pick.append(np.sort(rng.choice(rows, shots, replace=False)))
        ws = ws.subset(np.concatenate(pick))
    sentences = {k: rec.meta["descriptions"][k] for k in keys}
    plain = CrossDevice(xd.run, xd.text_space, xd.layout)
    _, _, V = plain.candidates(sentences)
    Z0 = plain.embed(ws.X, normalizer)
    W = FewShotMap(lam).fit(Z0, V[[keys.index(k) for k in ws.labels]]).W
    counts = {k: int((ws.labels == k).sum()) for k in keys}
    info = {"recording": rec.source, "device": rec.meta.get("device", ""), "board_id": rec.meta.get("board_id"),
            "fs": rec.fs, "channels": rec.n_channels, "signal": rec.signal_kind, "windows_per_prompt": counts,
            "shots": shots, "seed": seed, "normalizer_windows": int(len(X_all)),
            **_held_out_repetitions(plain, Z0, ws, V, keys, lam)}
    return DeviceCalibration(stage3_run=str(getattr(xd.run, "folder", "") or ""),
                             stage1_run=str(getattr(xd.text_space, "run_dir", "") or ""), layout=xd.layout,
                             normalizer=normalizer, sentences=sentences, W=W, lam=lam, info=info)


def recording_digest(*paths) -> str:
    """sha256 of the files' bytes (a recording with its sidecar and events file), in order."""
    h = hashlib.sha256()
    for p in paths:
        if p is not None and Path(p).is_file():
            h.update(Path(p).read_bytes())
    return h.hexdigest()


def save_calibration(cal: DeviceCalibration, runs: str | Path, digest: str) -> Path:
    """Write ``cal`` as a run of the run store, ``<runs>/calibration-<device>-<key>/`` (``calibration.json``
    last), keyed by the recording's bytes (``digest``), the model runs, the settings and this module's code."""
    from .run_store import run_folder

    device = "".join(c if c.isalnum() or c in "-_" else "-" for c in str(cal.info.get("device") or "device"))
    folder = run_folder(runs, "calibration", label=device, data={"recording_sha256": digest},
                        seed=cal.info.get("seed"), upstream=[cal.stage3_run, cal.stage1_run],
                        sections={"lam": cal.lam, "shots": cal.info.get("shots"), "layout": asdict(cal.layout)},
                        code=("myosem_core.device_calibration",))
    (folder / CALIBRATION_FILE).unlink(missing_ok=True)  # incomplete until it is written again
    if cal.W is not None:
        with atomic_path(folder / "map.npy", ".npy") as tmp:
            np.save(tmp, cal.W.astype(np.float64))
    write_json(folder / CALIBRATION_FILE, {
        "stage3_run": cal.stage3_run, "stage1_run": cal.stage1_run, "layout": asdict(cal.layout),
        "normalizer": cal.normalizer.to_dict(), "sentences": cal.sentences, "lam": cal.lam,
        "map": "map.npy" if cal.W is not None else None, "info": cal.info})
    return folder


def is_calibration(folder: str | Path) -> bool:
    return (Path(folder) / CALIBRATION_FILE).is_file()


def load_calibration(folder: str | Path) -> DeviceCalibration:
    """A calibration run folder written by :func:`save_calibration`."""
    folder = Path(folder)
    path = folder / CALIBRATION_FILE
    if not path.is_file():
        raise DataError(folder, CALIBRATION_FILE, "not a calibration run (expected calibration.json; make one with "
                                                  "`myosem calibrate`)")
    d = read_json(path)
    W = None
    if d.get("map"):
        try:
            W = np.load(folder / d["map"], allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(folder / d["map"], None, f"expected the calibration's few-shot map ({exc})") from exc
    return DeviceCalibration(stage3_run=d["stage3_run"], stage1_run=d["stage1_run"], layout=Layout(**d["layout"]),
                             normalizer=InputNormalizer.from_dict(d["normalizer"]), sentences=dict(d["sentences"]),
                             W=W, lam=float(d["lam"]), info=d.get("info", {}), folder=folder)
