"""Adapting a fitted retriever to a new user: the ``user`` protocol's new-user settings.

One concept per module:

- :mod:`.balanced`: class-balanced assignment of unlabeled windows (Sinkhorn), one per contiguous movement;
- :mod:`.prototypes`: a user's own class prototypes from labelled windows or by balanced k-means;
- :mod:`.fine_tune`: fine-tuning an embedding network on a user's (pseudo-)labelled windows;
- :mod:`.user_head`: LDA of the user's own windows, combined with an adapted model's scores;
- :mod:`.new_user`: any retriever adapted per setting and scored (:func:`new_user_scores`).

The windows a setting may read come from :func:`myosem_core.data.new_user.adaptation_windows`;
per-subject input calibration is :mod:`myosem_core.data.calibration`.
"""

from .balanced import balanced_assignment
from .fine_tune import FineTuneConfig, fine_tune_network
from .new_user import NewUserAdaptation, new_user_scores
from .prototypes import few_shot_prototypes, refine_prototypes

__all__ = ["FineTuneConfig", "NewUserAdaptation", "balanced_assignment", "few_shot_prototypes", "fine_tune_network",
           "new_user_scores", "refine_prototypes"]
