"""The retriever registry, declared in one place: registry name -> factory of an unfitted retriever.

A retriever is any object with

- ``fit(train_ws, val_ws, prototypes)`` (prototypes: (K, D) unit rows in class-key order), and
- either ``scores(ws) -> (N, K)`` (higher = more similar) or ``embed(ws) -> (N, D)``
  (then scores are cosines with the prototypes, :func:`myosem_core.scoring.retriever_scores`).

A factory builds a retriever from ``seed``, ``preset`` and options; it imports the retriever's module when
called, so listing the registry stays cheap. A new model is one entry::

    register_retriever("tcn", lambda **kw: TCNRetriever(**kw))
    r = make_retriever("lda", seed=0).fit(train_ws, val_ws, P)
"""

from __future__ import annotations

import importlib
from typing import Callable, Protocol

from ..errors import ConfigError

#: the deep baselines, in the order the tables list them
DEEP_BASELINES = ("tcn", "attn-cnn-rnn", "cnn-bilstm", "se-cnn", "atzori-cnn")
CLASSICAL_BASELINES = ("lda", "rf")


def _lazy(name: str, module: str, cls: str, *args) -> Callable:
    """A factory of ``<this package>.<module>.<cls>(*args, **options)`` that imports the module when called."""
    def factory(**kw):
        return getattr(importlib.import_module(f"{__package__}.{module}"), cls)(*args, **kw)

    factory.__name__ = f"make_{name.replace('-', '_')}"
    return factory


#: name -> factory(**options) -> unfitted retriever
RETRIEVERS: dict[str, Callable] = {
    "myosem": _lazy("myosem", "myosem", "MyoSemRetriever"),  # Stages 2-3
    **{a: _lazy(a, "deep", "DeepRetriever", a) for a in DEEP_BASELINES},
    "lda": _lazy("lda", "classical", "LDARetriever"),
    "rf": _lazy("rf", "forest", "RandomForestRetriever"),
    # pose-anchored EMG encoders and AEMG's contraction tokens, each with a linear head into the text space
    "cpep": _lazy("cpep", "embridge", "PoseAnchoredRetriever", "CPEP"),
    "embridge": _lazy("embridge", "embridge", "PoseAnchoredRetriever", "EMBridge"),
    "aemg": _lazy("aemg", "aemg", "AEMGRetriever"),
}


class Retriever(Protocol):
    def fit(self, train_ws, val_ws, prototypes) -> "Retriever": ...


def register_retriever(name: str, factory: Callable[..., Retriever]) -> None:
    """Add (or replace) a registry entry at run time."""
    RETRIEVERS[name] = factory


def make_retriever(name: str, **options) -> Retriever:
    """An unfitted retriever of registry entry ``name``; an unknown name is a :class:`ConfigError`."""
    if name not in RETRIEVERS:
        raise ConfigError(f"unknown retriever {name!r}; expected one of {sorted(RETRIEVERS)}")
    return RETRIEVERS[name](**options)
