"""A new user's adaptation windows, as a new-user setting of the ``user`` protocol hands them to a model.

    adapt = adaptation_windows(ws, split)       # split: make_split(ws, "user", new_user="unlabeled")
    adapt.windows.X, adapt.subject, adapt.segment, adapt.labelled

Under ``unlabeled`` the labels are withheld: ``windows.y`` is -1 everywhere (so nothing can read or
train on them), and the repetition numbers, start times and pose are withheld too, because DB1 records
each movement's repetitions one after the other and the order of the windows would give the movement
away. The windows come in a shuffled order; what stays is the signal, the user, and ``segment``: which
windows lie in one contiguous stretch of movement (:func:`~myosem_core.data.windows.contiguous_segments`,
read from the timing alone, as an onset detector would give it). Under ``one-repetition`` the labelled
windows keep their labels. Under ``nothing`` there is no adaptation window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import ConfigError
from .protocols import Split
from .windows import WindowSet, contiguous_segments

#: ``y`` of a window whose label is withheld
NO_LABEL = -1


@dataclass
class AdaptationWindows:
    """What a new-user setting lets a model read of the test users before their windows are scored."""

    windows: WindowSet  # the windows; under ``unlabeled`` y = NO_LABEL, repetition = 0, start = 0, no pose
    segment: np.ndarray  # (N,) contiguous-movement id (ids are unique across users and carry no order)
    labelled: bool
    setting: str

    def __len__(self) -> int:
        return len(self.windows)

    @property
    def subject(self) -> np.ndarray:
        return self.windows.subject

    @property
    def y(self) -> np.ndarray:
        """The labels (``one-repetition`` only)."""
        if not self.labelled:
            raise ConfigError(f"new-user setting {self.setting!r}: the adaptation windows carry no labels")
        return self.windows.y

    def of_subject(self, subject: str) -> "AdaptationWindows":
        rows = self.windows.subject == subject
        return AdaptationWindows(self.windows.subset(rows), self.segment[rows], self.labelled, self.setting)


def adaptation_windows(ws: WindowSet, split: Split, seed: int = 0) -> AdaptationWindows:
    """The ``adapt`` windows of ``split`` as the setting allows them to be read (empty under ``nothing``).

    ``seed`` draws the shuffled order of unlabeled windows and their segment ids.
    """
    if split.new_user is None:
        raise ConfigError(f"protocol {split.config.label!r} has no new-user setting; adaptation windows exist only "
                          "under user with new_user set")
    idx = split.adapt
    segment = contiguous_segments(ws)[idx]
    adapt = ws.subset(idx)
    if split.adapt_labelled:
        return AdaptationWindows(adapt, segment, True, split.new_user)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(adapt))
    relabel = rng.permutation(len(np.unique(segment))) if len(segment) else np.zeros(0, np.int64)
    _, inverse = np.unique(segment, return_inverse=True)
    hidden = replace(adapt.subset(order), y=np.full(len(adapt), NO_LABEL, dtype=np.int64),
                     repetition=np.zeros(len(adapt), np.int64), start=np.zeros(len(adapt), np.int64),
                     pose=None, pose_kind="none")
    return AdaptationWindows(hidden, relabel[inverse][order].astype(np.int64), False, split.new_user)
