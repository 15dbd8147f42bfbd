"""MyoSem for a new user: methods chosen on development subjects, then scored once on the test users.

    rows = run_selection(["plain", "log-standardised"], seeds=(0, 1, 2), data_dir=...)   # S13-S16 only
    choice = choose(rows)                               # per setting: candidate + adaptation, by dev R@1
    test_rows = run_test(choice, seeds=(0, 1, 2), data_dir=...)                            # S17-S20

The ``user`` protocol's three new-user settings (``nothing``, ``unlabeled``, ``one-repetition``;
:data:`myosem_core.data.protocols.NEW_USER_SETTINGS`) evaluate the same windows, repetitions 4-10 of
the test users. A method is a **training candidate** (:class:`Candidate`: per-subject input calibration
and Stage-2/3 changes of the preset) with an **adaptation** (:data:`ADAPTATIONS`,
:class:`~myosem_core.adaptation.NewUserAdaptation`). Methods are compared on the development split
(:data:`DEV_SPLIT`: train S1-S4, S7-S12, test S13-S16, never S17-S20), with LDA scored beside MyoSem on
the same windows; :func:`choose` takes, per setting, the method with the best mean EMG->text R@1 over
seeds, and only that method is then trained on the real split and scored on S17-S20 (:func:`run_test`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from myosem_core.adaptation import NewUserAdaptation, new_user_scores
from myosem_core.adaptation.fine_tune import FineTuneConfig
from myosem_core.data.calibration import needs_split
from myosem_core.data.protocols import NEW_USER_SETTINGS
from myosem_core.errors import ConfigError
from myosem_core.evaluation.retrieval_results import evaluate_scores
from myosem_core.presets import make_config

SETTINGS = tuple(NEW_USER_SETTINGS)
#: development split inside the ``user`` protocol's training subjects (DB1)
DEV_SPLIT = {"train_subjects": [f"S{i}" for i in (1, 2, 3, 4, *range(7, 13))],
             "test_subjects": [f"S{i}" for i in range(13, 17)]}
#: other held-out users of DB1, scored only after the choice, to see whether it carries to users it was not chosen
#: on: each fold's four subjects are the new users, and the models train on the other 14 (S17-S20 among them)
CHECK_FOLDS = {"S1-S4": ("S1", "S2", "S3", "S4"), "S7-S10": ("S7", "S8", "S9", "S10")}
CHECK_PREFIX = "check "  # a check fold's rows have the stage "check <fold>"
METRICS = ("R@1", "R@3", "MRR")
ROW_METRICS = (*(f"E→T {k}" for k in METRICS), "T→E R@1")  # the figures of a row, as fractions
MEMBER_SEED_STEP = 1000  # ensemble member i of seed s trains with seed s + 1000 i
RING = 8  # DB1: electrodes 1-8 are equally spaced around the forearm; 9 and 10 sit on the finger flexors/extensors


@dataclass(frozen=True)
class Candidate:
    """How MyoSem is trained for new users: the preset with these changes."""

    name: str
    note: str
    calibration: bool | dict | None = None  # DataConfig.subject_calibration
    stage2: tuple[str, ...] = ()  # Stage2Config assignments, e.g. "center_windows=true"
    stage3: tuple[str, ...] = ()  # Stage3Config assignments
    val_subjects: int = 0  # validate on the last this-many training subjects instead of their repetition 10
    members: int = 1  # an ensemble of this many MyoSem models (seeds seed, seed + 1000, ...; one text space)

    @property
    def settings(self) -> tuple[str, ...]:
        """The settings it can serve: a calibration that reads adaptation windows has none under ``nothing``."""
        return SETTINGS[1:] if needs_split(self.calibration) else SETTINGS

    def stage_configs(self, preset: str):
        from myosem_core.presets import preset_section, with_overrides

        return tuple(with_overrides(preset_section(preset, stage), list(changes), f"candidate {self.name}")
                     for stage, changes in (("stage2", self.stage2), ("stage3", self.stage3)))


def _both(*assignments: str) -> dict:
    """The same augmentation change for Stages 2 and 3 (the user protocol trains with ``cross_user_augment``)."""
    return {"stage2": assignments, "stage3": assignments}


LOG_STD = {"method": "log-standardise"}
RING_ROTATION = (f"cross_user_augment.ring_channels={RING}", "cross_user_augment.ring_rotation=0.5")
STRONG_AUGMENT = ("cross_user_augment.noise=0.1", "cross_user_augment.channel_dropout=0.1")
SMALL = ("encoder.d_model=32", "encoder.dropout=0.3")
SUBJECT_MIXUP = "subject_mixup=0.4"  # Beta(0.4, 0.4) mixup of windows of two training subjects (Stage 2)

#: every training candidate tried, in the order the book lists them
CANDIDATES: dict[str, Candidate] = {c.name: c for c in (
    Candidate("plain", "the preset as it is"),
    Candidate("window-centred", "each window minus its own mean log level (needs no data of the user)",
              stage2=("center_windows=true",)),
    Candidate("ring-rotation", "the 8 ring electrodes turned by one position (p = 0.5)", **_both(*RING_ROTATION)),
    Candidate("adversarial", "subject-adversarial head on the segment vector (weight 0.3)",
              stage2=("w_subject=0.3",)),
    Candidate("small", "d_model 32, dropout 0.3", stage2=SMALL),
    Candidate("subject validation", "early stopping on whole training subjects (the last two)", val_subjects=2),
    Candidate("strong augmentation", "noise 0.1 and channel dropout 0.1", **_both(*STRONG_AUGMENT)),
    Candidate("log-standardised", "per-subject log standardisation of the input", calibration=LOG_STD),
    Candidate("log-standardised + ring-rotation", "both", calibration=LOG_STD, **_both(*RING_ROTATION)),
    Candidate("log-standardised + window-centred", "both", calibration=LOG_STD, stage2=("center_windows=true",)),
    Candidate("log-standardised + adversarial", "both", calibration=LOG_STD, stage2=("w_subject=0.3",)),
    Candidate("log-standardised + small", "both", calibration=LOG_STD, stage2=SMALL),
    Candidate("log-standardised + subject validation", "both", calibration=LOG_STD, val_subjects=2),
    Candidate("log-standardised + strong augmentation", "both", calibration=LOG_STD, **_both(*STRONG_AUGMENT)),
    Candidate("adversarial + ring-rotation + strong augmentation", "all three",
              stage2=("w_subject=0.3", *RING_ROTATION, *STRONG_AUGMENT), stage3=(*RING_ROTATION, *STRONG_AUGMENT)),
    Candidate("log-standardised + ring-rotation + strong augmentation", "all three", calibration=LOG_STD,
              **_both(*RING_ROTATION, *STRONG_AUGMENT)),
    Candidate("log-standardised + ring-rotation + adversarial", "all three", calibration=LOG_STD,
              stage2=("w_subject=0.3", *RING_ROTATION), stage3=RING_ROTATION),
    Candidate("log-standardised + ring-rotation + strong augmentation + adversarial", "all four",
              calibration=LOG_STD, stage2=("w_subject=0.3", *RING_ROTATION, *STRONG_AUGMENT),
              stage3=(*RING_ROTATION, *STRONG_AUGMENT)),
    Candidate("subject mixup", "Stage 2 on mixtures of two subjects' windows and their labels (alpha 0.4)",
              stage2=(SUBJECT_MIXUP,)),
    Candidate("adversarial + subject mixup", "both", stage2=("w_subject=0.3", SUBJECT_MIXUP)),
    Candidate("log-standardised + ring-rotation + adversarial + subject mixup", "all four", calibration=LOG_STD,
              stage2=("w_subject=0.3", *RING_ROTATION, SUBJECT_MIXUP), stage3=RING_ROTATION),
    Candidate("adversarial, ensemble of 3", "three adversarial models from different seeds, their embeddings "
              "averaged", stage2=("w_subject=0.3",), members=3),
    Candidate("log-standardised + ring-rotation + adversarial, ensemble of 3", "three such models from different "
              "seeds, their embeddings averaged", calibration=LOG_STD, stage2=("w_subject=0.3", *RING_ROTATION),
              stage3=RING_ROTATION, members=3),
)}

#: adaptation variants: name -> how a fitted model adapts (``none`` is the only one under ``nothing``)
ADAPTATIONS: dict[str, NewUserAdaptation] = {
    "none": NewUserAdaptation("none", "none"),
    "prototypes": NewUserAdaptation("prototypes", "prototypes", prior=1.0, rounds=5),
    "centroids": NewUserAdaptation("prototypes", "prototypes", prior=0.0, rounds=5),
    "fine-tune": NewUserAdaptation("fine-tune", "fine-tune", fine_tune=FineTuneConfig()),
    "fine-tune + prototypes": NewUserAdaptation("fine-tune", "fine-tune", fine_tune=FineTuneConfig(),
                                                prototypes_after_fine_tune=True),
    # the fine-tuning's own settings, against its defaults (15 epochs at lr 1e-3)
    "fine-tune, 30 epochs": NewUserAdaptation("fine-tune", "fine-tune", fine_tune=FineTuneConfig(epochs=30)),
    "fine-tune, lr 3e-3": NewUserAdaptation("fine-tune", "fine-tune", fine_tune=FineTuneConfig(lr=3e-3)),
    "fine-tune, lr 3e-4": NewUserAdaptation("fine-tune", "fine-tune", fine_tune=FineTuneConfig(lr=3e-4)),
    # the chosen fine-tunings with the user's own LDA head beside them (myosem_core.adaptation.user_head)
    "fine-tune, lr 3e-4 + user head 0.5": NewUserAdaptation("fine-tune", "fine-tune", user_head=0.5,
                                                            fine_tune=FineTuneConfig(lr=3e-4)),
    "fine-tune, lr 3e-4 + user head 0.25": NewUserAdaptation("fine-tune", "fine-tune", user_head=0.25,
                                                             fine_tune=FineTuneConfig(lr=3e-4)),
    "fine-tune, 30 epochs + user head 0.5": NewUserAdaptation("fine-tune", "fine-tune", user_head=0.5,
                                                              fine_tune=FineTuneConfig(epochs=30)),
    "fine-tune, 30 epochs + user head 0.25": NewUserAdaptation("fine-tune", "fine-tune", user_head=0.25,
                                                               fine_tune=FineTuneConfig(epochs=30)),
}


def check_stage(fold: str) -> str:
    """The stage name of the rows of a check fold (:data:`CHECK_FOLDS`)."""
    if fold not in CHECK_FOLDS:
        raise ConfigError(f"unknown check fold {fold!r}; expected one of {list(CHECK_FOLDS)}")
    return CHECK_PREFIX + fold


def check_split(fold: str, dataset: str = "ninapro-db1") -> dict:
    """Training and test subjects of a check fold: its subjects tested, every other subject of the ``user``
    protocol (training and test users alike) trained on, in the protocol's order."""
    from myosem_core.data.protocols import DEFAULTS

    check_stage(fold)
    if dataset not in DEFAULTS or "test_subjects" not in DEFAULTS[dataset]:
        raise ConfigError(f"check folds are DB1 subjects; {dataset!r} has no default user split")
    users = [*DEFAULTS[dataset]["train_subjects"], *DEFAULTS[dataset]["test_subjects"]]
    held = CHECK_FOLDS[fold]
    return {"train_subjects": [s for s in users if s not in held], "test_subjects": list(held)}


