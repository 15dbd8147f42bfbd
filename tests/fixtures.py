"""Tiny writers of dataset files in the real layouts, for tests (no real data needed).

- :func:`write_emg2pose_session` / :func:`write_emg2pose_dir`: emg2pose HDF5 session
  files (group ``emg2pose``, compound dataset ``timeseries`` with ``time``, ``emg``
  (T x 16), ``joint_angles`` (T x 20), session attributes) plus ``metadata.csv``.
- :func:`write_ninapro_db2`: a NinaPro DB2-style .mat file (12 raw channels at 2 kHz).
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import scipy.io

EMG2POSE_FS = 2000.0


def emg2pose_timeseries(n: int, seed: int = 0, n_emg: int = 16, n_angles: int = 20) -> np.ndarray:
    """A compound array in emg2pose's dtype: noisy EMG with 50 Hz hum, smooth joint angles."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype([("time", "<f8"), ("joint_angles", "<f8", (n_angles,)), ("emg", "<f4", (n_emg,))])
    t = np.arange(n) / EMG2POSE_FS
    out = np.empty(n, dtype=dtype)
    out["time"] = 1.67e9 + t
    out["emg"] = rng.normal(0, 10, (n, n_emg)) + 5 * np.sin(2 * np.pi * 50 * t)[:, None]
    phase = rng.uniform(0, 2 * np.pi, n_angles)
    out["joint_angles"] = 0.5 + 0.4 * np.sin(2 * np.pi * 0.5 * t[:, None] + phase[None, :])
    return out


def write_emg2pose_session(path: str | Path, stage: str, user: str = "u001", session: str = "sess1",
                           side: str = "right", n: int = 4000, seed: int = 0, timeseries: np.ndarray | None = None,
                           attrs: dict | None = None, group: str = "emg2pose", dataset: str = "timeseries") -> Path:
    """One session file; ``attrs`` overrides attributes (value ``None`` removes one)."""
    path = Path(path)
    ts = emg2pose_timeseries(n, seed) if timeseries is None else timeseries
    meta = {"session": session, "side": side, "stage": stage, "start": float(ts["time"][0]),
            "end": float(ts["time"][-1]), "num_channels": 16, "dataset": "emg2pose", "user": user,
            "sample_rate": EMG2POSE_FS}
    for k, v in (attrs or {}).items():
        if v is None:
            meta.pop(k, None)
        else:
            meta[k] = v
    with h5py.File(path, "w") as f:
        g = f.create_group(group)
        g[dataset] = ts
        g.attrs.update(meta)
    return path


def write_emg2pose_dir(folder: str | Path, sessions: list[dict], drop_columns: tuple[str, ...] = ()) -> Path:
    """Write session files (keyword dicts for :func:`write_emg2pose_session`, plus ``split``)
    and their ``metadata.csv`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, s in enumerate(sessions):
        s = dict(s)
        split = s.pop("split", "train")
        user, session, side = s.setdefault("user", "u001"), s.setdefault("session", f"sess{i}"), s.setdefault("side", "right")
        filename = f"{session}_{side}"
        s.setdefault("seed", i)
        write_emg2pose_session(folder / f"{filename}.hdf5", **s)
        rows.append({"filename": filename, "user": user, "session": session, "stage": s["stage"], "side": side,
                     "moving_hand": "both", "held_out_user": False, "held_out_stage": False, "split": split,
                     "generalization": "user"})
    pd.DataFrame(rows).drop(columns=list(drop_columns)).to_csv(folder / "metadata.csv", index=False)
    return folder


def write_ninapro_db2(path: str | Path, n: int = 6000, exercise: int = 2, subject: int = 1, labels=(18, 19),
                      n_reps: int = 2, n_channels: int = 12, label_shortfall: int = 0, seed: int = 0,
                      emg: np.ndarray | None = None, drop: tuple[str, ...] = (), fs: float = 2000.0) -> Path:
    """A DB2-style session (also DB4/DB5's layout): raw EMG at ``fs`` (with 50 Hz hum), glove, movements ``labels``
    (DB2's global numbering) ``n_reps`` times each, separated by rest; label vectors
    ``label_shortfall`` samples shorter than ``emg`` (DB2's quirk)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    if emg is None:
        emg = rng.normal(0, 1e-5, (n, n_channels)) + 2e-5 * np.sin(2 * np.pi * 50 * t)[:, None]
    label, rep = np.zeros(n, int), np.zeros(n, int)
    blocks = [(lab, r) for lab in labels for r in range(1, n_reps + 1)]
    step = n // (len(blocks) + 1)
    for i, (lab, r) in enumerate(blocks):
        a = step // 2 + i * step
        label[a:a + step // 2], rep[a:a + step // 2] = lab, r
    mat = {"emg": emg, "restimulus": label[: n - label_shortfall, None], "rerepetition": rep[: n - label_shortfall, None],
           "stimulus": label[:, None], "repetition": rep[:, None], "glove": rng.uniform(0, 200, (n, 22)),
           "subject": np.array([[subject]]), "exercise": np.array([[exercise]])}
    for k in drop:
        mat.pop(k)
    scipy.io.savemat(str(path), mat)
    return Path(path)
