"""Any fitted retriever, adapted to each new user as the ``user`` protocol's new-user setting allows, then scored.

    S = new_user_scores(retriever, ws, split, prototypes, NewUserAdaptation(), seed=0)  # (test windows, K)

One test user at a time: the setting's adaptation windows of that user
(:func:`~myosem_core.data.new_user.adaptation_windows`) adapt the retriever, which then scores that
user's evaluated windows, one by one (no evaluated window is ever read to adapt).

- ``nothing``: the fitted retriever as it is.
- ``unlabeled``: the windows come without labels. A retriever that embeds windows gets the user's own
  prototypes by class-balanced k-means started at the text prototypes (``prototypes``,
  :func:`~.prototypes.refine_prototypes`), or is fine-tuned on the balanced assignment of the windows
  to those prototypes (``fine-tune``). A retriever that only scores (LDA, random forest) is refitted
  with the windows added under their balanced assignment's labels (``refit_copies`` copies each).
- ``one-repetition``: the same with the repetition's labels: the class centroids of the labelled
  windows join the text prototypes (``prototypes``, :func:`~.prototypes.few_shot_prototypes`), or the
  network is fine-tuned on them (``fine-tune``); a scoring retriever is refitted with them added.

With ``user_head`` > 0 a retriever that embeds also gets a head of the user's own
(:mod:`.user_head`): LDA on the user's windows, labelled by the repetition or by the adapted model,
whose log-probabilities are added to the adapted scores with that weight.

Fine-tuning needs an embedding network: retrievers that have one offer ``fine_tuned(X, targets,
prototypes, config, seed)`` (MyoSem, the deep baselines); the others fall back to ``prototypes``.
Per-subject input calibration (:mod:`myosem_core.data.calibration`) happens before, on the windows.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from ..data.new_user import AdaptationWindows, adaptation_windows
from ..data.protocols import Split
from ..data.windows import WindowSet, concat_windows
from ..errors import ConfigError
from ..scoring import retriever_scores, window_cosines, window_posteriors
from .balanced import balanced_assignment, user_labels
from .fine_tune import FineTuneConfig
from .prototypes import few_shot_prototypes, refine_prototypes
from .user_head import with_user_head

METHODS = ("none", "prototypes", "fine-tune")
#: what a scoring retriever is refitted on: the training windows plus the user's, or the user's alone
REFIT_ON = ("training and user", "user")


@dataclass(frozen=True)
class NewUserAdaptation:
    """How a fitted retriever adapts to a new user, per setting (chosen on development subjects)."""

    unlabeled: str = "prototypes"  # none | prototypes | fine-tune
    one_repetition: str = "prototypes"  # none | prototypes | fine-tune
    prior: float = 1.0  # weight of the text prototype beside the user's class centroid
    rounds: int = 5  # balanced k-means rounds on unlabeled windows
    temperature: float = 0.07  # of the cosines the balanced assignment reads
    refit_copies: int = 5  # a scoring retriever refits with this many copies of the user's windows
    refit_on: str = "training and user"  # or "user": a scoring retriever refits on the user's windows alone
    prototypes_after_fine_tune: bool = False  # fine-tune, then the user's prototypes in the tuned embedding
    user_head: float = 0.0  # weight of the user's own LDA head beside an embedding retriever's adapted scores
    fine_tune: FineTuneConfig = field(default_factory=FineTuneConfig)

    def __post_init__(self):
        for name in ("unlabeled", "one_repetition"):
            if getattr(self, name) not in METHODS:
                raise ConfigError(f"NewUserAdaptation.{name} must be one of {METHODS}, got {getattr(self, name)!r}")
        if self.refit_on not in REFIT_ON:
            raise ConfigError(f"NewUserAdaptation.refit_on must be one of {REFIT_ON}, got {self.refit_on!r}")
        if self.rounds < 1 or self.refit_copies < 1 or self.prior < 0 or self.user_head < 0:
            raise ConfigError(f"NewUserAdaptation needs rounds >= 1, refit_copies >= 1, prior >= 0 and user_head >= 0, "
                              f"got {self}")

    def method(self, setting: str) -> str:
        return {"nothing": "none", "unlabeled": self.unlabeled, "one-repetition": self.one_repetition}[setting]

    def describe(self, setting: str) -> dict:
        """The fields that shape a result under ``setting`` (what its result file records)."""
        method = self.method(setting)
        out = {"setting": setting, "method": method}
        if method != "none":
            out.update(prior=self.prior, refit_copies=self.refit_copies)
            if self.refit_on != REFIT_ON[0]:
                out.update(refit_on=self.refit_on)
            if setting == "unlabeled":
                out.update(rounds=self.rounds, temperature=self.temperature)
            if method == "fine-tune":
                out.update(fine_tune=asdict(self.fine_tune), prototypes_after_fine_tune=self.prototypes_after_fine_tune)
            if self.user_head > 0:
                out.update(user_head=self.user_head)
        return out


def embeds(retriever) -> bool:
    """Whether a retriever ranks by embeddings (it has ``embed``) rather than by its own ``scores``."""
    return not hasattr(retriever, "scores") and hasattr(retriever, "embed")


def _refit_scores(retriever, train_ws: WindowSet, val_ws: WindowSet, adapt: AdaptationWindows, labels: np.ndarray,
                  test: WindowSet, prototypes, copies: int, refit_on: str = REFIT_ON[0]) -> np.ndarray:
    """Scores of a copy of ``retriever`` refitted on the training windows plus ``copies`` x the user's windows, or
    (``refit_on="user"``) on the user's windows alone."""
    own = replace(adapt.windows, y=np.asarray(labels, np.int64))
    windows = own if refit_on == "user" else concat_windows([train_ws] + [own] * copies)
    refitted = copy.deepcopy(retriever).fit(windows, val_ws, prototypes)
    return retriever_scores(refitted, test, prototypes)


