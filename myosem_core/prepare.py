"""Data preparation: windows, every protocol's manifest, and a summary JSON in the run folder."""

from __future__ import annotations

from pathlib import Path

from .config import Config, run_directory
from .data import Split, WindowSet, load_windows, make_split
from .data.catalog import class_name
from .errors import ConfigError
from .io import write_json
from .paths import cache_root, runs_root

DEFAULT_PROTOCOLS = ("rand", "user", "class")


def load_config_windows(cfg: Config, progress: bool = True) -> WindowSet:
    """The windows a config describes, through the shared cache: the one way from a config to windows.

    With ``cfg.data.subject_calibration`` every subject's channels are gain-calibrated first
    (:mod:`myosem_core.data.calibration`); the flag is part of the config, so it keys every cached run.
    A calibration that reads only what a protocol allows (log standardisation) needs the split:
    :func:`load_split_windows`.
    """
    from .data.calibration import calibrate_subjects, calibration_repetitions, needs_split

    if needs_split(cfg.data.subject_calibration):
        raise ConfigError(f"data.subject_calibration={cfg.data.subject_calibration!r} reads each subject's windows "
                          "as the protocol allows; load the windows with load_split_windows(cfg, protocol)")
    ws = load_windows(cfg.data.dataset, cfg.data.data_dir, cache_dir=cache_root(), progress=progress,
                      **cfg.data.load_options())
    if cfg.data.subject_calibration:
        ws = calibrate_subjects(ws, calibration_repetitions(cfg.data.subject_calibration))
    return ws


def load_split_windows(cfg: Config, protocol: str, progress: bool = True, **split_options
                       ) -> tuple[WindowSet, Split]:
    """The windows of a config and their split under ``protocol`` (``ProtocolConfig`` fields override),
    calibrated as the split allows (:func:`myosem_core.data.calibration.calibrate_split`)."""
    from .data.calibration import calibrate_split

    ws = load_windows(cfg.data.dataset, cfg.data.data_dir, cache_dir=cache_root(), progress=progress,
                      **cfg.data.load_options())
    split = make_split(ws, protocol, **split_options)
    return calibrate_split(ws, split, cfg.data.subject_calibration), split


def prepare_data(cfg: Config, protocols=DEFAULT_PROTOCOLS, run_dir: str | Path | None = None):
    """Window the data, split it under each protocol, save manifests and ``data_summary.json``.

    Returns ``(windows, {protocol: Split}, run_folder)``.
    """
    ws = load_config_windows(cfg)
    run = run_directory(runs_root(run_dir), cfg, name=f"data-{cfg.data.dataset}")
    splits: dict[str, Split] = {}
    summary = {
        "dataset": cfg.data.dataset,
        "synthetic": ws.is_synthetic,
        "data_dir": cfg.data.data_dir,
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
