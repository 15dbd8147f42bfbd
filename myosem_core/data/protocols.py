"""Evaluation protocols as saved manifests: one row per window with its split.

- ``rand``: all subjects pooled, split by repetition (never by window), so
  neighbouring windows of one repetition cannot leak across splits.
- ``user``: subjects disjoint between train and test. Validation is the
  training subjects' ``val_repetitions``, or with ``val_subjects`` whole
  training subjects, so that model selection watches people never trained on.
  A **new-user setting** (``new_user``, :data:`NEW_USER_SETTINGS`) says what a model may read of a test
  user before it is scored: ``nothing``, ``unlabeled`` (the ``adapt_repetitions``, without labels) or
  ``one-repetition`` (the ``labelled_repetitions``, with labels). Every setting evaluates the same windows,
  the test users' repetitions outside ``adapt_repetitions``; the windows it may read are marked ``adapt``
  in the manifest, and it trains on the same windows as plain ``user``.
- ``class``: held-out classes never reach train or val; test holds them plus
  the seen classes' test repetitions, and every class is a retrieval candidate.
- ``cross-dataset``: train on dataset A, test on dataset B.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError, DataError
from ..io import atomic_path, write_json
from .windows import WindowSet

#: the protocols the book reports on one dataset (``cross-dataset`` needs two)
PROTOCOLS = ("rand", "user", "class")
ALL_PROTOCOLS = PROTOCOLS + ("cross-dataset",)

#: The ``user`` protocol's new-user settings: what a model may read of a test user before it is scored.
NEW_USER_SETTINGS = {
    "nothing": "no data of the new user",
    "unlabeled": "the new user's adaptation repetitions without labels (transductive)",
    "one-repetition": "one labelled repetition of each movement of the new user",
}
#: the fields that choose a new-user setting: they change the test users' windows only, never training
NEW_USER_FIELDS = ("new_user", "adapt_repetitions", "labelled_repetitions")
#: the ``user`` protocol under each new-user setting, as protocol labels (opt-in rows of the grid)
NEW_USER_PROTOCOLS = tuple(f"user-{setting}" for setting in NEW_USER_SETTINGS)

#: Development defaults per dataset (DESIGN.md section 3).
DEFAULTS = {
    "ninapro-db1": {
        "train_subjects": [f"S{i}" for i in (1, 2, 3, 4, *range(7, 17))],
        "test_subjects": [f"S{i}" for i in range(17, 21)],
        "heldout_classes": ["ninapro/A/2", "ninapro/A/5", "ninapro/A/8", "ninapro/A/11"],
    },
    "synthetic": {
        "heldout_classes": ["synthetic/S/2", "synthetic/S/5", "synthetic/S/8", "synthetic/S/11"],
    },
}


@dataclass
class ProtocolConfig:
    """Everything that defines a split; saved beside the manifest."""

    name: str = "rand"
    test_repetitions: tuple[int, ...] = (2, 5, 7)
    val_repetitions: tuple[int, ...] = (10,)
    train_subjects: list[str] | None = None  # user: None = dataset default
    test_subjects: list[str] | None = None
    val_subjects: list[str] | None = None  # user: whole training subjects as validation (None: val_repetitions)
    heldout_classes: list[str] | None = None  # class: class keys; None = dataset default
    train_dataset: str | None = None  # cross-dataset
    test_dataset: str | None = None
    new_user: str | None = None  # user: None (every repetition of the test users evaluated) or a NEW_USER_SETTINGS key
    adapt_repetitions: tuple[int, ...] = (1, 2, 3)  # new-user settings: test users' repetitions never evaluated
    labelled_repetitions: tuple[int, ...] = (1,)  # one-repetition: the adaptation repetitions read with labels

    def key(self) -> dict:
        """The fields that define this protocol's training windows, for the run-cache hashes of trained models.

        ``val_subjects`` enters only when set (``user``), so runs cached before the field existed keep their keys.
        The new-user fields never enter: they choose test users' windows only, so every setting reuses the
        models trained for plain ``user`` (:meth:`evaluation_key` names them).
        """
        out = asdict(self)
        if self.name != "user" or self.val_subjects is None:
            out.pop("val_subjects")
        for name in NEW_USER_FIELDS:
            out.pop(name)
        return out

    def evaluation_key(self) -> dict:
        """:meth:`key` plus the new-user setting (when one is set): what defines the evaluated windows."""
        out = self.key()
        if self.new_user is not None:
            out.update({name: getattr(self, name) for name in NEW_USER_FIELDS})
        return out

    @property
    def label(self) -> str:
        """The protocol's name in result files and tables: ``user-unlabeled`` under a new-user setting."""
        return self.name if self.new_user is None else f"{self.name}-{self.new_user}"