def split_options(candidate: Candidate, stage: str, dataset: str = "ninapro-db1") -> dict:
    """The ``user`` protocol's overrides of a stage: the development split (``dev``), none (``test``) or a check
    fold's (``check <fold>``), and the candidate's validation subjects (the last training subjects)."""
    from myosem_core.data.protocols import DEFAULTS

    if stage.startswith(CHECK_PREFIX):
        out = check_split(stage[len(CHECK_PREFIX):], dataset)
    elif stage in ("dev", "test"):
        out = dict(DEV_SPLIT) if stage == "dev" else {}
    else:
        raise ConfigError(f"stage must be 'dev', 'test' or 'check <fold>' with a fold of {list(CHECK_FOLDS)}, "
                          f"got {stage!r}")
    if candidate.val_subjects:
        train = out.get("train_subjects") or DEFAULTS.get(dataset, {}).get("train_subjects")
        if not train:
            raise ConfigError(f"candidate {candidate.name!r} validates on whole subjects; {dataset!r} has no default "
                              "training subjects")
        out["val_subjects"] = list(train[-candidate.val_subjects:])
    return out


def _row(stage: str, candidate: str, seed: int, setting: str, adaptation: str, model: str, result: dict,
         n_test: int) -> dict:
    e, t = result["emg_to_text"], result["text_to_emg"]
    return {"stage": stage, "candidate": candidate, "seed": seed, "setting": setting, "adaptation": adaptation,
            "model": model, **{f"E→T {k}": float(e[k]) for k in METRICS}, "T→E R@1": float(t["R@1"]),
            "n_test": int(n_test)}


