"""Named presets as files: one typed configuration tree per ``presets/<name>.yaml``.

A preset file has one section per part of the book, each a dataclass of the core::

    data      DataConfig        windowing and the synthetic generator
    stage1    Stage1Config      MyoSem's text space and query encoder
    stage2    Stage2Config      the activation-aware EMG encoder
    stage3    Stage3Config      alignment to the text space
    deep      DeepWidth         the deep baselines' backbone width (their budgets follow Stage 2/3)
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
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError

PRESET_DIR = Path(__file__).resolve().parent / "presets"
OVERRIDES_ENV = "MYOSEM_SET"


@dataclass(frozen=True)
class DeepWidth:
    """The deep baselines' own setting: backbone channels (budgets and recipe come from Stage 2/3)."""

    width: int = 32


def section_types() -> dict[str, type]:
    """Section name -> dataclass (imported here: the stage modules read their presets from this module)."""
    from .baselines.forest import ForestConfig
    from .config import DataConfig, ReportConfig
    from .evaluation.aemg_config import AEMGEvalConfig
    from .text.stage1 import Stage1Config
    from .training.aemg import AEMGConfig
    from .training.embridge.config import EMBridgeConfig
    from .training.stage2 import Stage2Config
    from .training.stage3 import Stage3Config

    return {"data": DataConfig, "stage1": Stage1Config, "stage2": Stage2Config, "stage3": Stage3Config,
            "deep": DeepWidth, "forest": ForestConfig, "embridge": EMBridgeConfig, "aemg": AEMGConfig,
            "aemg_eval": AEMGEvalConfig, "report": ReportConfig}


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
    unknown = sorted(set(data) - set(section_types()))
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {unknown}; expected some of {list(section_types())}")
    return data


def preset_section(name: str, section: str) -> Any:
    """The typed config of ``section`` in preset ``name`` (``presets/<name>.yaml``)."""
    cls = section_types()[section]
    data = _read(name)
    if section not in data:
        raise ConfigError(f"preset {name!r} ({PRESET_DIR / f'{name}.yaml'}) has no {section!r} section; "
                          f"presets with one: {[n for n in preset_names() if section in _read(n)]}")
    values = dict(data[section] or {})
    if any(f.name == "preset" for f in fields(cls)):
        values.setdefault("preset", name)
    config = _build(cls, values, f"{PRESET_DIR / f'{name}.yaml'}: {section}")
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
    return [split_assignment(item, list(section_types()), f"${OVERRIDES_ENV}") for item in items]


def _build(cls: type, values: Any, where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping of {cls.__name__} fields, got {values!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown} of {cls.__name__}; expected some of {sorted(known)}")
    return cls(**{key: _convert(hints[key], value, f"{where}.{key}") for key, value in values.items()})


def _convert(tp: Any, value: Any, where: str) -> Any:
    """``value`` (parsed YAML) as type ``tp``, or one error naming the field and the expected type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(option, value, where)
            except ConfigError:
                pass
        raise ConfigError(f"{where}: expected {' or '.join(_name(a) for a in args)}, got {value!r}")
    if is_dataclass(tp):
        return _build(tp, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is Any:
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        try:
            return float(value)  # YAML reads 1e-4 (no dot) as a string
        except ValueError:
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{where}: expected one of {list(args)}, got {value!r}")
        return value
    raise ConfigError(f"{where}: cannot read a value of type {_name(tp)} from a preset file")


def _name(tp: Any) -> str:
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


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
    return replace(obj, **{path[0]: _convert(tp, value, f"{where}: {type(obj).__name__}.{path[0]}")})


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