@dataclass
class Split:
    """A manifest (DataFrame, one row per window) and the protocol that made it."""

    manifest: pd.DataFrame
    config: ProtocolConfig
    extra: dict = field(default_factory=dict)

    def indices(self, split: str) -> np.ndarray:
        return self.manifest.index[self.manifest["split"] == split].to_numpy()

    @property
    def train(self) -> np.ndarray:
        return self.indices("train")

    @property
    def val(self) -> np.ndarray:
        return self.indices("val")

    @property
    def test(self) -> np.ndarray:
        return self.indices("test")

    @property
    def adapt(self) -> np.ndarray:
        """The new user's windows a new-user setting may read (empty under ``nothing`` and other protocols)."""
        return self.indices("adapt")

    @property
    def new_user(self) -> str | None:
        return self.config.new_user

    @property
    def adapt_labelled(self) -> bool:
        """Whether the adaptation windows come with their labels (``one-repetition``)."""
        return self.config.new_user == "one-repetition"

    @property
    def heldout_classes(self) -> list[str]:
        return list(self.extra.get("heldout_classes", []))

    def counts(self) -> pd.DataFrame:
        """Window counts per split (rows) and class (columns)."""
        return pd.crosstab(self.manifest["split"], self.manifest["class_key"])

    def save(self, folder: str | Path) -> Path:
        """Write ``<label>.csv`` and ``<label>.json`` atomically into ``folder`` (label: ``user-unlabeled`` ...)."""
        folder = Path(folder)
        path = folder / f"{self.config.label}.csv"
        with atomic_path(path) as tmp:
            self.manifest.to_csv(tmp, index_label="window")
        write_json(folder / f"{self.config.label}.json", {"config": asdict(self.config), **self.extra})
        return path


def _rep_split(ws: WindowSet, test_reps, val_reps) -> np.ndarray:
    split = np.full(len(ws), "train", dtype=object)
    split[np.isin(ws.repetition, list(val_reps))] = "val"
    split[np.isin(ws.repetition, list(test_reps))] = "test"
    return split