#: scoring baselines refitted on a new user's own windows alone, as a model name of the rows -> the grid's row
#: (:data:`myosem_experiments.grid.MODELS`, which holds its retriever, options and adaptation): LDA with a shrunk
#: covariance, which the user's few windows per movement need; chosen on the development users, where it was far
#: ahead of LDA refitted with the training windows under ``one-repetition``
USER_ONLY = {"LDA-user": "lda-user"}


def score_candidate(candidate: Candidate, seed: int, stage: str = "dev", adaptations=None, preset: str = "quick",
                    dataset: str = "ninapro-db1", data_dir=None, runs=None, settings=None, baselines=("lda",),
                    user_only=tuple(USER_ONLY), progress: bool = False) -> list[dict]:
    """One row per (setting, adaptation, model): MyoSem trained as ``candidate`` (cached runs), and ``baselines``
    (registry names) fitted on the same windows, each adapted and scored on the evaluated windows. Under the
    ``prototypes`` adaptation of a setting with adaptation windows, each of ``user_only`` (:data:`USER_ONLY`) is
    refitted on the user's windows alone (under ``unlabeled``, labelled by the balanced assignment of its own scores
    after fitting on the training windows).

    ``stage``: ``dev`` (:data:`DEV_SPLIT`), ``test`` (the protocol's own split, S17-S20 on DB1) or a check
    fold's (:func:`check_stage`).
    """
    from myosem_core.baselines.ensemble import EnsembleRetriever
    from myosem_core.baselines.myosem import MyoSemRetriever
    from myosem_core.baselines.registry import make_retriever

    from ..grid.rows import MODELS
    from ..pipeline import load_data, train_myosem

    cfg = make_config(preset, dataset, data_dir, seed)
    cfg = replace(cfg, data=replace(cfg.data, subject_calibration=candidate.calibration))
    s2, s3 = candidate.stage_configs(preset)
    options = split_options(candidate, stage, dataset)
    rows, fitted = [], {}
    for setting in settings or candidate.settings:
        if setting not in candidate.settings:
            raise ConfigError(f"candidate {candidate.name!r} cannot serve the setting {setting!r}")
        ws, split = load_data(cfg, "user", progress=False, new_user=setting, **options)
        text, P, _, run3 = train_myosem(cfg, ws, split, runs=runs, stage2=s2, stage3=s3, progress=progress)
        members = [MyoSemRetriever.from_run(run3)]
        for i in range(1, candidate.members):
            member_cfg = replace(cfg, seed=seed + MEMBER_SEED_STEP * i)
            members.append(MyoSemRetriever.from_run(train_myosem(member_cfg, ws, split, text, runs, stage2=s2,
                                                                 stage3=s3, progress=progress)[3]))
        y = ws.y[split.test]
        models = {"MyoSem": members[0] if len(members) == 1 else EnsembleRetriever(members)}
        for name in baselines:
            if name not in fitted:  # the training windows are the same in every setting
                fitted[name] = make_retriever(name, seed=seed, preset=preset).fit(
                    ws.subset(split.train), ws.subset(split.val), P)
            models[name.upper() if name in ("lda", "rf") else name] = fitted[name]
        for adaptation in adaptations or ADAPTATIONS:
            method = ADAPTATIONS[adaptation]
            if setting == "nothing" and adaptation != "none":
                continue
            for model, retriever in models.items():
                if model != "MyoSem" and adaptation not in ("none", "prototypes"):
                    continue  # a scoring baseline is refitted the same way under every variant
                S = new_user_scores(retriever, ws, split, P, method, seed)
                result = evaluate_scores(S, y, list(ws.class_keys), seed=seed)
                rows.append(_row(stage, candidate.name, seed, setting, adaptation, model, result, len(y)))
            if adaptation == "prototypes":
                for model in user_only:
                    spec = MODELS[USER_ONLY[model]]
                    if model not in fitted:
                        fitted[model] = make_retriever(spec.emg, seed=seed, preset=preset, **spec.options).fit(
                            ws.subset(split.train), ws.subset(split.val), P)
                    S = new_user_scores(fitted[model], ws, split, P, replace(method, **spec.adaptation), seed)
                    result = evaluate_scores(S, y, list(ws.class_keys), seed=seed)
                    rows.append(_row(stage, candidate.name, seed, setting, adaptation, model, result, len(y)))
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    """Per (stage, setting, candidate, adaptation, model): mean and std over seeds of every metric."""
    keys = ("stage", "setting", "candidate", "adaptation", "model")
    groups: dict = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    out = []
    for key, sel in groups.items():
        row = dict(zip(keys, key), seeds=sorted(r["seed"] for r in sel))
        for m in ROW_METRICS:
            values = [r[m] for r in sel]
            row[m] = float(np.mean(values))
            row[f"{m} std"] = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        out.append(row)
    return out


