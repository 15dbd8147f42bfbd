"""The retriever registry, declared in one place: registry name -> factory of an unfitted retriever.

A retriever is any object with

- ``fit(train_ws, val_ws, prototypes)`` (prototypes: (K, D) unit rows in class-key order), and
- either ``scores(ws) -> (N, K)`` (higher = more similar) or ``embed(ws) -> (N, D)``
  (then scores are cosines with the prototypes, :func:`myosem_core.scoring.retriever_scores`).

A factory builds a retriever from ``seed``, its configs and options; it imports the retriever's module when
called, so listing the registry stays cheap. A new model is one entry::

    register_retriever("tcn", lambda **kw: TCNRetriever(**kw))
    r = make_retriever("lda", seed=0).fit(train_ws, val_ws, P)
"""

from __future__ import annotations

import importlib
from typing import Callable, Protocol

from ..errors import ConfigError

#: the deep baselines, in the order the tables list them
DEEP_BASELINES = ("tcn", "attn-cnn-rnn", "cnn-bilstm", "se-cnn", "atzori-cnn", "plain-cnn")
CLASSICAL_BASELINES = ("lda", "rf")


def _lazy(name: str, module: str, cls: str, **fixed) -> Callable:
    """A factory of ``<this package>.<module>.<cls>(**fixed, **options)`` that imports the module when called."""
    def factory(**kw):
        return getattr(importlib.import_module(f"{__package__}.{module}"), cls)(**fixed, **kw)

    factory.__name__ = f"make_{name.replace('-', '_')}"
    factory.module = f"{__package__}.{module}"  # the code that trains it: part of a result's recipe
    return factory


#: name -> factory(**options) -> unfitted retriever
RETRIEVERS: dict[str, Callable] = {
    "myosem": _lazy("myosem", "myosem", "MyoSemRetriever"),  # Stages 2-3
    **{a: _lazy(a, "deep", "DeepRetriever", arch=a) for a in DEEP_BASELINES},
    "lda": _lazy("lda", "classical", "LDARetriever"),
    "rf": _lazy("rf", "forest", "RandomForestRetriever"),
    # pose-anchored EMG encoders and AEMG's contraction tokens, each with a linear head into the text space
    "cpep": _lazy("cpep", "embridge", "PoseAnchoredRetriever", model="CPEP"),
    "embridge": _lazy("embridge", "embridge", "PoseAnchoredRetriever", model="EMBridge"),
    "aemg": _lazy("aemg", "aemg", "AEMGRetriever"),
}


class Retriever(Protocol):
    def fit(self, train_ws, val_ws, prototypes) -> "Retriever": ...


def register_retriever(name: str, factory: Callable[..., Retriever]) -> None:
    """Add (or replace) a registry entry at run time."""
    RETRIEVERS[name] = factory


def preset_options(name: str, preset: str, protocol: str | None = None) -> dict:
    """The configs registry entry ``name`` takes from preset ``preset`` under ``protocol``."""
    from ..presets import deep_config, preset_section

    if name == "myosem":
        return {"stage2": preset_section(preset, "stage2").for_protocol(protocol),
                "stage3": preset_section(preset, "stage3").for_protocol(protocol)}
    if name in DEEP_BASELINES:
        return {"config": deep_config(preset, protocol)}
    section = {"rf": "forest", "cpep": "embridge", "embridge": "embridge", "aemg": "aemg"}.get(name)
    return {"config": preset_section(preset, section)} if section else {}


def make_retriever(name: str, preset: str | None = None, protocol: str | None = None, **options) -> Retriever:
    """An unfitted retriever of registry entry ``name``, configured from ``preset`` (for ``protocol``) where
    ``options`` do not say otherwise; an unknown name is a :class:`ConfigError`."""
    if name not in RETRIEVERS:
        raise ConfigError(f"unknown retriever {name!r}; expected one of {sorted(RETRIEVERS)}")
    if preset is not None:
        options = {**preset_options(name, preset, protocol), **options}
    return RETRIEVERS[name](**options)
