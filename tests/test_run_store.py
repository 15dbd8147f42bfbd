"""The run store: a run's key covers its config sections, the runs it builds on, the data's content and the code
that trains it; a changed stage is retrained with what depends on it, and everything else is reused."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import replace

import numpy as np
import pytest
from code_edits import edit_module
from test_myosem_training import S2, tiny_windows
from tiny_myosem import STAGE2, STAGE3, tiny_prototypes
from tiny_myosem import tiny_windows as tiny_synthetic

from myosem_core import run_store
from myosem_core.data.protocols import make_split
from myosem_core.errors import DataError
from myosem_core.text import stage1 as s1
from myosem_core.training import stage2 as st2
from myosem_core.training import stage3 as st3
from myosem_core.training import train_myosem_stages
from myosem_core.training.augment import AugmentConfig


def test_data_identity_is_the_files_content_not_the_path(tmp_path, monkeypatch):
    data = tmp_path / "db"
    data.mkdir()
    (data / "S1_A1_E1.mat").write_bytes(b"\x00\x01recording one")
    (data / "README.md").write_text("about the data")
    copy = tmp_path / "elsewhere" / "db"
    shutil.copytree(data, copy)
    monkeypatch.chdir(tmp_path)
    ident = run_store.folder_content("db")
    assert ident == run_store.folder_content(data) == run_store.folder_content(copy)
    (copy / "S1_A1_E1.mat").write_bytes(b"\x00\x01recording 0ne")  # one byte differs
    assert run_store.folder_content(copy) != ident
    with pytest.raises(DataError, match="data folder not found"):
        run_store.folder_content(tmp_path / "absent")


def test_windows_identity_follows_every_array_a_run_reads():
    ws = tiny_windows()
    same = ws.subset(np.arange(len(ws)))
    assert run_store.windows_content(same) == run_store.windows_content(ws)
    for field in ("X", "y", "repetition"):
        changed = ws.subset(np.arange(len(ws)))
        getattr(changed, field)[0] += 1
        assert run_store.windows_content(changed) != run_store.windows_content(ws), field
    other_subject = ws.subset(np.arange(len(ws)))
    other_subject.subject = other_subject.subject.copy()
    other_subject.subject[0] = "S9"
    assert run_store.windows_content(other_subject) != run_store.windows_content(ws)


def test_a_code_version_covers_the_modules_a_stage_imports_and_ignores_docstrings(tmp_path, monkeypatch):
    modules = run_store.code_modules("myosem_core.training.stage2")
    assert {"myosem_core.training.fit", "myosem_core.models.activation_encoder", "myosem_core.losses"} <= set(modules)
    assert "myosem_core.training.stage3" not in modules and "myosem_core.text.stage1" not in modules
    assert not any(m.startswith(("myosem_core.viz", "myosem_core.io")) for m in modules)  # move no number
    v2, v3, v1 = (run_store.code_version(m) for m in ("myosem_core.training.stage2", "myosem_core.training.stage3",
                                                      "myosem_core.text.stage1"))
    edit_module(monkeypatch, tmp_path, "myosem_core.training.fit", '"""', '"""A reworded docstring. ')
    assert run_store.code_version("myosem_core.training.stage2") == v2  # comments and docstrings do not count
    edit_module(monkeypatch, tmp_path, "myosem_core.training.fit", "def fit(", "def fit_renamed_helper(): pass\n\n\ndef fit(")
    assert run_store.code_version("myosem_core.training.stage2") != v2  # the loop Stage 2 trains with changed
    assert run_store.code_version("myosem_core.training.stage3") != v3
    assert run_store.code_version("myosem_core.text.stage1") == v1  # Stage 1 has its own loop


def test_saved_configs_read_back_as_the_dataclasses_they_were(tmp_path):
    s2 = replace(S2, augment=AugmentConfig(channel_offset=0.3), cross_user_augment=AugmentConfig(noise=0.2),
                 grad_clip=None)
    folder = run_store.run_folder(tmp_path, "myosem-stage2", sections={"stage2": s2}, seed=0)
    assert run_store.read_section(folder, "stage2", st2.Stage2Config) == s2
    with pytest.raises(DataError, match=r"sections.stage3"):
        run_store.read_section(folder, "stage3", st3.Stage3Config)


class Trainings:
    """Counts the trainings of each stage while the real ones run."""

    def __init__(self, monkeypatch):
        self.calls: list[str] = []
        for module, name in ((st2, "train_stage2"), (st3, "train_stage3"), (s1, "train_stage1")):
            real = getattr(module, name)
            monkeypatch.setattr(module, name, self._spy(name, real))

    def _spy(self, name, real):
        def spy(*a, **k):
            self.calls.append(name)
            return real(*a, **k)
        return spy

    def take(self) -> list[str]:
        out, self.calls = self.calls, []
        return out


def _folders(root) -> set[str]:
    return {p.name for p in root.iterdir() if p.is_dir()}


def test_a_changed_stage_retrains_it_and_what_builds_on_it_and_reuses_the_rest(tmp_path, monkeypatch):
    ws, split = tiny_synthetic()
    train, val, P = ws.subset(split.train), ws.subset(split.val), tiny_prototypes(ws.n_classes)
    small = s1.Stage1Config(train_layers=1, epochs=1)
    runs = tmp_path / "runs"
    counted = Trainings(monkeypatch)

    def build():
        s1.load_or_train_stage1(ws, split, small, runs, progress=False)
        return train_myosem_stages(train, val, P, STAGE2, STAGE3, 0, runs, progress=False)

    build()
    assert counted.take() == ["train_stage1", "train_stage2", "train_stage3"]
    before = _folders(runs)
    build()
    assert counted.take() == [] and _folders(runs) == before  # nothing changed: everything reused

    edit_module(monkeypatch, tmp_path, "myosem_core.training.stage3", "def phase_fit_config(",
                "def an_added_helper(): pass\n\n\ndef phase_fit_config(")
    _, s3 = build()
    assert counted.take() == ["train_stage3"]  # Stage 3's code changed: Stage 1 and Stage 2 are reused
    assert _folders(runs) - before == {s3.folder.name}

    edit_module(monkeypatch, tmp_path, "myosem_core.training.stage2", "def fit_normalizer(",
                "def an_added_helper(): pass\n\n\ndef fit_normalizer(")
    after_s3 = _folders(runs)
    s2, s3 = build()
    assert counted.take() == ["train_stage2", "train_stage3"]  # Stage 3 builds on Stage 2: both retrained
    assert _folders(runs) - after_s3 == {s2.folder.name, s3.folder.name}


def test_force_retrains_each_run_once_whichever_process_asks_first(tmp_path, monkeypatch):
    ws = tiny_windows()
    split = make_split(ws, "rand")
    train, val = ws.subset(split.train), ws.subset(split.val)
    runs = tmp_path / "runs"
    counted = Trainings(monkeypatch)
    first = st2.load_or_train_stage2(train, val, S2, 0, runs, progress=False)
    time.sleep(0.05)
    monkeypatch.setenv(run_store.RETRAIN_ENV, str(time.time()))  # what the grid's --force sets
    again = st2.load_or_train_stage2(train, val, S2, 0, runs, progress=False)
    assert counted.take() == ["train_stage2", "train_stage2"] and again.folder == first.folder
    st2.load_or_train_stage2(train, val, S2, 0, runs, progress=False)
    assert counted.take() == []  # trained after the mark: reused
    assert float(os.environ[run_store.RETRAIN_ENV]) <= (first.folder / "results.json").stat().st_mtime


def _train_stage2_at_once(runs, log, barrier, lock: bool):
    """A second process's view of the run store: count this process's Stage-2 trainings in ``log``."""
    import contextlib

    ws = tiny_windows()
    split = make_split(ws, "rand")
    real = st2.train_stage2

    def counted(*a, **k):
        with open(log, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(0.5)  # a training long enough for the other process to ask meanwhile
        return real(*a, **k)

    st2.train_stage2 = counted
    if not lock:
        st2.claimed = lambda folder: contextlib.nullcontext()
    barrier.wait()
    run = st2.load_or_train_stage2(ws.subset(split.train), ws.subset(split.val), S2, 0, runs, progress=False)
    return run.folder.name


@pytest.mark.parametrize("lock", [True, False])
def test_two_processes_asking_for_one_run_at_once_train_it_once(tmp_path, lock):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("fork")
    barrier, log = ctx.Manager().Barrier(2), tmp_path / "trainings.log"
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        names = [f.result() for f in [pool.submit(_train_stage2_at_once, tmp_path / "runs", log, barrier, lock)
                                      for _ in range(2)]]
    assert names[0] == names[1]
    trainings = log.read_text().split()
    if lock:  # the second process waited for the first's run and read it back
        assert len(trainings) == 1
    else:  # the reference: without the lock both processes train the same run
        assert len(trainings) == 2 and len(set(trainings)) == 2