def choose(rows: list[dict], seeds=None) -> dict[str, dict]:
    """Per setting, MyoSem's development method with the best mean E->T R@1 (then R@3) over ``seeds``;
    ``{setting: {"candidate", "adaptation", "E→T R@1", ...}}``.

    Only methods scored on every one of ``seeds`` compete (default: the largest seed set any method has, so
    methods screened on one seed and not carried further are listed but not chosen).
    """
    dev = [r for r in rows if r["stage"] == "dev" and r["model"] == "MyoSem"]
    if seeds is None:
        per_method: dict = {}
        for r in dev:
            per_method.setdefault((r["setting"], r["candidate"], r["adaptation"]), set()).add(r["seed"])
        seeds = max(per_method.values(), key=len) if per_method else set()
    seeds = set(seeds)
    out = {}
    for s in summarise([r for r in dev if r["seed"] in seeds]):
        if set(s["seeds"]) != seeds:
            continue
        best = out.get(s["setting"])
        if best is None or (s["E→T R@1"], s["E→T R@3"]) > (best["E→T R@1"], best["E→T R@3"]):
            out[s["setting"]] = s
    return {k: out[k] for k in SETTINGS if k in out}


def run_selection(candidates=None, seeds=(0, 1, 2), adaptations=None, settings=None, **kw) -> list[dict]:
    """Development rows of ``candidates``, ``adaptations`` and ``settings`` (default: all of each) for every seed."""
    rows = []
    for name in candidates or CANDIDATES:
        candidate = CANDIDATES[name]
        served = [s for s in candidate.settings if settings is None or s in settings]
        for seed in seeds:
            rows += score_candidate(candidate, seed, "dev", adaptations, settings=served, **kw) if served else []
    return rows


