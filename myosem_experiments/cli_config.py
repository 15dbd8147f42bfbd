"""What the command line turns into: the experiment config and each stage's config, with ``--set`` overrides.

    --set stage2.max_epochs=3 --set stage2.encoder.d_model=32 --set data.synthetic.n_subjects=4

A key is ``<section>.<field>[.<field>...]`` with sections ``data``, ``stage1``,
``stage2``, ``stage3``; the value is parsed as the type of the field it
replaces (bool: true/false, tuples: comma-separated, ``none`` for None).
An unknown section or field is a :class:`~myosem_core.errors.ConfigError`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, is_dataclass, replace
from pathlib import Path

from myosem_core.config import Config, make_config
from myosem_core.errors import ConfigError

SECTIONS = ("data", "stage1", "stage2", "stage3")


@dataclass(frozen=True)
class StageConfigs:
    """The experiment config plus each stage's hyper-parameters, as the command line asked."""

    cfg: Config
    stage1: object
    stage2: object
    stage3: object


def parse_value(text: str, current):
    """``text`` converted to the type of ``current`` (the field's present value)."""
    low = text.strip().lower()
    if low in ("none", "null"):
        return None
    if isinstance(current, bool):
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"expected true/false, got {text!r}")
    if isinstance(current, int):
        return int(text)
    if isinstance(current, float):
        return float(text)
    if isinstance(current, tuple):
        items = [t.strip() for t in text.split(",") if t.strip()]
        kind = type(current[0]) if current else str
        return tuple(parse_value(t, kind()) if kind in (int, float, bool) else t for t in items)
    if isinstance(current, str):
        return text
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def set_field(obj, path: list[str], text: str, key: str):
    """A copy of dataclass ``obj`` with the field at ``path`` set from ``text``."""
    name = path[0]
    names = [f.name for f in fields(obj)]
    if name not in names:
        raise ConfigError(f"--set {key}: {type(obj).__name__} has no field {name!r}; fields: {', '.join(names)}")
    current = getattr(obj, name)
    if len(path) > 1:
        if not is_dataclass(current):
            raise ConfigError(f"--set {key}: {name!r} is not a section (it holds {current!r})")
        return replace(obj, **{name: set_field(current, path[1:], text, key)})
    if is_dataclass(current):
        raise ConfigError(f"--set {key}: {name!r} is a section; set one of its fields ({name}.<field>=...)")
    try:
        value = parse_value(text, current)
    except ValueError as exc:
        raise ConfigError(f"--set {key}={text}: {exc}") from exc
    return replace(obj, **{name: value})


def parse_assignments(items: list[str] | None) -> list[tuple[str, list[str], str]]:
    out = []
    for item in items or []:
        key, eq, value = item.partition("=")
        parts = key.strip().split(".")
        if not eq or len(parts) < 2 or not all(parts):
            raise ConfigError(f"--set {item!r}: expected SECTION.FIELD=VALUE, e.g. stage2.max_epochs=3")
        if parts[0] not in SECTIONS:
            raise ConfigError(f"--set {item!r}: unknown section {parts[0]!r}; expected one of {', '.join(SECTIONS)}")
        out.append((key.strip(), parts, value))
    return out


def stage_configs(preset: str, dataset: str, data_dir: str | None, seed: int, assignments: list[str] | None = None,
                  threads: int | None = None) -> StageConfigs:
    """The experiment config and the presets of Stages 1-3, with ``--set`` assignments and ``--threads`` applied."""
    from myosem_core.text.stage1 import Stage1Config
    from myosem_core.training import Stage2Config, Stage3Config

    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        data_dir = str(folder.resolve()) if folder.exists() else str(folder)  # absolute, as the book passes it
    cfg = make_config(preset, dataset, data_dir, seed)
    parts = {"data": cfg.data, "stage1": Stage1Config.preset(preset, seed=seed),
             "stage2": Stage2Config.preset_named(preset), "stage3": Stage3Config.preset_named(preset)}
    if threads:
        parts["stage2"] = replace(parts["stage2"], threads=threads)
        parts["stage3"] = replace(parts["stage3"], threads=threads)
    for key, path, value in parse_assignments(assignments):
        parts[path[0]] = set_field(parts[path[0]], path[1:], value, key)
    return StageConfigs(replace(cfg, data=parts["data"]), parts["stage1"], parts["stage2"], parts["stage3"])
