"""Named presets as files: one typed configuration tree per ``presets/<name>.yaml``.

A preset file has one section per part of the book, each a dataclass of the core::

    data      DataConfig        windowing and the synthetic generator
    stage1    Stage1Config      MyoSem's text space and query encoder
    stage2    Stage2Config      the activation-aware EMG encoder
    stage3    Stage3Config      alignment to the text space
    deep      DeepPreset        the deep baselines' backbone width and options (budgets follow Stage 2/3)
    forest    ForestConfig      the random-forest anchor's tree count
    embridge  EMBridgeConfig    MAEs, aligners and their grid
    aemg      AEMGConfig        AEMG pretraining
    aemg_eval AEMGEvalConfig    AEMG's leave-one-subject-out evaluation
    report    ReportConfig      the seeds each table is averaged over

A section lists only what differs from the dataclass defaults; a section may be
absent (``paper`` only sizes EMBridge). Every key is checked against the
dataclass: an unknown field or a value of the wrong type is one error naming
the file and the dotted field. ``with_overrides`` applies ``a.b=c`` assignments
(the CLI's ``--set``) to a loaded section with the same checks.

``MYOSEM_SET="stage2.max_epochs=30;deep.width=16"`` in the environment changes
every read of those fields in this process and the processes it starts (grid
workers, notebook kernels): ``make book SET="stage2.max_epochs=30"`` and
``execute_notebooks.py --set`` use it, so notebooks take overrides without
code. Changed values change the run keys, so overridden runs never mix with
the preset's own.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import types
import typing
from dataclasses import fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError
from .typed import build_config, convert_value

PRESET_DIR = Path(__file__).resolve().parent / "presets"
OVERRIDES_ENV = "MYOSEM_SET"


from .baselines.deep import DeepPreset, from_stages
from .baselines.forest import ForestConfig
from .config import Config, DataConfig, ReportConfig
from .evaluation.aemg_config import AEMGEvalConfig
from .text.stage1 import Stage1Config
from .training.aemg import AEMGConfig
from .training.embridge.config import EMBridgeConfig
from .training.stage2 import Stage2Config
from .training.stage3 import Stage3Config

#: section name -> its dataclass: the configuration tree of a preset file
SECTION_TYPES: dict[str, type] = {
    "data": DataConfig, "stage1": Stage1Config, "stage2": Stage2Config, "stage3": Stage3Config, "deep": DeepPreset,
    "forest": ForestConfig, "embridge": EMBridgeConfig, "aemg": AEMGConfig, "aemg_eval": AEMGEvalConfig,
    "report": ReportConfig}


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


@functools.lru_cache(maxsize=None)
def _read(name: str) -> dict:
    path = PRESET_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown preset {name!r}: no file {path}; expected one of {preset_names()}")
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections, got {type(data).__name__}")
    unknown = sorted(set(data) - set(SECTION_TYPES))
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; expected some of {list(SECTION_TYPES)}")
    return data


def preset_section(name: str, section: str) -> Any:
    """The typed config of ``section`` in preset ``name`` (``presets/<name>.yaml``)."""
    cls = SECTION_TYPES[section]
    data = _read(name)
    if section not in data:
        raise ConfigError(f"preset {name!r} ({PRESET_DIR / f'{name}.yaml'}) has no {section!r} section; "
                          f"presets with one: {[n for n in preset_names() if section in _read(n)]}")
    values = dict(data[section] or {})
    if any(f.name == "preset" for f in fields(cls)):
        values.setdefault("preset", name)
    config = build_config(cls, values, f"{PRESET_DIR / f'{name}.yaml'}: {section}")
    mine = [rest for sec, rest in active_overrides() if sec == section]
    return with_overrides(config, mine, where=f"${OVERRIDES_ENV}") if mine else config


def split_assignment(item: str, sections, where: str) -> tuple[str, str]:
    """``"stage2.encoder.d_model=32"`` -> ``("stage2", "encoder.d_model=32")``, the section one of ``sections``."""
    section, dot, rest = item.strip().partition(".")
    if not dot or "=" not in rest or not rest.partition("=")[0].strip() or section not in sections:
        raise ConfigError(f"{where} {item!r}: expected SECTION.FIELD=VALUE with SECTION one of "
                          f"{', '.join(sections)}, e.g. stage2.max_epochs=30")
    return section, rest


def active_overrides(text: str | None = None) -> list[tuple[str, str]]:
    """``[(section, "field.sub=value"), ...]`` from ``text`` (default ``$MYOSEM_SET``): ``;``-separated
    ``section.field=value``."""
    text = os.environ.get(OVERRIDES_ENV, "") if text is None else text
    items = filter(None, (i.strip() for i in text.split(";")))
    return [split_assignment(item, list(SECTION_TYPES), f"${OVERRIDES_ENV}") for item in items]


def with_overrides(config: Any, assignments: list[str], where: str = "--set") -> Any:
    """``config`` with ``a.b=value`` assignments, checked against the field's type like a preset file.

    The value is read as YAML (``3``, ``1e-3``, ``true``, ``null`` or ``none``, ``[1, 2]``,
    ``{repetitions: [1]}``); a list field also takes comma-separated items (``0.4,1.0``).
    """
    for item in assignments:
        key, eq, raw = item.partition("=")
        path = key.strip().split(".")
        if not eq or not all(path):
            raise ConfigError(f"{where} {item!r}: expected FIELD.SUBFIELD=VALUE, e.g. max_epochs=3")
        config = _set(config, path, raw, f"{where} {item!r}")
    return config


def _parse_text(tp: Any, raw: str) -> Any:
    """A command-line value as YAML; ``none`` is null; a tuple field splits a comma-separated string."""
    if raw.strip().lower() in ("none", "null", "~"):
        return None
    try:
        value = yaml.safe_load(raw)
    except yaml.YAMLError:
        value = raw
    kinds = [tp, *typing.get_args(tp)] if typing.get_origin(tp) in (typing.Union, types.UnionType) else [tp]
    if any(typing.get_origin(k) is tuple for k in kinds) and not isinstance(value, list):
        value = [yaml.safe_load(item) for item in raw.split(",") if item.strip()]
    return value


def _set(obj: Any, path: list[str], value: Any, where: str) -> Any:
    if not is_dataclass(obj):
        raise ConfigError(f"{where}: {type(obj).__name__} has no fields to set")
    names = {f.name for f in fields(obj)}
    if path[0] not in names:
        raise ConfigError(f"{where}: {type(obj).__name__} has no field {path[0]!r}; expected one of {sorted(names)}")
    if len(path) > 1:
        return replace(obj, **{path[0]: _set(getattr(obj, path[0]), path[1:], value, where)})
    tp = typing.get_type_hints(type(obj))[path[0]]
    if is_dataclass(getattr(obj, path[0])) and is_dataclass(tp):
        raise ConfigError(f"{where}: {path[0]!r} is a section; set one of its fields ({path[0]}.<field>=...)")
    value = _parse_text(tp, value) if isinstance(value, str) else value
    return replace(obj, **{path[0]: convert_value(tp, value, f"{where}: {type(obj).__name__}.{path[0]}")})


def as_yaml_dict(config: Any) -> dict:
    """The fields of ``config`` that differ from its dataclass defaults, nested (how preset files are written)."""
    out = {}
    default = type(config)()
    for f in fields(config):
        value, base = getattr(config, f.name), getattr(default, f.name)
        if value == base or f.name == "preset":
            continue
        if is_dataclass(value) and is_dataclass(base) and type(value) is type(base):
            out[f.name] = as_yaml_dict(value)
        elif is_dataclass(value):
            out[f.name] = {**dataclasses.asdict(value)}
        else:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def make_config(preset: str = "quick", dataset: str = "synthetic", data_dir: str | None = None,
                seed: int = 0, **data_overrides) -> Config:
    """A preset's data config with the dataset, data folder and seed filled in."""
    data = replace(preset_section(preset, "data"), dataset=dataset, data_dir=str(data_dir) if data_dir else None,
                   **data_overrides)
    if dataset == "synthetic":
        data = replace(data, synthetic=replace(data.synthetic, seed=seed))
    return Config(preset=preset, seed=seed, data=data)


def report_seeds(preset: str) -> tuple[int, ...]:
    """The seeds every table of preset ``preset`` is averaged over (its ``report`` section)."""
    return preset_section(preset, "report").seeds


def report_protocols(preset: str) -> tuple[str, ...]:
    """The protocols the comparison tables of preset ``preset`` report (its ``report`` section)."""
    return preset_section(preset, "report").protocols


def deep_config(preset: str, protocol: str | None = None):
    """The deep baselines' config of a preset and protocol: its ``deep`` width on MyoSem's Stage-2/3 recipe."""
    return from_stages(preset_section(preset, "stage2").for_protocol(protocol),
                       preset_section(preset, "stage3").for_protocol(protocol),
                       preset_section(preset, "deep"), preset)