def run_test(choice: dict[str, dict], seeds=(0, 1, 2), baselines=("lda", "rf"), settings=None, stage: str = "test",
             **kw) -> list[dict]:
    """Test rows (the protocol's own test users, or a check fold's with ``stage``) of each setting's chosen method
    (``settings``: default all), with ``baselines`` beside it: unadapted, with the user's prototypes (a scoring
    baseline refitted with the user's windows), and as chosen."""
    rows = []
    for setting, chosen in choice.items():
        if settings is not None and setting not in settings:
            continue
        adaptations = tuple(dict.fromkeys(("none", "prototypes", chosen["adaptation"])))
        for seed in seeds:
            rows += score_candidate(CANDIDATES[chosen["candidate"]], seed, stage, adaptations,
                                    settings=[setting], baselines=baselines, **kw)
    return rows


def merge_rows(kept: list[dict], fresh: list[dict]) -> list[dict]:
    """``kept`` rows not recomputed in ``fresh``, then ``fresh`` (a rerun replaces its own rows only)."""
    keys = ("stage", "candidate", "seed", "setting", "adaptation", "model")
    new = {tuple(r[k] for k in keys) for r in fresh}
    return [r for r in kept if tuple(r[k] for k in keys) not in new] + fresh


def selection_path(preset: str, folder: str | Path | None = None) -> Path:
    """The committed result file the book reads: ``book/results/new-user-<preset>.json``."""
    from myosem_core.paths import repo_root

    return Path(folder) if folder else repo_root() / "book" / "results" / f"new-user-{preset}.json"