def _default(ws: WindowSet, key: str):
    datasets = sorted(set(ws.dataset.tolist()))
    for d in datasets:
        if key in DEFAULTS.get(d, {}):
            return list(DEFAULTS[d][key])
    if key in ("train_subjects", "test_subjects"):  # last quarter of the subjects tested
        subjects = sorted(set(ws.subject.tolist()), key=lambda s: (len(s), s))
        k = max(1, len(subjects) // 4)
        return subjects[:-k] if key == "train_subjects" else subjects[-k:]
    raise ConfigError(f"protocol needs '{key}' for dataset(s) {datasets}; no default exists")


def default_train_subjects(ws: WindowSet) -> list[str]:
    """The ``user`` protocol's training subjects for these windows, in the protocol's order (DB1: S1-S4, S7-S16)."""
    return _default(ws, "train_subjects")


def _val_subjects(cfg: ProtocolConfig, train: list[str], present: set) -> list[str]:
    """The ``user`` protocol's validation subjects (checked against the training subjects); [] if none."""
    chosen = list(cfg.val_subjects or [])
    outside = set(chosen) - set(train)
    if outside:
        raise ConfigError(f"user protocol: validation subjects {sorted(outside)} are not training subjects")
    chosen = [s for s in chosen if s in present]
    if chosen and not ((set(train) - set(chosen)) & present):
        raise ConfigError("user protocol: the validation subjects would leave no training subject")
    return chosen


def _check_new_user(cfg: ProtocolConfig) -> None:
    if cfg.new_user is None:
        return
    if cfg.name != "user":
        raise ConfigError(f"protocol {cfg.name!r}: new_user={cfg.new_user!r} is a setting of the user protocol only")
    if cfg.new_user not in NEW_USER_SETTINGS:
        raise ConfigError(f"user protocol: unknown new_user {cfg.new_user!r}; expected one of {list(NEW_USER_SETTINGS)}")
    if not cfg.adapt_repetitions:
        raise ConfigError("user protocol: a new-user setting needs adapt_repetitions (the repetitions never evaluated)")
    outside = set(cfg.labelled_repetitions) - set(cfg.adapt_repetitions)
    if cfg.new_user == "one-repetition" and (not cfg.labelled_repetitions or outside):
        raise ConfigError(f"user protocol: labelled_repetitions {list(cfg.labelled_repetitions)} must be a non-empty "
                          f"subset of adapt_repetitions {list(cfg.adapt_repetitions)}")


def _mark_new_user_windows(split: np.ndarray, ws: WindowSet, test_subjects, cfg: ProtocolConfig) -> None:
    """Under a new-user setting: the test users' adaptation repetitions become ``adapt`` (what the setting may
    read) or ``unused``; their other repetitions stay ``test``, the same windows in every setting."""
    is_test_user = np.isin(ws.subject, test_subjects)
    reserved = is_test_user & np.isin(ws.repetition, list(cfg.adapt_repetitions))
    split[reserved] = "unused"
    readable = {"nothing": (), "unlabeled": cfg.adapt_repetitions,
                "one-repetition": cfg.labelled_repetitions}[cfg.new_user]
    split[reserved & np.isin(ws.repetition, list(readable))] = "adapt"
    if readable and not (split == "adapt").any():
        raise DataError("<windows>", "repetition", f"user protocol, new user setting {cfg.new_user!r}: no window of "
                        f"the test users in repetitions {list(readable)}")


def protocol_options(label: str) -> tuple[str, dict]:
    """A protocol label and the fields it sets: ``user-unlabeled`` -> ``("user", {"new_user": "unlabeled"})``."""
    for setting in NEW_USER_SETTINGS:
        if label == f"user-{setting}":
            return "user", {"new_user": setting}
    return label, {}


def make_split(ws: WindowSet, cfg: ProtocolConfig | str = "rand", **overrides) -> Split:
    """Assign every window of ``ws`` to train / val / test / adapt / unused under a protocol.

    ``cfg`` is a :class:`ProtocolConfig` or a protocol label (``rand``, ``user``, ``user-unlabeled`` ...)."""
    if isinstance(cfg, str):
        name, implied = protocol_options(cfg)
        cfg = ProtocolConfig(name=name, **{**implied, **overrides})
    if cfg.name not in ALL_PROTOCOLS:
        raise ConfigError(f"unknown protocol {cfg.name!r}; expected one of {ALL_PROTOCOLS}")
    _check_new_user(cfg)
    extra: dict = {}
    if cfg.name == "rand":
        split = _rep_split(ws, cfg.test_repetitions, cfg.val_repetitions)
    elif cfg.name == "user":
        train = cfg.train_subjects or _default(ws, "train_subjects")
        test = cfg.test_subjects or _default(ws, "test_subjects")
        if set(train) & set(test):
            raise ConfigError(f"user protocol: subjects {sorted(set(train) & set(test))} are in both train and test")
        present = set(ws.subject.tolist())
        if not set(test) & present:
            raise DataError("<windows>", "subject", f"user protocol: none of the test subjects {test} is present")
        val_subjects = _val_subjects(cfg, train, present)
        split = np.full(len(ws), "unused", dtype=object)
        in_train = np.isin(ws.subject, train)
        split[in_train] = "train"
        if val_subjects:
            split[in_train & np.isin(ws.subject, val_subjects)] = "val"
        else:
            split[in_train & np.isin(ws.repetition, list(cfg.val_repetitions))] = "val"
        split[np.isin(ws.subject, test)] = "test"
        if cfg.new_user is not None:
            _mark_new_user_windows(split, ws, test, cfg)
        extra.update(train_subjects=sorted(set(train) & present), test_subjects=sorted(set(test) & present),
                     val_subjects=sorted(val_subjects))
    elif cfg.name == "class":
        held = cfg.heldout_classes or _default(ws, "heldout_classes")
        unknown = set(held) - set(ws.class_keys)
        if unknown:
            raise ConfigError(f"class protocol: held-out classes {sorted(unknown)} are not in the data ({ws.class_keys[:3]}...)")
        split = _rep_split(ws, cfg.test_repetitions, cfg.val_repetitions)
        is_held = np.isin(ws.labels, held)
        split[is_held] = "test"
        extra.update(heldout_classes=list(held), seen_classes=[k for k in ws.class_keys if k not in held])
    else:  # cross-dataset
        if not cfg.train_dataset or not cfg.test_dataset:
            raise ConfigError("cross-dataset protocol needs train_dataset and test_dataset")
        for d in (cfg.train_dataset, cfg.test_dataset):
            if d not in set(ws.dataset.tolist()):
                raise DataError("<windows>", "dataset", f"cross-dataset protocol: no window of {d!r}")
        split = np.full(len(ws), "unused", dtype=object)
        in_train = ws.dataset == cfg.train_dataset
        split[in_train] = "train"
        split[in_train & np.isin(ws.repetition, list(cfg.val_repetitions))] = "val"
        split[ws.dataset == cfg.test_dataset] = "test"

    manifest = pd.DataFrame({
        "dataset": ws.dataset,
        "subject": ws.subject,
        "class_key": ws.labels.astype(str),
        "label": ws.y,
        "repetition": ws.repetition,
        "start": ws.start,
        "split": split.astype(str),
    })
    if not (manifest["split"] == "test").any():
        raise DataError("<windows>", "split", f"protocol {cfg.name!r} produced an empty test split; check its repetitions/subjects/classes")
    if not (manifest["split"] == "train").any():
        raise DataError("<windows>", "split", f"protocol {cfg.name!r} produced an empty train split")
    return Split(manifest, cfg, extra)


def load_split(folder: str | Path, name: str) -> Split:
    """Read a manifest saved by :meth:`Split.save`."""
    import json

    folder = Path(folder)
    csv, js = folder / f"{name}.csv", folder / f"{name}.json"
    for p in (csv, js):
        if not p.is_file():
            raise DataError(p, None, "manifest file not found")
    meta = json.loads(js.read_text())
    cfg = ProtocolConfig(**{k: (tuple(v) if k.endswith("repetitions") else v) for k, v in meta.pop("config").items()})
    text_columns = {"dataset": str, "subject": str, "class_key": str, "split": str}  # user ids may look numeric
    return Split(pd.read_csv(csv, index_col="window", dtype=text_columns), cfg, meta)
