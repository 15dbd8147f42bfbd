"""One entry point for every dataset: :func:`load_recordings` and cached :func:`load_windows`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm.auto import tqdm

from ..errors import ConfigError, DataError
from ..io import save_npz
from .catalog import ninapro_databases
from .emg2pose import emg2pose_files, read_emg2pose
from .ninapro import FilterConfig, ninapro_files, read_ninapro
from .session import Recording
from .synthetic import SyntheticConfig, generate_subject
from .windows import WindowConfig, WindowSet, make_windows


def _load_ninapro(database: str) -> Callable[..., list[Recording]]:
    def load(data_dir, subjects=None, exercise=1, filters: FilterConfig = FilterConfig(), progress=True, **_):
        if data_dir is None:
            raise ConfigError(f"dataset {database!r} needs data_dir (a folder of NinaPro .mat files)")
        files = ninapro_files(data_dir, database, exercise, subjects)
        return [read_ninapro(f, database, filters) for f in tqdm(files, desc=f"reading {database}", disable=not progress)]
    return load


def _load_synthetic(data_dir=None, subjects=None, synthetic: SyntheticConfig = SyntheticConfig(), progress=True, **_):
    ids = range(1, synthetic.n_subjects + 1) if subjects is None else [int(str(s).lstrip("S")) for s in subjects]
    return [generate_subject(synthetic, s) for s in tqdm(list(ids), desc="generating synthetic", disable=not progress)]


def _load_emg2pose(data_dir, subjects=None, split=None, stages=None, sides=None, filters: FilterConfig = FilterConfig(),
                   n_pseudo_repetitions: int = 10, progress=True, **_):
    if data_dir is None:
        raise ConfigError("dataset 'emg2pose' needs data_dir (a folder of .hdf5 session files and metadata.csv)")
    files = emg2pose_files(data_dir, subjects, split, stages, sides)
    return [read_emg2pose(f, row, filters, n_pseudo_repetitions)
            for f, row in tqdm(files, desc="reading emg2pose", disable=not progress)]


#: dataset name -> loader(data_dir, subjects=None, **options) -> list[Recording]
READERS: dict[str, Callable[..., list[Recording]]] = {db: _load_ninapro(db) for db in ninapro_databases()}
READERS["synthetic"] = _load_synthetic
READERS["emg2pose"] = _load_emg2pose


def dataset_names() -> tuple[str, ...]:
    return tuple(sorted(READERS))


def load_recordings(dataset: str, data_dir: str | Path | None = None, **options) -> list[Recording]:
    """Recordings of ``dataset`` (see :func:`dataset_names`) from ``data_dir``."""
    if dataset not in READERS:
        raise ConfigError(f"unknown dataset {dataset!r}; expected one of {dataset_names()}")
    return READERS[dataset](data_dir, **options)


def windows_key(dataset: str, data_dir, window: WindowConfig, options: dict) -> str:
    """The window cache's key: the dataset, the content of its files (not the path typed), the windowing and
    reading options, and the code that reads and windows them."""
    from ..run_store import folder_content, run_key

    return run_key("windows", data={"dataset": dataset, "content": folder_content(data_dir) if data_dir else None},
                   sections={"window": window, **{k: v for k, v in options.items() if k != "progress"}},
                   code=(__name__,))


def load_windows(dataset: str, data_dir=None, window: WindowConfig = WindowConfig(),
                 cache_dir: str | Path | None = None, **options) -> WindowSet:
    """Windows of a dataset, cached in ``cache_dir`` under a hash of everything that shapes them."""
    path = None
    if cache_dir is not None:
        path = Path(cache_dir) / f"windows-{dataset}-{windows_key(dataset, data_dir, window, options)}.npz"
        if path.is_file():
            return _read_cache(path)
    ws = make_windows(load_recordings(dataset, data_dir, **options), window)
    ws.meta.update(dataset=dataset, data_dir=str(data_dir) if data_dir else None)
    if path is not None:
        _write_cache(path, ws)
    return ws


def _write_cache(path: Path, ws: WindowSet) -> None:
    arrays = {k: getattr(ws, k) for k in ("X", "y", "subject", "repetition", "dataset", "start", "recording")}
    if ws.pose is not None:
        arrays["pose"] = ws.pose
    header = {"class_keys": ws.class_keys, "fs": ws.fs, "signal_kind": ws.signal_kind,
              "channel_names": ws.channel_names, "pose_kind": ws.pose_kind, "meta": ws.meta}
    save_npz(path, header=np.array(json.dumps(header, default=str)), **arrays)


def _read_cache(path: Path) -> WindowSet:
    try:
        with np.load(path, allow_pickle=False) as z:
            h = json.loads(str(z["header"]))
            return WindowSet(
                X=z["X"], y=z["y"], class_keys=tuple(h["class_keys"]), subject=z["subject"],
                repetition=z["repetition"], dataset=z["dataset"], start=z["start"], recording=z["recording"],
                fs=h["fs"], signal_kind=h["signal_kind"], channel_names=tuple(h["channel_names"]),
                pose=z["pose"] if "pose" in z.files else None, pose_kind=h["pose_kind"], meta=h["meta"],
            )
    except (OSError, ValueError, KeyError) as exc:
        raise DataError(path, None, f"unreadable window cache ({exc}); delete it to rebuild") from exc
