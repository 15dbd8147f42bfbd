"""A row's recipe: everything its result depends on (the data's identity, seed, protocol, row, training
configs and the code that trains and scores it). Its hash keys the cached result: a saved result is reused
while the hash matches, and ``--force`` recomputes it.
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass, replace

from myosem_core.config import Config
from myosem_core.presets import preset_section

from .rows import NEW_USER_PROTOCOLS, ModelSpec

TFIDF_DIM = 64
_WHERE_SET = ("options", "adaptation", "protocols")


def stage_presets(preset: str, protocol: str | None = None):
    """MyoSem's Stage-2 and Stage-3 configs of a preset and protocol (the deep baselines derive theirs from the same)."""

    return (preset_section(preset, "stage2").for_protocol(protocol),
            preset_section(preset, "stage3").for_protocol(protocol))


def row_stage_configs(spec: ModelSpec, preset: str, protocol: str | None = None):
    """The Stage-2 and Stage-3 configs of a MyoSem-family row: the presets with the row's switches applied."""
    s2, s3 = stage_presets(preset, protocol)
    if spec.encoder:
        s2 = replace(s2, encoder=replace(s2.encoder, **spec.encoder))
    if spec.head:
        s3 = replace(s3, head=replace(s3.head, **spec.head))
    return s2, s3


def row_code(spec: ModelSpec, protocol: str) -> tuple[str, ...]:
    """The modules whose code a row's result depends on: its EMG model's training, its prototypes' source,
    the evaluation, and calibrated stacking where it applies."""
    from myosem_core.baselines.registry import RETRIEVERS

    code = ["myosem_core.evaluation.retrieval_results",
            "myosem_core.training.myosem" if spec.is_myosem else RETRIEVERS[spec.emg].module]
    if spec.text == "stage1":
        code.append("myosem_core.text.stage1")
    elif spec.text != "none":
        code.append("myosem_core.baselines.text")
    if spec.calibrated_stacking and protocol == "class":
        code.append("myosem_experiments.evaluation.calibrated_stacking")
    if protocol in NEW_USER_PROTOCOLS:
        code.append("myosem_core.adaptation.new_user")
    return tuple(code)


def recipe(spec: ModelSpec, cfg: Config, protocol: str) -> dict:
    """Everything a result depends on (data identity, seed, protocol, row, training configs, code); its hash
    keys the cached result."""
    from myosem_core import distributed as ddp
    from myosem_core.run_store import code_version, data_identity, digest

    # cost: a scheduling hint; calibrated_stacking: its own entry below, only where it changes the result;
    # options, adaptation and protocols only where a row sets them (the other rows' hashes stay as they were)
    row = {k: v for k, v in asdict(spec).items()
           if k not in ("cost", "calibrated_stacking") and not (k in _WHERE_SET and not v)}
    out: dict = {"data": data_identity(cfg.data), "seed": cfg.seed, "preset": cfg.preset, "protocol": protocol,
                 "spec": row}
    if protocol in NEW_USER_PROTOCOLS:  # how every row adapts to each new user
        from myosem_core.adaptation import NewUserAdaptation

        out["adaptation"] = asdict(NewUserAdaptation(**spec.adaptation))
    if spec.calibrated_stacking and protocol == "class":
        from ..evaluation.calibrated_stacking import CHOICE_RULE

        out["calibrated_stacking"] = CHOICE_RULE
    if spec.is_myosem or spec.text != "stage1":
        s2, s3 = row_stage_configs(spec, cfg.preset, protocol)
        out.update(stage2=asdict(s2), stage3=asdict(s3))
    if spec.text in ("stage1", "frozen", "label", "tfidf"):
        s1 = preset_section(cfg.preset, "stage1")
        out["stage1"] = asdict(s1) if spec.text == "stage1" else {"process": asdict(s1.process)}
    if spec.text == "tfidf":
        out["tfidf_dim"] = TFIDF_DIM
    if not spec.is_myosem:
        from myosem_core.baselines.registry import preset_options

        out["emg"] = {k: asdict(v) if is_dataclass(v) else v
                      for k, v in {**preset_options(spec.emg, cfg.preset, protocol), **spec.options}.items()}
    if trained_on := ddp.run_key_extra():  # a GPU gives close, not identical numbers
        out["trained_on"] = trained_on
    code = row_code(spec, protocol)
    out["code"] = {"modules": list(code), "version": code_version(*code)}
    out = _drop_threads(out)
    out["hash"] = digest(out)
    return out


def _drop_threads(d):
    """Thread counts change speed, not results: keep them out of the recipe."""
    if isinstance(d, dict):
        return {k: _drop_threads(v) for k, v in d.items() if k != "threads"}
    return d
