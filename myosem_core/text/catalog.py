"""Description catalogs: the hand-written text views of every class (Stage 1 of MyoSem).

Each family (``ninapro``, ``synthetic``, ``emg2pose``) has one YAML file in
``catalogs/`` keyed by the class key the data layer uses (``ninapro/A/5``,
``synthetic/S/3``, ``emg2pose/stage/12``). Per class it holds the views

- ``label``: the short name,
- ``canonical``: one or two sentences on what the hand does and its final shape,
- ``paraphrases``: at least 5 ways a person would say it (seen in training),
- ``heldout_paraphrases``: exactly 3 more that no training ever sees (evaluation only),

and optionally ``source_name``, the dataset's own name of the class (emg2pose's
stage string). The fourth view, ``process``, is derived from the pose stream
by code and is not part of a catalog. Every file is validated when loaded; a
bad entry raises :class:`~myosem_core.errors.DataError` naming file, class key
and field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import yaml

from ..errors import DataError

CATALOG_DIR = Path(__file__).with_name("catalogs")
MIN_PARAPHRASES = 5
N_HELDOUT = 3
_REQUIRED = ("label", "canonical", "paraphrases", "heldout_paraphrases")
_OPTIONAL = ("source_name",)


@dataclass(frozen=True)
class ClassDescriptions:
    """The text views of one class."""

    key: str
    label: str
    canonical: str
    paraphrases: list[str]
    heldout_paraphrases: list[str]
    source_name: str | None = field(default=None, compare=False)

    def trainable_texts(self) -> list[str]:
        """Every view training may see: label, canonical, then the paraphrases."""
        return [self.label, self.canonical, *self.paraphrases]


def families() -> tuple[str, ...]:
    """Families that ship a catalog (file stems in ``catalogs/``)."""
    return tuple(sorted(p.stem for p in CATALOG_DIR.glob("*.yaml")))


def catalog_path(family_or_path: str | os.PathLike) -> Path:
    """The catalog file of a family name, or the given path itself."""
    s = str(family_or_path)
    if "/" in s or os.sep in s or s.endswith((".yaml", ".yml")):
        return Path(s)
    path = CATALOG_DIR / f"{s}.yaml"
    if not path.exists():
        raise DataError(path, None, f"no description catalog for family {s!r}; known families: {list(families())}")
    return path


def normalize_text(text: str) -> str:
    """Case- and whitespace-insensitive form used to compare views (trailing full stop ignored)."""
    return re.sub(r"\s+", " ", text).strip().casefold().rstrip(".").strip()


def load_catalog(family_or_path: str | os.PathLike) -> dict[str, ClassDescriptions]:
    """Class key -> :class:`ClassDescriptions` of one catalog file (family name or path), validated."""
    path = catalog_path(family_or_path).resolve()
    if not path.exists():
        raise DataError(path, None, "description catalog file does not exist")
    return {k: _copy(cd) for k, cd in _load(path, path.stat().st_mtime_ns)}


@lru_cache(maxsize=32)
def _load(path: Path, _mtime: int) -> tuple[tuple[str, ClassDescriptions], ...]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise DataError(path, None, f"not valid YAML: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("classes"), dict) or not doc["classes"]:
        raise DataError(path, "classes", "expected a top-level mapping 'classes: {<class key>: {label: ..., ...}}'")
    out: list[tuple[str, ClassDescriptions]] = []
    for key, entry in doc["classes"].items():
        out.append((str(key), _parse_entry(path, str(key), entry)))
    _check_unique_across_classes(path, [cd for _, cd in out])
    return tuple(out)


def _copy(cd: ClassDescriptions) -> ClassDescriptions:
    """A copy with fresh lists, so a caller's edits never reach the cache."""
    return replace(cd, paraphrases=list(cd.paraphrases), heldout_paraphrases=list(cd.heldout_paraphrases))


