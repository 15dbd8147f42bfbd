"""What the command line turns into: the experiment config and each stage's config, with ``--set`` overrides.

    --set stage2.max_epochs=3 --set stage2.encoder.d_model=32 --set data.synthetic.n_subjects=4

A key is ``<section>.<field>[.<field>...]`` with sections ``data``, ``stage1``,
``stage2``, ``stage3`` (the sections of a preset file, ``myosem_core/presets/<name>.yaml``);
the value is read and checked as in a preset file by :func:`myosem_core.presets.with_overrides`
(YAML scalars, ``none`` for None, lists also comma-separated). An unknown
section or field, or a value of the wrong type, is a :class:`~myosem_core.errors.ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from myosem_core.config import Config
from myosem_core.presets import make_config
from myosem_core.presets import split_assignment, with_overrides
from myosem_core.presets import preset_section

SECTIONS = ("data", "stage1", "stage2", "stage3")


@dataclass(frozen=True)
class StageConfigs:
    """The experiment config plus each stage's hyper-parameters, as the command line asked."""

    cfg: Config
    stage1: object
    stage2: object
    stage3: object


def stage_configs(preset: str, dataset: str, data_dir: str | None, seed: int, assignments: list[str] | None = None,
                  threads: int | None = None) -> StageConfigs:
    """The experiment config and the presets of Stages 1-3, with ``--set`` assignments and ``--threads`` applied."""

    if data_dir is not None:
        folder = Path(data_dir).expanduser()
        data_dir = str(folder.resolve()) if folder.exists() else str(folder)  # absolute, as the book passes it
    cfg = make_config(preset, dataset, data_dir, seed)
    parts = {"data": cfg.data, "stage1": replace(preset_section(preset, "stage1"), seed=seed),
             "stage2": preset_section(preset, "stage2"), "stage3": preset_section(preset, "stage3")}
    if threads:
        parts["stage2"] = replace(parts["stage2"], threads=threads)
        parts["stage3"] = replace(parts["stage3"], threads=threads)
    for item in assignments or []:
        section, rest = split_assignment(item, SECTIONS, "--set")
        parts[section] = with_overrides(parts[section], [rest], where=f"--set {section}:")
    return StageConfigs(replace(cfg, data=parts["data"]), parts["stage1"], parts["stage2"], parts["stage3"])