#: what the book asks of MyoSem for a new user (test users, mean of seeds): setting -> (E→T R@1, E→T R@3), percent
TARGETS = {"nothing": (30.0, 58.0), "unlabeled": (40.0, 68.0), "one-repetition": (65.0, 85.0)}
MODEL_LABELS = {"MyoSem": "MyoSem", "LDA": "LDA", "RF": "random forest",
                "LDA-user": "LDA (shrinkage) on the user's windows alone"}


def _cell(s: dict, metric: str) -> str:
    n = len(s["seeds"])
    return f"{100 * s[metric]:.1f} ± {100 * s[metric + ' std']:.1f}" if n > 1 else f"{100 * s[metric]:.1f}"


def finalists(summary: list[dict]) -> list[dict]:
    """The development summary rows of the methods carried to the most seeds of their setting (those that compete
    in :func:`choose`; the others were screened on fewer seeds)."""
    dev = [s for s in summary if s["stage"] == "dev"]
    most = {}
    for s in dev:
        most[s["setting"]] = max(most.get(s["setting"], 0), len(s["seeds"]))
    return [s for s in dev if len(s["seeds"]) == most[s["setting"]]]


def method_table(rows: list[dict], models=("MyoSem", "LDA", "LDA-user")):
    """Development figures of every method tried: rows (candidate, adaptation), columns (setting, model metric);
    'mean ± std' over seeds, percent; empty where a method does not apply."""
    import pandas as pd

    out: dict = {}
    for s in summarise([r for r in rows if r["stage"] == "dev" and r["model"] in models]):
        row = out.setdefault((s["candidate"], s["adaptation"]), {})
        for metric in ("E→T R@1", "E→T R@3"):
            row[(s["setting"], f"{s['model']} {metric[4:]}")] = _cell(s, metric)
        row[(s["setting"], "seeds")] = len(s["seeds"])
    order = {name: i for i, name in enumerate(CANDIDATES)}
    table = pd.DataFrame.from_dict(out, orient="index")
    table = table.loc[sorted(table.index, key=lambda k: (order.get(k[0], len(order)), list(ADAPTATIONS).index(k[1])
                                                         if k[1] in ADAPTATIONS else 99))]
    table.index.names = ["candidate", "adaptation"]
    cols = [(st, c) for st in SETTINGS for c in [f"{m} {x}" for m in models for x in ("R@1", "R@3")] + ["seeds"]
            if (st, c) in table.columns]
    table = table[cols]
    table.columns = pd.MultiIndex.from_tuples(cols)
    return table.astype(object).where(table.notna(), "")


