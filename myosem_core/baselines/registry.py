"""The retriever registry, declared in one place: registry name -> factory of an unfitted retriever.

A factory builds a retriever from ``seed``, ``preset`` and options; it imports the retriever's module when
called, so listing the registry stays cheap. :mod:`myosem_core.retrievers` reads it (``make_retriever``).
"""

from __future__ import annotations

import importlib
from typing import Callable

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
