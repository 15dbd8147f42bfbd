"""The rows of the comparison grid (:data:`MODELS`), the tables they form (:data:`TABLES`), and its protocols.

A row is a :class:`ModelSpec`: which EMG encoder, which text prototypes, which switches off.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# re-exported: the grid runs every protocol of one dataset, and the new-user settings when asked for
from myosem_core.data.protocols import NEW_USER_PROTOCOLS, PROTOCOLS  # noqa: F401
from myosem_core.errors import ConfigError

#: what one grid cell may run on one dataset: the protocols and the user protocol's new-user settings
GRID_PROTOCOLS = PROTOCOLS + NEW_USER_PROTOCOLS

@dataclass(frozen=True)
class ModelSpec:
    """One row of the comparison: which EMG encoder, which text prototypes, which switches."""

    name: str  # the "model" field of its result files
    label: str  # shown in tables
    group: str  # MyoSem | EMG-DL | classical | EMG-FM | text | ablation
    emg: str = "myosem"  # "myosem" (Stages 2-3) or a retriever registry name
    text: str = "stage1"  # prototypes: stage1 | frozen | label | tfidf | none (a classifier that ranks by probability)
    encoder: dict = field(default_factory=dict)  # Stage-2 EncoderConfig overrides
    head: dict = field(default_factory=dict)  # Stage-3 QueryHeadConfig overrides
    note: str = ""
    calibrated_stacking: bool = False  # on `class`, also score held-out classes under calibrated stacking
    cost: float = 100.0  # rough training seconds (quick, rand, 2 shared cores): orders the grid's work units
    options: dict = field(default_factory=dict)  # its EMG retriever's options beside the preset's
    adaptation: dict = field(default_factory=dict)  # NewUserAdaptation fields under the new-user settings
    protocols: tuple[str, ...] = ()  # the grid protocols it runs under; empty: every one

    def __post_init__(self):
        if self.calibrated_stacking and self.emg != "myosem":
            raise ConfigError(f"row {self.name!r}: calibrated stacking retrains MyoSem's stages; emg must be 'myosem'")
        unknown = [p for p in self.protocols if p not in GRID_PROTOCOLS]
        if unknown:
            raise ConfigError(f"row {self.name!r}: protocols {unknown} are not grid protocols {GRID_PROTOCOLS}")

    @property
    def is_myosem(self) -> bool:
        return self.emg == "myosem"

    def runs_on(self, protocol: str) -> bool:
        """Whether the row has a result under ``protocol``."""
        return not self.protocols or protocol in self.protocols


def rows_under(models, protocol: str) -> list[str]:
    """The rows of ``models`` that have a result under ``protocol`` (:meth:`ModelSpec.runs_on`), in order."""
    return [m for m in models if MODELS[m].runs_on(protocol)]


def _specs(*specs: ModelSpec) -> dict[str, ModelSpec]:
    return {s.name: s for s in specs}


MODELS: dict[str, ModelSpec] = _specs(
    ModelSpec("myosem", "MyoSem", "MyoSem", calibrated_stacking=True, cost=100),
    ModelSpec("tcn", "TCN", "EMG-DL", emg="tcn", cost=70),
    ModelSpec("attn-cnn-rnn", "Attn-CNN-RNN", "EMG-DL", emg="attn-cnn-rnn", cost=100),
    ModelSpec("cnn-bilstm", "CNN-BiLSTM", "EMG-DL", emg="cnn-bilstm", cost=80),
    ModelSpec("se-cnn", "SE-CNN", "EMG-DL", emg="se-cnn", cost=80),
    ModelSpec("atzori-cnn", "Atzori CNN", "EMG-DL", emg="atzori-cnn", cost=60),
    ModelSpec("plain-cnn", "Plain 1-D CNN", "EMG-DL", emg="plain-cnn", cost=50,
              note="three conv blocks and global pooling: the simple bar the specialised rows are read against"),
    ModelSpec("lda", "LDA (TD features)", "classical", emg="lda", text="none", cost=1,
              note="class probabilities; unseen classes score 0"),
    ModelSpec("rf", "Random forest (TD features)", "classical", emg="rf", text="none", cost=3,
              note="class probabilities; unseen classes score 0"),
    ModelSpec("lda-user", "LDA on the user's windows alone", "classical", emg="lda", text="none", cost=1,
              options={"shrinkage": "auto"}, adaptation={"refit_on": "user"},
              protocols=("user-unlabeled", "user-one-repetition"),
              note="fitted on a new user's adaptation windows only, with a shrunk (Ledoit-Wolf) covariance for their "
                   "few windows per movement"),
    ModelSpec("cpep", "CPEP", "EMG-FM", emg="cpep", cost=95, note="row of the EMBridge issue"),
    ModelSpec("embridge", "EMBridge", "EMG-FM", emg="embridge", cost=90, note="row of the EMBridge issue"),
    ModelSpec("aemg", "AEMG", "EMG-FM", emg="aemg", cost=70, note="row of the AEMG issue"),
    ModelSpec("text-frozen", "Frozen MiniLM, all views", "text", text="frozen", cost=45),
    ModelSpec("text-label", "Frozen MiniLM, label only", "text", text="label", cost=45),
    ModelSpec("text-tfidf", "TF-IDF + SVD, all views", "text", text="tfidf", cost=45),
    ModelSpec("myosem-no-activation", "w/o activation-aware descriptors", "ablation",
              encoder={"gates_fixed_zero": True}),
    ModelSpec("myosem-no-queries", "w/o semantic queries", "ablation", head={"use_queries": False}, cost=45),
    ModelSpec("myosem-no-pretrain", "w/o action-semantic pretraining", "ablation", text="label", cost=45,
              note="frozen encoder, label text only"),
    ModelSpec("myosem-no-vq", "w/o VQ", "ablation", encoder={"use_vq": False}),
)


@dataclass(frozen=True)
class TableSpec:
    title: str
    models: tuple[str, ...]


_EMG_ROWS = ("myosem", "tcn", "attn-cnn-rnn", "cnn-bilstm", "se-cnn", "atzori-cnn", "plain-cnn", "lda", "rf", "cpep",
             "embridge", "aemg")

TABLES: dict[str, TableSpec] = {
    "emg": TableSpec("EMG encoders (same Stage-1 prototypes)", _EMG_ROWS),
    # the same rows and LDA on the user's windows alone, which needs a new user's adaptation windows
    "new-user": TableSpec("EMG encoders for a new user (same Stage-1 prototypes)",
                          _EMG_ROWS[:_EMG_ROWS.index("lda") + 1] + ("lda-user",) + _EMG_ROWS[_EMG_ROWS.index("lda") + 1:]),
    "text": TableSpec("Text prototypes (same MyoSem Stage-2 encoder, Stage 3 retrained)",
                      ("myosem", "text-frozen", "text-label", "text-tfidf")),
    "ablation": TableSpec("Ablations of MyoSem",
                          ("myosem", "myosem-no-activation", "myosem-no-queries", "myosem-no-pretrain",
                           "myosem-no-vq")),
}


def model_spec(name: str) -> ModelSpec:
    """The registry entry ``name``. An unknown name, or a row whose EMG retriever nobody registered, is a
    :class:`ConfigError` listing the known ones."""
    from myosem_core.baselines.registry import RETRIEVERS

    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}; expected one of {list(MODELS)}")
    spec = MODELS[name]
    if not spec.is_myosem and spec.emg not in RETRIEVERS:
        raise ConfigError(f"model {name!r} needs the EMG retriever {spec.emg!r}, which is not registered; "
                          f"registered: {sorted(RETRIEVERS)}")
    return spec
