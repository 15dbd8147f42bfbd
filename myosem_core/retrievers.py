"""Registry of EMG encoders evaluated for retrieval: a new model is one entry.

A retriever is any object with

- ``fit(train_ws, val_ws, prototypes)`` (prototypes: (K, D) unit rows in class-key order), and
- either ``scores(ws) -> (N, K)`` (higher = more similar) or ``embed(ws) -> (N, D)``
  (then scores are cosines with the prototypes).

    register_retriever("tcn", lambda **kw: TCNRetriever(**kw))
    r = make_retriever("lda", seed=0).fit(train_ws, val_ws, P)
    S = retriever_scores(r, test_ws, P)
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from .data.windows import WindowSet
from .errors import ConfigError


class Retriever(Protocol):
    def fit(self, train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray) -> "Retriever": ...


def _lda(**kw):
    from .baselines.classical import LDARetriever

    return LDARetriever(**kw)


def _myosem(**kw):
    return MyoSemRetriever(**kw)


#: name -> factory(**options) -> unfitted retriever
RETRIEVERS: dict[str, Callable[..., Retriever]] = {"lda": _lda, "myosem": _myosem}


def _add_baselines() -> None:
    """Deep and classical EMG baselines (``myosem_core.baselines.registry``), one entry each."""
    from .baselines.registry import BASELINE_FACTORIES

    RETRIEVERS.update(BASELINE_FACTORIES)


_add_baselines()


def _aemg(**kw):
    """AEMG: frozen contraction-token encoder + a linear head into the text space (:mod:`.baselines.aemg`)."""
    from .baselines.aemg import AEMGRetriever

    return AEMGRetriever(**kw)


RETRIEVERS["aemg"] = _aemg


def register_retriever(name: str, factory: Callable[..., Retriever]) -> None:
    RETRIEVERS[name] = factory


def make_retriever(name: str, **options) -> Retriever:
    if name not in RETRIEVERS:
        raise ConfigError(f"unknown retriever {name!r}; expected one of {sorted(RETRIEVERS)}")
    return RETRIEVERS[name](**options)


#: temperature of the per-window softmax over the candidates (Stage 3's training temperature)
SCORE_TEMPERATURE = 0.07


def window_posteriors(cosines: np.ndarray, temperature: float = SCORE_TEMPERATURE) -> np.ndarray:
    """Each window's softmax over the candidate texts: scores comparable across windows.

    A cosine ranks texts for one window well, but across windows it is not comparable:
    some windows (hubs) are close to every prototype, and text->EMG, which ranks windows
    for one text, favours them. The softmax turns a window's row into its posterior over
    the candidates, as a classifier's probabilities are. It reads that window's own scores
    only (no training or test statistics), and leaves each window's ranking of the texts
    (EMG->text) unchanged.
    """
    z = np.asarray(cosines, np.float64) / temperature
    z -= z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def retriever_scores(retriever, ws: WindowSet, prototypes: np.ndarray | None = None) -> np.ndarray:
    """(N, K) scores of a fitted retriever: its own ``scores``, or the per-window posteriors
    (:func:`window_posteriors`) of the cosines of ``embed`` with the prototypes."""
    if hasattr(retriever, "scores"):
        return np.asarray(retriever.scores(ws))
    if prototypes is None:
        raise ConfigError(f"{type(retriever).__name__} embeds windows; scoring it needs the prototypes")
    Z = np.asarray(retriever.embed(ws), dtype=np.float64)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True) + 1e-12
    return window_posteriors(Z @ np.asarray(prototypes, np.float64).T)


class MyoSemRetriever:
    """MyoSem Stages 2 + 3 behind the registry interface (or wrapping an already trained Stage-3 run)."""

    name = "myosem"

    def __init__(self, preset: str = "quick", seed: int = 0, stage2=None, stage3=None, folder=None,
                 run=None, progress: bool = True, protocol: str | None = None, **_):
        from .training import Stage2Config, Stage3Config

        self.stage2 = (stage2 or Stage2Config.preset_named(preset)).for_protocol(protocol)
        self.stage3 = (stage3 or Stage3Config.preset_named(preset)).for_protocol(protocol)
        self.seed, self.folder, self.run, self.progress = seed, folder, run, progress

    @classmethod
    def from_run(cls, run) -> "MyoSemRetriever":
        return cls(run=run)

    def fit(self, train_ws: WindowSet, val_ws: WindowSet, prototypes: np.ndarray) -> "MyoSemRetriever":
        from pathlib import Path

        from .training import train_stage2, train_stage3

        f2 = f3 = None
        if self.folder is not None:
            f2, f3 = Path(self.folder) / "stage2", Path(self.folder) / "stage3"
            f2.mkdir(parents=True, exist_ok=True)
            f3.mkdir(parents=True, exist_ok=True)
        s2 = train_stage2(train_ws, val_ws, self.stage2, self.seed, f2, self.progress)
        self.run = train_stage3(train_ws, val_ws, s2, prototypes, self.stage3, self.seed, f3, self.progress)
        return self

    def embed(self, ws: WindowSet) -> np.ndarray:
        if self.run is None:
            raise ConfigError("MyoSemRetriever.embed called before fit")
        return self.run.embed(ws.X)
