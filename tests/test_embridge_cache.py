"""One EMBridge run cache (issue 14: no model is trained twice).

Notebook 07 asks for models with a config and a split (``load_or_train_aligner``, ``run_embridge_experiments``);
the comparison grid's CPEP / EMBridge rows hand over the split's training windows alone
(``PoseAnchoredRetriever.fit`` -> ``load_or_train_on_windows``). Whichever comes first trains the MAEs and
the aligner; the other must find them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from test_embridge_training import TINY_ALIGN, TINY_MAE, grid_windows, tiny_windows

from myosem_core.baselines.embridge import PoseAnchoredRetriever
from myosem_core.data.protocols import make_split
from myosem_core.presets import make_config
from myosem_core.training.embridge import (
    load_or_train_aligner,
    load_or_train_mae,
    store,
)
from myosem_experiments.evaluation.embridge import run_embridge_experiments
from myosem_core.presets import preset_section

TINY = replace(preset_section("quick", "embridge"), emg=TINY_MAE, pose=TINY_MAE, align=TINY_ALIGN)


@pytest.fixture
def trained(monkeypatch) -> dict[str, list]:
    """Every MAE (by stream) and aligner (by name) the run cache trains, in order."""
    calls: dict[str, list] = {"mae": [], "aligner": []}
    train_mae, train_aligner = store.train_mae, store.train_aligner

    def counting_mae(train, stream, *args, **kwargs):
        calls["mae"].append(stream)
        return train_mae(train, stream, *args, **kwargs)

    def counting_aligner(train, emg, pose, cfg, seed=0, threads=1, name="", *args, **kwargs):
        calls["aligner"].append(name)
        return train_aligner(train, emg, pose, cfg, seed, threads, name, *args, **kwargs)

    monkeypatch.setattr(store, "train_mae", counting_mae)
    monkeypatch.setattr(store, "train_aligner", counting_aligner)
    return calls


def _prototypes(ws, D=6):
    P = np.random.default_rng(0).normal(size=(len(ws.class_keys), D))
    return P / np.linalg.norm(P, axis=1, keepdims=True)


@pytest.mark.parametrize("model,grid_row_first", [("EMBridge", True), ("CPEP", False)])
def test_the_grid_row_and_notebook_07_train_each_model_once(tmp_path, trained, model, grid_row_first):
    ws = tiny_windows(n=200)
    cfg = make_config("quick", "synthetic", seed=0)
    split = make_split(ws, "rand")

    def grid_row():
        r = PoseAnchoredRetriever(model, config=TINY, seed=cfg.seed, runs=tmp_path)
        return r.fit(ws.subset(split.train), ws.subset(split.val), _prototypes(ws)).run

    def notebook_07():
        return load_or_train_aligner(ws.subset(split.train), TINY, model, seed=cfg.seed, runs=tmp_path, progress=False)

    first, second = (grid_row(), notebook_07()) if grid_row_first else (notebook_07(), grid_row())
    assert sorted(trained["mae"]) == ["emg", "pose"] and trained["aligner"] == [model]
    assert second.folder == first.folder
    assert (second.emg.folder, second.pose.folder) == (first.emg.folder, first.pose.folder)
    assert np.array_equal(second.queries(ws), first.queries(ws))
    for stream in ("emg", "pose"):
        mae = load_or_train_mae(ws.subset(split.train), stream, TINY, cfg.seed, runs=tmp_path, progress=False)
        assert mae.folder == getattr(first, stream).folder
    assert len(trained["mae"]) == 2
    assert len(list(tmp_path.glob("*/mae-emg-*"))) == 1 and len(list(tmp_path.glob("*/align-*"))) == 1


def test_the_grid_rows_reuse_what_the_notebook_07_grid_trained(tmp_path, trained):
    ws = grid_windows()
    cfg = make_config("quick", "synthetic", seed=0)
    ecfg = replace(TINY, protocols=("class",), main_models=("CPEP",), ablations=(), batch_sizes=(), fractions=(),
                   tau_s_grid=(), k_c_grid=())
    run_embridge_experiments(cfg, ws, ecfg, runs=tmp_path, progress=False)
    assert sorted(trained["mae"]) == ["emg", "pose"] and trained["aligner"] == ["CPEP"]
    split = make_split(ws, "class")
    PoseAnchoredRetriever("CPEP", config=ecfg, seed=cfg.seed, runs=tmp_path).fit(ws.subset(split.train), None,
                                                                                 _prototypes(ws))
    assert len(trained["mae"]) == 2 and trained["aligner"] == ["CPEP"]
