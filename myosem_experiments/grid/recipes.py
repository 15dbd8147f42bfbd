"""A row's recipe: everything its result depends on (data config, seed, protocol, model spec, training configs).

Its hash keys the cached result: a saved result is reused while the hash matches. Code is not in the hash:
after a change to a training loop, bump :data:`RECIPE_VERSION` (or run the grid with ``--force``). Nothing
here names a module, so moving this code never invalidates a result.
"""

from __future__ import annotations

from dataclasses import asdict, replace

from myosem_core.config import Config, key_fields

from .rows import NEW_USER_PROTOCOLS, ModelSpec

#: bump when a change to the training code should invalidate cached results
RECIPE_VERSION = 4
TFIDF_DIM = 64


def stage_presets(preset: str, protocol: str | None = None):
    """MyoSem's Stage-2 and Stage-3 configs of a preset and protocol (the deep baselines derive theirs from the same)."""
    from myosem_core.training import Stage2Config, Stage3Config

    return (Stage2Config.preset_named(preset).for_protocol(protocol),
            Stage3Config.preset_named(preset).for_protocol(protocol))


def row_stage_configs(spec: ModelSpec, preset: str, protocol: str | None = None):
    """The Stage-2 and Stage-3 configs of a MyoSem-family row: the presets with the row's switches applied."""
    s2, s3 = stage_presets(preset, protocol)
    if spec.encoder:
        s2 = replace(s2, encoder=replace(s2.encoder, **spec.encoder))
    if spec.head:
        s3 = replace(s3, head=replace(s3.head, **spec.head))
    return s2, s3


def recipe(spec: ModelSpec, cfg: Config, protocol: str) -> dict:
    """Everything a result depends on; its hash keys the cached result."""
    from myosem_core.training.common import config_hash

    # cost: a scheduling hint; calibrated_stacking: its own entry below, only where it changes the result
    row = {k: v for k, v in asdict(spec).items() if k not in ("cost", "calibrated_stacking")}
    out: dict = {"version": RECIPE_VERSION, "data": cfg.to_dict(), "protocol": protocol, "spec": row}
    if protocol in NEW_USER_PROTOCOLS:  # how every row adapts to each new user
        from myosem_core.adaptation import NewUserAdaptation

        out["adaptation"] = key_fields(NewUserAdaptation())
    if spec.calibrated_stacking and protocol == "class":
        from ..evaluation.calibrated_stacking import CHOICE_RULE

        out["calibrated_stacking"] = CHOICE_RULE
    if spec.is_myosem or spec.text != "stage1":
        s2, s3 = row_stage_configs(spec, cfg.preset, protocol)
        out.update(stage2=s2.key(), stage3=key_fields(s3))
    if spec.text in ("stage1", "frozen", "label", "tfidf"):
        from myosem_core.text.stage1 import Stage1Config

        s1 = Stage1Config.preset(cfg.preset, seed=cfg.seed)
        out["stage1"] = asdict(s1) if spec.text == "stage1" else {"process": asdict(s1.process)}
    if spec.text == "tfidf":
        out["tfidf_dim"] = TFIDF_DIM
    if not spec.is_myosem:
        from myosem_core.baselines.registry import DEEP_BASELINES

        if spec.emg in DEEP_BASELINES:
            from myosem_core.baselines.deep import DeepConfig

            out["deep"] = key_fields(DeepConfig.preset_named(cfg.preset, protocol))
    from myosem_core import distributed as ddp

    if trained_on := ddp.run_key_extra():  # a GPU gives close, not identical numbers; CPU hashes stay as they were
        out["trained_on"] = trained_on
    out = _drop_threads(out)
    out["hash"] = config_hash(out)
    return out


def _drop_threads(d):
    """Thread counts change speed, not results: keep them out of the recipe."""
    if isinstance(d, dict):
        return {k: _drop_threads(v) for k, v in d.items() if k != "threads"}
    return d
