"""Movement names and database layouts of the NinaPro family (data in movements.yaml)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from ..errors import ConfigError

_FILE = Path(__file__).with_name("movements.yaml")


@lru_cache(maxsize=1)
def _catalog() -> dict:
    return yaml.safe_load(_FILE.read_text())


def ninapro_databases() -> tuple[str, ...]:
    return tuple(_catalog()["databases"])


def database_info(database: str) -> dict:
    """Sampling rate, signal kind, channel count, file pattern and exercises of a NinaPro database."""
    dbs = _catalog()["databases"]
    if database not in dbs:
        raise ConfigError(f"unknown NinaPro database {database!r}; expected one of {sorted(dbs)}")
    return dbs[database]


def exercise_letter(database: str, exercise: int) -> str:
    """NinaPro's exercise letter (A-D) held by file exercise number ``exercise`` of ``database``."""
    ex = database_info(database)["exercises"]
    if int(exercise) not in ex:
        raise ConfigError(f"{database} has no exercise {exercise}; expected one of {sorted(ex)}")
    return ex[int(exercise)]


def movement_names(letter: str) -> dict[int, str]:
    """Movement number -> name for NinaPro exercise ``letter`` (A, B, C or D)."""
    ex = _catalog()["exercises"]
    if letter not in ex:
        raise ConfigError(f"unknown NinaPro exercise {letter!r}; expected one of {sorted(ex)}")
    return {int(k): str(v) for k, v in ex[letter].items()}


def label_offset(database: str, exercise: int) -> int:
    """Movement numbers of earlier exercises in the same database (DB2-style global numbering)."""
    ex = database_info(database)["exercises"]
    return sum(len(movement_names(ex[e])) for e in sorted(ex) if e < int(exercise))


#: Extra name lookups registered by other readers: class prefix -> (label -> name).
EXTRA_NAMES: dict[str, dict] = {}


def class_name(key: str) -> str:
    """Human name of a class key such as ``"ninapro/A/5"`` (-> ``"ring flexion"``)."""
    prefix, _, label = key.rpartition("/")
    family, _, letter = prefix.partition("/")
    if label == "0":
        return "rest"
    if family == "ninapro":
        return movement_names(letter)[int(label)]
    if family == "synthetic":
        from .synthetic import gesture_names

        return gesture_names()[int(label)]
    if prefix in EXTRA_NAMES:
        return str(EXTRA_NAMES[prefix].get(label, label))
    return label


def display_name(key) -> str:
    """:func:`class_name` of ``key``, or the key itself where no catalog names it (labels on figures)."""
    try:
        return class_name(str(key))
    except (KeyError, ValueError, IndexError):
        return str(key)