def _parse_entry(path: Path, key: str, entry: object) -> ClassDescriptions:
    if not re.fullmatch(r"[^/\s]+/[^/\s]+/[^/\s]+", key):
        raise DataError(path, key, "class key must look like '<family>/<group>/<label>', e.g. 'ninapro/A/5'")
    if not isinstance(entry, dict):
        raise DataError(path, key, f"expected a mapping with fields {list(_REQUIRED)}, got {type(entry).__name__}")
    unknown = sorted(set(map(str, entry)) - set(_REQUIRED) - set(_OPTIONAL))
    if unknown:
        raise DataError(path, f"{key}.{unknown[0]}", f"unknown field; allowed: {list(_REQUIRED + _OPTIONAL)}"
                        + (" ('process' is derived from pose data by code, not written here)"
                           if "process" in unknown else ""))
    for name in _REQUIRED:
        if name not in entry or entry[name] is None:
            raise DataError(path, f"{key}.{name}", "missing")
    label = _text(path, key, "label", entry["label"])
    canonical = _text(path, key, "canonical", entry["canonical"])
    paraphrases = _texts(path, key, "paraphrases", entry["paraphrases"])
    heldout = _texts(path, key, "heldout_paraphrases", entry["heldout_paraphrases"])
    if len(paraphrases) < MIN_PARAPHRASES:
        raise DataError(path, f"{key}.paraphrases", f"needs at least {MIN_PARAPHRASES}, has {len(paraphrases)}")
    if len(heldout) != N_HELDOUT:
        raise DataError(path, f"{key}.heldout_paraphrases", f"needs exactly {N_HELDOUT}, has {len(heldout)}")
    seen: dict[str, str] = {}
    views = [("label", label), ("canonical", canonical)] + [(f"paraphrases[{i}]", p) for i, p in enumerate(paraphrases)]
    for name, text in views:
        norm = normalize_text(text)
        if norm in seen:
            raise DataError(path, f"{key}.{name}", f"repeats {seen[norm]} ({text!r})")
        seen[norm] = name
    for i, text in enumerate(heldout):
        norm = normalize_text(text)
        if norm in seen:
            raise DataError(path, f"{key}.heldout_paraphrases[{i}]",
                            f"equals the training view {seen[norm]} ({text!r}); held-out text must be unseen")
        seen[norm] = f"heldout_paraphrases[{i}]"
    source_name = entry.get("source_name")
    if source_name is not None:
        source_name = _text(path, key, "source_name", source_name)
    return ClassDescriptions(key, label, canonical, paraphrases, heldout, source_name)


def _text(path: Path, key: str, name: str, value: object) -> str:
    if not isinstance(value, str):
        raise DataError(path, f"{key}.{name}", f"expected a string, got {type(value).__name__}")
    if not value.strip():
        raise DataError(path, f"{key}.{name}", "empty string")
    return " ".join(value.split())


def _texts(path: Path, key: str, name: str, value: object) -> list[str]:
    if not isinstance(value, list):
        raise DataError(path, f"{key}.{name}", f"expected a list of strings, got {type(value).__name__}")
    return [_text(path, key, f"{name}[{i}]", v) for i, v in enumerate(value)]


def _check_unique_across_classes(path: Path, entries: list[ClassDescriptions]) -> None:
    owner: dict[str, tuple[str, str]] = {}
    for cd in entries:
        views = [("label", cd.label), ("canonical", cd.canonical)]
        views += [(f"paraphrases[{i}]", p) for i, p in enumerate(cd.paraphrases)]
        views += [(f"heldout_paraphrases[{i}]", p) for i, p in enumerate(cd.heldout_paraphrases)]
        for name, text in views:
            norm = normalize_text(text)
            if norm in owner and owner[norm][0] != cd.key:
                other_key, other_name = owner[norm]
                raise DataError(path, f"{cd.key}.{name}",
                                f"text {text!r} also describes class {other_key} ({other_name}); "
                                "a text must name one class only")
            owner.setdefault(norm, (cd.key, name))


def descriptions_for(class_keys: Iterable[str]) -> list[ClassDescriptions]:
    """The descriptions of ``class_keys`` in the same order, each from its family's catalog.

    The family is the first part of the key (``ninapro/A/5`` -> ``catalogs/ninapro.yaml``).
    """
    out = []
    for key in class_keys:
        key = str(key)
        family = key.split("/", 1)[0]
        catalog = load_catalog(family)
        if key not in catalog:
            hint = " (rest, label 0, has no descriptions: exclude rest)" if key.endswith("/0") else ""
            raise DataError(catalog_path(family), key, f"no descriptions for class {key!r} in this catalog{hint}")
        out.append(catalog[key])
    return out