def held_out_table(rows: list[dict], choice: dict[str, dict] | None = None):
    """Test-user figures per setting and model (mean ± std over seeds, percent), the chosen method's adaptation;
    with ``choice``, a column marks the rows of the current choice (earlier choices' rows stay listed)."""
    import pandas as pd

    out = []
    for s in summarise([r for r in rows if r["stage"] == "test"]):
        out.append({"setting": s["setting"], "model": MODEL_LABELS.get(s["model"], s["model"]),
                    "method": f"{s['candidate']} + {s['adaptation']}",
                    **{m: _cell(s, m) for m in ROW_METRICS}, "seeds": len(s["seeds"])})
        if choice is not None:  # the test step scores the choice unadapted, with prototypes, and as chosen
            chosen = choice.get(s["setting"], {})
            current = s["candidate"] == chosen.get("candidate") and s["adaptation"] in ("none", "prototypes",
                                                                                       chosen.get("adaptation"))
            out[-1]["current choice"] = "yes" if current else ""
    if not out:
        return pd.DataFrame()
    table = pd.DataFrame(out)
    table["setting"] = pd.Categorical(table["setting"], SETTINGS, ordered=True)
    return table.sort_values(["setting", "model", "method"]).set_index(["setting", "model", "method"])


def target_verdicts(rows: list[dict], choice: dict[str, dict], stage: str = "test") -> list[dict]:
    """Per setting: MyoSem's test mean (or a check fold's, with ``stage``) under the chosen method against
    :data:`TARGETS` and each baseline at its best adaptation there (``baselines``: label -> (E→T R@1, E→T R@3,
    T→E R@1), the label naming a refit); ``summary``: MyoSem's row of :func:`summarise`."""
    out = []
    summary = summarise([r for r in rows if r["stage"] == stage])
    for setting, chosen in choice.items():
        mine = [s for s in summary if s["setting"] == setting and s["model"] == "MyoSem"
                and s["candidate"] == chosen["candidate"] and s["adaptation"] == chosen["adaptation"]]
        if not mine:
            continue
        m = mine[0]
        best: dict = {}  # each baseline at its best adaptation in this setting (unadapted or refitted)
        for o in summary:
            if o["setting"] == setting and o["model"] != "MyoSem" and o["candidate"] == chosen["candidate"]:
                if o["model"] not in best or o["E→T R@1"] > best[o["model"]]["E→T R@1"]:
                    best[o["model"]] = o
        others = list(best.values())
        r1, r3 = TARGETS[setting]
        out.append({"setting": setting, "method": f"{chosen['candidate']} + {chosen['adaptation']}",
                    "seeds": m["seeds"], "R@1": 100 * m["E→T R@1"], "R@3": 100 * m["E→T R@3"],
                    "T→E R@1": 100 * m["T→E R@1"], "target R@1": r1, "target R@3": r3,
                    "met": bool(100 * m["E→T R@1"] >= r1 and 100 * m["E→T R@3"] >= r3),
                    "summary": m,
                    "baselines": {MODEL_LABELS.get(o["model"], o["model"]) + (
                                      "" if o["adaptation"] == "none" or o["model"] in USER_ONLY
                                      else " (refitted with the user's windows)"):
                                  (100 * o["E→T R@1"], 100 * o["E→T R@3"], 100 * o["T→E R@1"]) for o in others}})
    return out


def _mean_over_stages(rows: list[dict], stages: list[str], stage: str) -> list[dict]:
    """Rows of ``stage``: per (seed, setting, candidate, adaptation, model) scored under every one of ``stages``,
    each metric averaged over them (every set of users weighs the same)."""
    keys = ("seed", "setting", "candidate", "adaptation", "model")
    groups: dict = {}
    for r in rows:
        if r["stage"] in stages:
            groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    return [dict(zip(keys, key), stage=stage, **{m: float(np.mean([r[m] for r in sel])) for m in ROW_METRICS},
                 n_test=sum(r["n_test"] for r in sel))
            for key, sel in groups.items() if len(sel) == len(stages)]


