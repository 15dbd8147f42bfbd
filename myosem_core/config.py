"""What an experiment is run on: the preset's name, the seed, and the data (which dataset, windows, options).

:func:`myosem_core.presets.make_config` fills one in from a preset file, ``myosem_core/presets/<name>.yaml``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .data.synthetic import SyntheticConfig
from .data.windows import WindowConfig


@dataclass(frozen=True)
class DataConfig:
    """Which data, how it is windowed, and how the synthetic default is generated."""

    dataset: str = "synthetic"
    data_dir: str | None = None
    exercise: int = 1
    window: WindowConfig = WindowConfig()
    synthetic: SyntheticConfig = SyntheticConfig()
    #: per-subject channel-gain calibration (:mod:`myosem_core.data.calibration`): None (off), true (gains
    #: from all of a subject's windows) or {"repetitions": [1]} (from those repetitions' windows only)
    subject_calibration: bool | dict | None = None

    def load_options(self) -> dict:
        """Keyword options for :func:`myosem_core.data.load_windows`."""
        opts: dict = {"window": self.window}
        if self.dataset == "synthetic":
            opts["synthetic"] = self.synthetic
        else:
            opts["exercise"] = self.exercise
        return opts


@dataclass(frozen=True)
class ReportConfig:
    """What a preset's comparison tables report: the protocols (columns) and the seeds every result is averaged
    over (mean ± std)."""

    seeds: tuple[int, ...] = (0,)
    protocols: tuple[str, ...] = ("rand", "user", "class")


@dataclass(frozen=True)
class Config:
    preset: str = "quick"
    seed: int = 0
    data: DataConfig = DataConfig()

    def to_dict(self) -> dict:
        return asdict(self)