def _user_scores(retriever, adapt: AdaptationWindows, test: WindowSet, prototypes: np.ndarray,
                 cfg: NewUserAdaptation, train_ws: WindowSet, val_ws: WindowSet, seed: int) -> np.ndarray:
    method = cfg.method(adapt.setting)
    if method == "none" or len(adapt) == 0:
        return retriever_scores(retriever, test, prototypes)
    if not embeds(retriever):  # a scoring retriever: refit with the user's (pseudo-)labelled windows
        scores = None if adapt.labelled else retriever_scores(retriever, adapt.windows, prototypes)
        return _refit_scores(retriever, train_ws, val_ws, adapt, user_labels(adapt, scores), test, prototypes,
                             cfg.refit_copies, cfg.refit_on)
    Z = retriever.embed(adapt.windows)
    if adapt.labelled:
        targets = np.eye(len(prototypes))[adapt.y]
        user_prototypes = few_shot_prototypes(Z, adapt.y, prototypes, cfg.prior)
    else:
        user_prototypes = refine_prototypes(Z, prototypes, adapt.segment, cfg.rounds, cfg.temperature, cfg.prior)
        targets = balanced_assignment(window_cosines(Z, user_prototypes) / cfg.temperature, adapt.segment)
    if method == "fine-tune" and hasattr(retriever, "fine_tuned"):
        tuned = retriever.fine_tuned(adapt.windows.X, targets, prototypes, cfg.fine_tune, seed)
        if not cfg.prototypes_after_fine_tune:
            return _with_head(cfg, adapt, test, lambda ws: retriever_scores(tuned, ws, prototypes))
        retriever, Z = tuned, tuned.embed(adapt.windows)
        user_prototypes = (few_shot_prototypes(Z, adapt.y, prototypes, cfg.prior) if adapt.labelled else
                           refine_prototypes(Z, prototypes, adapt.segment, cfg.rounds, cfg.temperature, cfg.prior))
    return _with_head(cfg, adapt, test,
                      lambda ws: window_posteriors(window_cosines(retriever.embed(ws), user_prototypes)))


def _with_head(cfg: NewUserAdaptation, adapt: AdaptationWindows, test: WindowSet, scores) -> np.ndarray:
    """``scores(test)`` of the adapted model, with the user's own head where ``cfg.user_head`` asks for one."""
    if cfg.user_head <= 0:
        return scores(test)
    return with_user_head(scores(test), adapt, None if adapt.labelled else scores(adapt.windows), test,
                          cfg.user_head)


def new_user_scores(retriever, ws: WindowSet, split: Split, prototypes: np.ndarray | None,
                    cfg: NewUserAdaptation = NewUserAdaptation(), seed: int = 0) -> np.ndarray:
    """(N test windows, K) scores of ``split.test`` in its order, each test user's after adapting to that user."""
    if split.new_user is None:
        raise ConfigError(f"protocol {split.config.label!r} has no new-user setting")
    test_idx = split.test
    subjects = ws.subject[test_idx]
    adapt = adaptation_windows(ws, split, seed)
    train_ws, val_ws = ws.subset(split.train), ws.subset(split.val)
    out = None
    for subject in dict.fromkeys(subjects.tolist()):
        rows = subjects == subject
        S = _user_scores(retriever, adapt.of_subject(subject), ws.subset(test_idx[rows]), prototypes, cfg,
                         train_ws, val_ws, seed)
        if out is None:
            out = np.zeros((len(test_idx), S.shape[1]))
        out[rows] = S
    return out
