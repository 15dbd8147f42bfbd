"""Experiment configuration: the data config of a named preset and a hash-keyed run folder.

The presets are files, ``myosem_core/presets/<name>.yaml`` (read by
:mod:`myosem_core.presets`): ``quick`` is what CI and the tests run (minutes on
2 CPU cores), ``full`` is what the book is built with.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, is_dataclass, replace
from pathlib import Path

from .data.synthetic import SyntheticConfig
from .data.windows import WindowConfig


@dataclass(frozen=True)
class DataConfig:
    """Which data, how it is windowed, and how the synthetic default is generated."""

    dataset: str = "synthetic"
    data_dir: str | None = None
    exercise: int = 1
    window: WindowConfig = WindowConfig()
    synthetic: SyntheticConfig = SyntheticConfig()
    #: per-subject input calibration (:mod:`myosem_core.data.calibration`): None (off), true (median gains
    #: from all of a subject's windows), {"repetitions": [1]} (from those repetitions' windows only) or
    #: {"method": "log-standardise"} (log envelope standardised per subject from the windows the split lets
    #: a model read; a new user's only from the adaptation windows of a new-user setting)
    subject_calibration: bool | dict | None = None

    def load_options(self) -> dict:
        """Keyword options for :func:`myosem_core.data.load_windows`."""
        opts: dict = {"window": self.window}
        if self.dataset == "synthetic":
            opts["synthetic"] = self.synthetic
        else:
            opts["exercise"] = self.exercise
        return opts


@dataclass(frozen=True)
class ReportConfig:
    """How a preset's tables are reported: the seeds every result is averaged over (mean ± std)."""

    seeds: tuple[int, ...] = (0,)


def report_seeds(preset: str) -> tuple[int, ...]:
    """The seeds of preset ``preset`` (its ``report`` section)."""
    from .presets import preset_section

    return preset_section(preset, "report").seeds


@dataclass(frozen=True)
class Config:
    preset: str = "quick"
    seed: int = 0
    data: DataConfig = DataConfig()

    def to_dict(self) -> dict:
        return asdict(self)

    def hash(self) -> str:
        """Short stable hash of everything in the config."""
        return run_key(self)


#: dataclass field metadata of an option added after runs were cached: it enters run keys only when set
WHEN_SET = {"key": "when set"}


def key_fields(obj):
    """``asdict(obj)`` for run keys: fields marked :data:`WHEN_SET` are left out while at their default
    (recursively), so adding an option never changes the keys of runs that do not use it."""
    if is_dataclass(obj) and not isinstance(obj, type):
        out = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            if f.metadata.get("key") == "when set" and value == f.default:
                continue
            out[f.name] = key_fields(value)
        return out
    if isinstance(obj, (list, tuple)):
        return type(obj)(key_fields(v) for v in obj)
    if isinstance(obj, dict):
        return {k: key_fields(v) for k, v in obj.items()}
    return obj


def run_record(cfg: Config, **parts) -> dict:
    """What names a run: the whole config, and what else it depends on under ``key`` (``parts``: its stage,
    stage settings, split, upstream runs ...). A run folder's ``config.json``."""
    return cfg.to_dict() if not parts else {**cfg.to_dict(), "key": parts}


def run_key(cfg: Config, **parts) -> str:
    """The one run key: a short stable hash of :func:`run_record`."""
    return hashlib.sha256(json.dumps(run_record(cfg, **parts), sort_keys=True, default=str).encode()).hexdigest()[:10]




def make_config(preset: str = "quick", dataset: str = "synthetic", data_dir: str | None = None,
                seed: int = 0, **data_overrides) -> Config:
    """A preset with the dataset, data folder and seed filled in."""
    from .presets import preset_section

    base = Config(preset=preset, data=preset_section(preset, "data"))
    data = replace(base.data, dataset=dataset, data_dir=str(data_dir) if data_dir else None, **data_overrides)
    if dataset == "synthetic":
        data = replace(data, synthetic=replace(data.synthetic, seed=seed))
    return replace(base, seed=seed, data=data)


def run_directory(base: str | Path, cfg: Config, name: str | None = None, **parts) -> Path:
    """``<base>/<name or dataset>-<preset>-<run_key(cfg, **parts)>``: created, with the config (and the
    key's ``parts`` under ``key``) saved inside as ``config.json``."""
    from .io import write_json

    folder = Path(base) / f"{name or cfg.data.dataset}-{cfg.preset}-{run_key(cfg, **parts)}"
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "config.json").exists():
        write_json(folder / "config.json", run_record(cfg, **parts))
    return folder
