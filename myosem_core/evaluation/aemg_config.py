"""The config of AEMG's leave-one-subject-out evaluation: the ``aemg_eval`` section of a preset file.

It is part of the core's configuration tree with every other preset section (:mod:`myosem_core.presets`);
the study that reads it (pretraining groups, LOSO zero-/few-shot, transfer to an unseen device) is
:mod:`myosem_experiments.evaluation.aemg`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .loso import LOSOConfig


@dataclass(frozen=True)
class AEMGEvalConfig:
    preset: str = "quick"
    max_targets: int | None = 4  # LOSO targets: evenly spaced over the subjects; None = every subject
    n_groups: int = 1  # pretraining groups (one encoder each, pretrained without the group's subjects)
    loso: LOSOConfig = LOSOConfig()
    cross_device: str | None = "band16-1kHz"  # synthetic device held out of one pretraining; None = skip
    cross_subjects: int = 4  # fresh synthetic subjects of that device to evaluate on
    cross_repetitions: int = 4
