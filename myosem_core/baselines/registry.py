"""The retriever registry, declared in one place: registry name -> factory of an unfitted retriever.

A factory builds a retriever from ``seed``, ``preset`` and options; imports happen when a factory is
called, so listing the registry stays cheap. :mod:`myosem_core.retrievers` reads it
(``make_retriever``, ``register_retriever``).
"""

from __future__ import annotations

from typing import Callable

#: the deep baselines, in the order the tables list them
DEEP_BASELINES = ("tcn", "attn-cnn-rnn", "cnn-bilstm", "se-cnn", "atzori-cnn")
CLASSICAL_BASELINES = ("lda", "rf")


def _myosem(**kw):
    """MyoSem Stages 2-3 (:mod:`.myosem`)."""
    from .myosem import MyoSemRetriever

    return MyoSemRetriever(**kw)


def _deep(arch: str) -> Callable:
    def factory(**kw):
        from .deep import DeepRetriever

        return DeepRetriever(arch, **kw)

    factory.__name__ = f"make_{arch.replace('-', '_')}"
    return factory


def _lda(**kw):
    from .classical import LDARetriever

    return LDARetriever(**kw)


def _rf(**kw):
    from .forest import RandomForestRetriever

    return RandomForestRetriever(**kw)


def _pose_anchored(model: str) -> Callable:
    """CPEP / EMBridge EMG encoders (pose-anchored, :mod:`.embridge`) with a linear head into the text space."""
    def factory(**kw):
        from .embridge import PoseAnchoredRetriever

        return PoseAnchoredRetriever(model, **kw)

    factory.__name__ = f"make_{model.lower()}"
    return factory


def _aemg(**kw):
    """AEMG: frozen contraction-token encoder + a linear head into the text space (:mod:`.aemg`)."""
    from .aemg import AEMGRetriever

    return AEMGRetriever(**kw)


#: name -> factory(**options) -> unfitted retriever
RETRIEVERS: dict[str, Callable] = {
    "myosem": _myosem,
    **{a: _deep(a) for a in DEEP_BASELINES},
    "lda": _lda,
    "rf": _rf,
    "cpep": _pose_anchored("CPEP"),
    "embridge": _pose_anchored("EMBridge"),
    "aemg": _aemg,
}
