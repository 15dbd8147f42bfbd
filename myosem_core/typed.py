"""Dataclass instances from plain data (parsed YAML or JSON), checked field by field.

    build_config(Stage2Config, {"max_epochs": 30, "encoder": {"d_model": 64}}, "quick.yaml: stage2")

rebuilds nested dataclasses, tuples and unions, reads ``1e-4`` (a YAML string) as a number, and raises one
:class:`~myosem_core.errors.ConfigError` naming ``where`` and the dotted field for an unknown field or a value
of the wrong type. The preset files and every saved run config are read through it.
"""

from __future__ import annotations

import types
import typing
from dataclasses import fields, is_dataclass
from typing import Any

from .errors import ConfigError


def build_config(cls: type, values: Any, where: str) -> Any:
    """``cls(**values)`` with every field converted to its annotated type (see the module docstring)."""
    return _build(cls, values, where)


def _build(cls: type, values: Any, where: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"{where}: expected a mapping of {cls.__name__} fields, got {values!r}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {unknown} of {cls.__name__}; expected some of {sorted(known)}")
    return cls(**{key: convert_value(hints[key], value, f"{where}.{key}") for key, value in values.items()})


def convert_value(tp: Any, value: Any, where: str) -> Any:
    """``value`` (parsed YAML) as type ``tp``, or one error naming the field and the expected type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for option in (a for a in args if a is not type(None)):
            try:
                return convert_value(option, value, where)
            except ConfigError:
                pass
        raise ConfigError(f"{where}: expected {' or '.join(type_name(a) for a in args)}, got {value!r}")
    if is_dataclass(tp):
        return _build(tp, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(convert_value(item, v, f"{where}[{i}]") for i, v in enumerate(value))
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
    raise ConfigError(f"{where}: cannot read a value of type {type_name(tp)} from a config file")


def type_name(tp: Any) -> str:
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))
