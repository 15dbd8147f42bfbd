"""Registry entries of the EMG baselines (deep and classical); :mod:`myosem_core.retrievers` adds them.

A factory builds an unfitted retriever from ``seed``, ``preset`` and options;
imports happen when a factory is called, so listing the registry stays cheap.
"""

from __future__ import annotations

from typing import Callable

#: the deep baselines, in the order the tables list them
DEEP_BASELINES = ("tcn", "attn-cnn-rnn", "cnn-bilstm", "se-cnn", "atzori-cnn")
CLASSICAL_BASELINES = ("lda", "rf")


def _deep(arch: str) -> Callable:
    def factory(**kw):
        from .deep import DeepRetriever

        return DeepRetriever(arch, **kw)

    factory.__name__ = f"make_{arch.replace('-', '_')}"
    return factory


def _rf(**kw):
    from .forest import RandomForestRetriever

    return RandomForestRetriever(**kw)


BASELINE_FACTORIES: dict[str, Callable] = {**{a: _deep(a) for a in DEEP_BASELINES}, "rf": _rf}


def _pose_anchored(model: str) -> Callable:
    """CPEP / EMBridge EMG encoders (pose-anchored, :mod:`.embridge`) with a linear head into the text space."""
    def factory(**kw):
        from .embridge import PoseAnchoredRetriever

        return PoseAnchoredRetriever(model, **kw)

    factory.__name__ = f"make_{model.lower()}"
    return factory


BASELINE_FACTORIES.update(cpep=_pose_anchored("CPEP"), embridge=_pose_anchored("EMBridge"))