def check_records(rows: list[dict], choice: dict[str, dict]) -> list[dict]:
    """The chosen methods on every set of held-out users that has rows (the test users, then each check fold, then
    their mean where there are several), one record per (users, setting): MyoSem's summary row (``mine``), the
    strongest other row of the same windows at its best adaptation (``other``: label -> (E→T R@1, R@3, T→E R@1),
    percent) and the targets."""
    stages = [st for st in ("test", *(check_stage(f) for f in CHECK_FOLDS)) if any(r["stage"] == st for r in rows)]
    sets = [("S17–S20 (test)" if st == "test" else st[len(CHECK_PREFIX):].replace("-", "–"), st, rows)
            for st in stages]
    if len(stages) > 1:
        sets.append(("mean of the sets above", "mean", _mean_over_stages(rows, stages, "mean")))
    out = []
    for users, stage, sel in sets:
        for v in target_verdicts(sel, choice, stage):
            best = max(v["baselines"].items(), key=lambda kv: kv[1][0]) if v["baselines"] else None
            out.append({"users": users, "setting": v["setting"], "mine": v["summary"], "other": best,
                        "target R@1": v["target R@1"], "target R@3": v["target R@3"]})
    return out


def check_table(rows: list[dict], choice: dict[str, dict]):
    """:func:`check_records` as a table: MyoSem's E→T R@1 / R@3 and T→E R@1 (mean ± std over seeds, percent) beside
    the strongest other row, and how far MyoSem is ahead of it."""
    import pandas as pd

    out = []
    for c in check_records(rows, choice):
        mine = c["mine"]
        name, (b1, b3, _) = c["other"] or ("", (np.nan, np.nan, np.nan))
        out.append({"users": c["users"], "setting": c["setting"],
                    "MyoSem E→T R@1": _cell(mine, "E→T R@1"), "MyoSem E→T R@3": _cell(mine, "E→T R@3"),
                    "MyoSem T→E R@1": _cell(mine, "T→E R@1"), "strongest other row": name,
                    "its E→T R@1 / R@3": f"{b1:.1f} / {b3:.1f}",
                    "MyoSem ahead by (R@1)": round(100 * mine["E→T R@1"] - b1, 1),
                    "target R@1 / R@3": f"{c['target R@1']:.0f} / {c['target R@3']:.0f}",
                    "seeds": len(mine["seeds"])})
    if not out:
        return pd.DataFrame()
    return pd.DataFrame(out).set_index(["users", "setting"])


def new_user_sentences(rows: list[dict], choice: dict[str, dict], chosen_at: str | None = None) -> list[str]:
    """What the new-user results say, one sentence per setting: the method chosen on the development users and
    what it reaches on the test users, against the target and the classical baselines. ``chosen_at``: the preset
    of the development figures, when the test rows were trained at another."""
    out = []
    verdicts = {v["setting"]: v for v in target_verdicts(rows, choice)}
    at = f" at the {chosen_at} preset" if chosen_at else ""
    for setting, chosen in choice.items():
        dev = (f"`{setting}`: chosen on S13–S16, {chosen['candidate']} + {chosen['adaptation']} "
               f"(development R@1 {100 * chosen['E→T R@1']:.1f}{at}, seeds {chosen['seeds']})")
        v = verdicts.get(setting)
        if v is None:
            out.append(dev + "; not yet scored on the test users.")
            continue
        base = "; ".join(f"{name} {a:.1f} / {b:.1f}" for name, (a, b, _) in v["baselines"].items())
        word = "meets" if v["met"] else "misses"
        out.append(f"{dev}. On S17–S20 MyoSem reaches EMG→text R@1 {v['R@1']:.1f} / R@3 {v['R@3']:.1f} "
                   f"(seeds {v['seeds']}), which {word} the target {v['target R@1']:.0f} / {v['target R@3']:.0f}"
                   + (f"; on the same windows {base}." if base else "."))
    return out
