"""From a config to data: its windows (:func:`load_config_windows`), a protocol's split of them
(:func:`load_data`), and every protocol's manifest with a summary in a run folder (:func:`prepare_data`)."""

from __future__ import annotations

from pathlib import Path

from .config import Config
from .data import Split, WindowSet, load_windows, make_split
from .data.catalog import class_name
from .data.protocols import PROTOCOLS
from .errors import ConfigError
from .io import write_json
from .paths import cache_root, runs_root
from .run_store import data_identity, run_folder


def load_config_windows(cfg: Config, progress: bool = True) -> WindowSet:
    """The windows a config describes, through the shared cache: the one way from a config to windows.

    With ``cfg.data.subject_calibration`` every subject's channels are gain-calibrated first
    (:mod:`myosem_core.data.calibration`); the flag is part of the config, so it keys every cached run.
    A calibration that reads only what a protocol allows (log standardisation) needs the split:
    :func:`load_data`.
    """
    from .data.calibration import calibrate_subjects, calibration_repetitions, needs_split

    if needs_split(cfg.data.subject_calibration):
        raise ConfigError(f"data.subject_calibration={cfg.data.subject_calibration!r} reads each subject's windows "
                          "as the protocol allows; load the windows with load_data(cfg, protocol)")
    ws = load_windows(cfg.data.dataset, cfg.data.data_dir, cache_dir=cache_root(), progress=progress,
                      **cfg.data.load_options())
    if cfg.data.subject_calibration:
        ws = calibrate_subjects(ws, calibration_repetitions(cfg.data.subject_calibration))
    return ws


def load_data(cfg: Config, protocol: str, progress: bool = True, **split_options) -> tuple[WindowSet, Split]:
    """The config's windows and their split under ``protocol`` (``ProtocolConfig`` fields in ``split_options``
    override the protocol's defaults), calibrated as the split allows
    (:func:`myosem_core.data.calibration.calibrate_split`)."""
    from .data.calibration import calibrate_split

    ws = load_windows(cfg.data.dataset, cfg.data.data_dir, cache_dir=cache_root(), progress=progress,
                      **cfg.data.load_options())
    split = make_split(ws, protocol, **split_options)
    return calibrate_split(ws, split, cfg.data.subject_calibration), split


def prepare_data(cfg: Config, protocols=PROTOCOLS, run_dir: str | Path | None = None, progress: bool = True):
    """Window the data, split it under each protocol, save manifests and ``data_summary.json``.

    Returns ``(windows, {protocol: Split}, run_folder)``.
    """
    ws = load_config_windows(cfg, progress)
    identity = data_identity(cfg.data)
    run = run_folder(runs_root(run_dir), "data", label=f"{cfg.data.dataset}-{cfg.preset}", data=identity,
                     sections={"protocols": list(protocols)}, code=("myosem_core.data.protocols",))
    splits: dict[str, Split] = {}
    summary = {
        "dataset": cfg.data.dataset,
        "synthetic": ws.is_synthetic,
        "data_content": identity["content"],  # what the data files hold, wherever they lie
        "preset": cfg.preset,
        "n_windows": len(ws),
        "window_s": cfg.data.window.length_s,
        "hop_s": cfg.data.window.hop_s,
        "fs": ws.fs,
        "signal_kind": ws.signal_kind,
        "n_channels": ws.X.shape[2],
        "pose_kind": ws.pose_kind,
        "subjects": sorted(set(ws.subject.tolist()), key=lambda s: (len(s), s)),
        "classes": {k: class_name(k) for k in ws.class_keys},
        "protocols": {},
    }
    for name in protocols:
        split = make_split(ws, name)
        split.save(run / "manifests")
        splits[name] = split
        counts = split.manifest["split"].value_counts()
        summary["protocols"][name] = {
            "windows": {s: int(counts.get(s, 0)) for s in ("train", "val", "test", "unused")},
            "subjects": {s: sorted(set(split.manifest.loc[split.manifest.split == s, "subject"])) for s in ("train", "test")},
            **split.extra,
        }
    write_json(run / "data_summary.json", summary)
    return ws, splits, run
