"""The experiment runner: recipe-hash caching, unregistered rows, budgets shared by every model, text prototypes."""

from __future__ import annotations

import contextlib
import time

import numpy as np
import pytest
from code_edits import edit_module
from test_baselines import tiny_windows

from myosem_core.baselines.text import tfidf_prototypes
from myosem_core.data.protocols import make_split
from myosem_core.errors import ConfigError
from myosem_core.evaluation.retrieval_results import result_path
from myosem_core.presets import make_config
from myosem_core.text.views import ClassViews
from myosem_experiments import grid as ex
from myosem_experiments.grid import cli as grid_cli
from myosem_experiments.grid import experiment as grid_experiment
from myosem_experiments.grid import pool as grid_pool
from myosem_core.presets import deep_config


class TinyContext(ex.Context):
    """Serves a tiny toy WindowSet instead of loading a dataset."""

    def data(self, cfg, protocol):
        ws = tiny_windows(n_per_class=12)
        return ws, make_split(ws, protocol)


def test_result_is_cached_by_recipe_and_recomputed_when_forced(tmp_path, monkeypatch):
    ctx = TinyContext(tmp_path, progress=False)
    r1 = ex.run_experiment("lda", "rand", 0, "quick", "synthetic", None, tmp_path, ctx, progress=False)
    path = result_path(ex.experiment_folder("quick", "synthetic", None, tmp_path), "synthetic", "rand", "lda", 0)
    assert path.is_file() and r1["path"] == path.name
    assert r1["model"] == "lda" and r1["group"] == "classical" and r1["synthetic"]
    assert 0 <= r1["emg_to_text"]["R@1"] <= 1 and "MRR" in r1["text_to_emg"]

    calls = []
    real = grid_experiment.evaluate_retriever
    monkeypatch.setattr(grid_experiment, "evaluate_retriever", lambda *a, **k: calls.append(1) or real(*a, **k))
    r2 = ex.run_experiment("lda", "rand", 0, "quick", "synthetic", None, tmp_path, ctx, progress=False)
    assert calls == [] and r2["recipe_hash"] == r1["recipe_hash"]  # read from the file, not refitted
    ex.run_experiment("lda", "rand", 0, "quick", "synthetic", None, tmp_path, ctx, progress=False, force=True)
    assert calls == [1]


def test_a_change_to_a_rows_code_recomputes_its_result_and_no_other(tmp_path, monkeypatch):
    ctx = TinyContext(tmp_path, progress=False)
    rf1 = ex.run_experiment("rf", "rand", 0, "quick", "synthetic", None, tmp_path, ctx, progress=False)
    lda1 = ex.run_experiment("lda", "rand", 0, "quick", "synthetic", None, tmp_path, ctx, progress=False)
    # a reworded docstring or comment is not a code change: the same recipe
    edit_module(monkeypatch, tmp_path, "myosem_core.baselines.forest", '"""', '"""Reworded. ')
    assert ex.recipe(ex.MODELS["rf"], make_config("quick", "synthetic", None, 0), "rand")["hash"] == rf1["recipe_hash"]
    edit_module(monkeypatch, tmp_path, "myosem_core.baselines.forest", "n_jobs: int = 1", "n_jobs: int = 2")
    calls = []
    real = grid_experiment.evaluate_retriever
    monkeypatch.setattr(grid_experiment, "evaluate_retriever", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    rf2 = ex.run_experiment("rf", "rand", 0, "quick", "synthetic", None, tmp_path, ctx, progress=False)
    lda2 = ex.run_experiment("lda", "rand", 0, "quick", "synthetic", None, tmp_path, ctx, progress=False)
    assert rf2["recipe_hash"] != rf1["recipe_hash"] and lda2["recipe_hash"] == lda1["recipe_hash"]
    assert calls == ["rf"]  # the forest was refitted, LDA read from its file


def test_every_table_row_is_a_registered_model():
    for table in ex.TABLES.values():
        for name in table.models:
            assert ex.model_spec(name).name == name  # raises for a row whose retriever is not registered


def test_a_row_whose_retriever_is_not_registered_fails_clearly_and_writes_nothing(tmp_path, monkeypatch):
    from myosem_core.baselines.registry import RETRIEVERS

    monkeypatch.delitem(RETRIEVERS, "cpep")
    ctx = TinyContext(tmp_path, progress=False)
    with pytest.raises(ConfigError, match="model 'cpep' needs the EMG retriever 'cpep', which is not registered"):
        ex.run_experiment("cpep", "rand", 0, "quick", "synthetic", None, tmp_path, ctx)
    with pytest.raises(ConfigError, match="'cpep'.* not registered"):  # before any worker process starts
        ex.run_experiments(["lda", "cpep"], seeds=[0, 1], jobs=2, progress=False, runs=tmp_path)
    assert not list(tmp_path.rglob("*__cpep__*"))


def test_bad_names_raise():
    with pytest.raises(ConfigError):
        ex.run_experiment("resnet", "rand")
    with pytest.raises(ConfigError, match="unknown model 'resnet'"):  # before any worker process starts
        ex.run_experiments(["lda", "resnet"], seeds=[0, 1], jobs=2, progress=False)
    with pytest.raises(ConfigError):
        ex.run_experiment("lda", "cross-dataset")
    with pytest.raises(SystemExit):
        grid_cli.main(["--protocols", "cross-dataset", "--data-dir", "x"])


def test_recipes_differ_where_results_can_differ():
    cfg0, cfg1 = make_config("quick", "synthetic", None, 0), make_config("quick", "synthetic", None, 1)
    h = lambda name, cfg=cfg0, p="rand": ex.recipe(ex.MODELS[name], cfg, p)["hash"]  # noqa: E731
    assert h("myosem") != h("myosem", cfg1) != h("myosem")
    assert h("myosem") != h("myosem", p="user")
    assert len({h(n) for n in ("myosem", "myosem-no-activation", "myosem-no-queries", "myosem-no-vq", "text-tfidf",
                               "text-frozen", "text-label", "tcn", "se-cnn", "lda", "rf")}) == 11
    # thread counts change speed, not results
    assert "threads" not in str(ex.recipe(ex.MODELS["tcn"], cfg0, "rand"))


def test_a_result_trained_on_a_gpu_is_not_taken_for_the_cpu_one(monkeypatch):
    import torch

    cfg = make_config("quick", "synthetic", None, 0)
    monkeypatch.setenv("MYOSEM_DEVICE", "cpu")
    on_cpu = ex.recipe(ex.MODELS["tcn"], cfg, "rand")["hash"]
    monkeypatch.delenv("MYOSEM_DEVICE")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert ex.recipe(ex.MODELS["tcn"], cfg, "rand")["hash"] == on_cpu  # the default on a CPU machine: the CPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert ex.recipe(ex.MODELS["tcn"], cfg, "rand")["hash"] != on_cpu


def test_recipes_hold_nothing_of_this_machine(tmp_path, monkeypatch):
    """A result is found again on another machine: no path, object repr or data location enters a recipe."""
    import json

    from myosem_core.paths import repo_root

    data = tmp_path / "db1"
    data.mkdir()
    (data / "S1_A1_E1.mat").write_bytes(b"not really a mat file")
    cfg = make_config("quick", "ninapro-db1", str(data), 0)
    for name, spec in ex.MODELS.items():
        text = json.dumps(ex.recipe(spec, cfg, "class"), default=str)
        assert str(repo_root()) not in text and str(tmp_path) not in text and "<" not in text, name


def test_every_model_of_a_comparison_gets_the_same_epoch_budget():
    for preset in ("quick", "full"):
        s2, s3 = ex.stage_presets(preset)
        d = deep_config(preset)
        assert (s2.max_epochs, s2.patience) == (d.pretrain_epochs, d.pretrain_patience)
        assert (s3.phase1_epochs, s3.phase2_epochs, s3.patience) == (d.align.phase1_epochs, d.align.phase2_epochs,
                                                                     d.align.patience)
        assert (s3.temperature, s3.w_aux) == (d.align.temperature, d.align.w_aux)
        assert (s2.augment, s2.weight_decay, s2.lr, s2.log_eps_quantile) == (d.augment, d.weight_decay,
                                                                            d.pretrain_lr, d.log_eps_quantile)


def test_ablation_switches_reach_the_stage_configs():
    s2, s3 = ex.row_stage_configs(ex.MODELS["myosem-no-activation"], "quick")
    assert s2.encoder.gates_fixed_zero and s2.encoder.use_vq and s3.head.use_queries
    s2, s3 = ex.row_stage_configs(ex.MODELS["myosem-no-vq"], "quick")
    assert not s2.encoder.use_vq and not s2.encoder.gates_fixed_zero
    s2, s3 = ex.row_stage_configs(ex.MODELS["myosem-no-queries"], "quick")
    assert not s3.head.use_queries
    assert ex.MODELS["myosem-no-pretrain"].text == "label"


def views(n=4):
    words = ["index", "middle", "ring", "little"]
    return [ClassViews(f"toy/T/{i + 1}", f"{words[i]} flexion", f"the {words[i]} finger bends then returns",
                       f"Bend the {words[i]} finger.", [f"curl your {words[i]} finger", f"{words[i]} finger down"])
            for i in range(n)]


def test_tfidf_prototypes_are_unit_rows_and_fit_on_seen_classes_only():
    P = tfidf_prototypes(views(), dim=8)
    assert P.shape[0] == 4 and P.shape[1] <= 8
    np.testing.assert_allclose(np.linalg.norm(P, axis=1), 1.0, atol=1e-5)
    assert np.argmax(P @ P.T, axis=1).tolist() == [0, 1, 2, 3]
    # "little" is only in the held-out class: its prototype comes from shared words alone, and differs
    P_held = tfidf_prototypes(views(), heldout_classes=["toy/T/4"], dim=8)
    assert P_held.shape[0] == 4
    assert not np.allclose(P_held[3] @ P_held[:3].T, P[3] @ P[:3].T)


class FakeEncoder:
    """Bag of letters: enough to check which texts reach a prototype."""

    def encode(self, texts):
        out = np.zeros((len(texts), 26), np.float32)
        for i, t in enumerate(texts):
            for ch in t.lower():
                if "a" <= ch <= "z":
                    out[i, ord(ch) - 97] += 1
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_frozen_prototypes_use_label_only_or_every_view():
    from myosem_core.baselines.text import frozen_prototypes

    v = views()
    enc = FakeEncoder()
    P_label = frozen_prototypes(v, "label", enc)
    np.testing.assert_allclose(P_label, enc.encode([c.label for c in v]), atol=1e-6)
    P_all = frozen_prototypes(v, "all", enc)
    np.testing.assert_allclose(np.linalg.norm(P_all, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(P_all, P_label)
    v[0].heldout_paraphrases = ["zzzz qqqq"]  # evaluation-only text never reaches a prototype
    np.testing.assert_allclose(frozen_prototypes(v, "all", enc), P_all, atol=1e-6)


def test_relative_and_absolute_data_dirs_share_results(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.chdir(tmp_path)
    assert ex.experiment_folder("quick", "ninapro-db1", "data", tmp_path / "runs") == \
        ex.experiment_folder("quick", "ninapro-db1", str(data), tmp_path / "runs")


def test_current_results_leave_out_stale_recipes(tmp_path, monkeypatch):
    ctx = TinyContext(tmp_path, progress=False)
    for protocol, seed in (("rand", 0), ("rand", 1)):
        ex.run_experiment("lda", protocol, seed, "quick", "synthetic", None, tmp_path, ctx, progress=False)
    folder = ex.experiment_folder("quick", "synthetic", None, tmp_path)
    now = ex.current_results(folder, ["lda"], "quick", "synthetic")
    assert sorted((r["protocol"], r["seed"]) for r in now) == [("rand", 0), ("rand", 1)]
    assert ex.current_results(folder, ["rf"], "quick", "synthetic") == []  # other models are not picked up
    edit_module(monkeypatch, tmp_path, "myosem_core.baselines.classical", "eps: float = 1e-6", "eps: float = 1e-5")
    assert ex.current_results(folder, ["lda"], "quick", "synthetic") == []  # the code changed: both files are stale


def _metrics(results):
    return [(r["protocol"], r["seed"], r["model"], r["emg_to_text"], r["text_to_emg"]) for r in results]


def test_parallel_grid_gives_the_serial_results_in_the_serial_order(tmp_path, monkeypatch):
    """jobs=2 runs the units on a 2-worker Dask LocalCluster; same seeds, same numbers, same order."""
    monkeypatch.setenv("MYOSEM_CACHE", str(tmp_path / "cache"))
    grid = dict(models=["lda", "rf"], protocols=("rand", "class"), seeds=[0, 1], preset="quick",
                dataset="synthetic", progress=False)
    parallel = ex.run_experiments(**grid, runs=tmp_path / "parallel", jobs=2)
    serial = ex.run_experiments(**grid, runs=tmp_path / "serial", jobs=1)
    assert len(serial) == 8
    assert _metrics(parallel) == _metrics(serial)
    written = sorted(p.name for p in ex.experiment_folder("quick", "synthetic", None, tmp_path / "parallel")
                     .glob("synthetic__*.json"))
    assert len(written) == 8  # every worker's results reached the shared folder


def test_an_in_process_grid_without_model_progress_shows_no_training_bar(tmp_path, monkeypatch):
    """A notebook's grid (model_progress=False) must not stream every training's bars into the kernel: past ZMQ's
    message buffer nbval loses the cell's end. In-process, each training reads its bar switch from the context."""
    from myosem_experiments.grid import runner

    seen = []
    monkeypatch.setattr(runner, "run_experiment", lambda name, *a, **k: seen.append(a[6].progress) or {"model": name})
    ex.run_experiments(["lda", "rf"], ("rand",), [0], "quick", "synthetic", runs=tmp_path, jobs=1, progress=True,
                       model_progress=False)
    ex.run_experiments(["lda"], ("rand",), [0], "quick", "synthetic", runs=tmp_path, jobs=1, progress=True)
    assert seen == [False, False, True]


def test_two_local_clusters_at_once_warn_nothing():
    """Two notebooks run their grids at once: the second cluster must not warn (into the book) that the first holds
    the scheduler's usual HTTP port."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with grid_pool.dask_client(1) as a, grid_pool.dask_client(1) as b:
            assert a.scheduler_info()["address"] != b.scheduler_info()["address"]


def _page_faults_of_reused_buffers() -> int:
    """Minor page faults of 40 steps that each fill and free 1 MB, as a training step does its buffers."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(40):
        np.ones(128_000).sum()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_grid_workers_reuse_freed_memory_instead_of_faulting_it_in_again():
    """A grid worker keeps glibc's adaptive allocator: freed buffers are reused, not unmapped and faulted in
    again on every step. Reference: a worker of a plain LocalCluster, with Dask's own environment."""
    from dask.distributed import Client, LocalCluster

    with grid_pool.dask_client(1) as client:
        ours = client.submit(_page_faults_of_reused_buffers, pure=False).result()
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      scheduler_kwargs={"dashboard_address": ":0"}) as cluster, Client(cluster) as client:
        dask_default = client.submit(_page_faults_of_reused_buffers, pure=False).result()
    pages = 40 * 128_000 * 8 // 4096  # every page of every step
    assert dask_default > pages / 2, "the reference no longer faults every buffer in: the test shows nothing"
    assert ours < pages / 10


def test_one_protocol_and_seed_is_split_into_units_that_never_share_a_run():
    units = ex.work_units(list(ex.TABLES["emg"].models + ex.TABLES["text"].models[1:]
                               + ex.TABLES["ablation"].models[1:]), [("rand", 0)])
    by_model = {m: ms for _, _, ms in units for m in ms}
    assert by_model["myosem"] == ("myosem", "text-frozen", "text-label", "text-tfidf", "myosem-no-queries",
                                  "myosem-no-pretrain")  # one Stage-2 run, trained once
    assert by_model["cpep"] == ("cpep", "embridge")  # one pose MAE
    assert by_model["myosem-no-vq"] == ("myosem-no-vq",) and by_model["tcn"] == ("tcn",)
    cost = [sum(ex.MODELS[m].cost for m in ms) for _, _, ms in units]
    assert cost == sorted(cost, reverse=True)  # the costliest unit starts first
    assert units[0][2] == by_model["myosem"] and units[-1][2] == ("lda",)
    few = ex.work_units(["lda", "rf", "tcn", "se-cnn"], [("rand", 0)])
    costs = [ex.MODELS[ms[0]].cost for _, _, ms in few]
    assert costs == sorted(costs, reverse=True) and few[-1][2] == ("lda",)
    assert sorted(m for _, _, ms in units for m in ms) == sorted(by_model)  # every row exactly once


def test_a_parallel_grid_already_computed_starts_no_worker(tmp_path, monkeypatch):
    monkeypatch.setenv("MYOSEM_CACHE", str(tmp_path / "cache"))
    grid = dict(models=["lda", "rf"], protocols=("rand",), seeds=[0], preset="quick", dataset="synthetic",
                progress=False, runs=tmp_path / "runs")
    first = ex.run_experiments(**grid, jobs=2)  # one (protocol, seed), two units: two workers

    def no_workers(*a, **k):
        raise AssertionError("a cluster was started for cached rows")

    monkeypatch.setattr(grid_pool, "dask_client", no_workers)
    assert _metrics(ex.run_experiments(**grid, jobs=2)) == _metrics(first)
    assert [r["model"] for r in first] == ["lda", "rf"]


def test_jobs_come_from_the_environment_and_bad_values_are_named(monkeypatch):
    monkeypatch.delenv("MYOSEM_JOBS", raising=False)
    assert ex.default_jobs() == 1
    monkeypatch.setenv("MYOSEM_JOBS", "3")
    assert ex.default_jobs() == 3
    for bad in ("two", "0"):
        monkeypatch.setenv("MYOSEM_JOBS", bad)
        with pytest.raises(ConfigError, match="MYOSEM_JOBS"):
            ex.default_jobs()


def test_workers_keep_the_callers_thread_count_and_environment(monkeypatch):
    """Stage 1 and the evaluations use the global thread count; a worker with another count gives other sums.
    Preset overrides reach the workers too."""
    import os

    import torch

    def inside():
        return torch.get_num_threads(), os.environ.get("MYOSEM_SET")

    def task(env, n):
        with grid_pool.environment(env, n):
            return inside()

    with grid_pool.dask_client(1) as client:
        assert client.submit(task, {"MYOSEM_SET": "deep.width=8"}, 3).result() == (3, "deep.width=8")


def test_a_unit_lost_with_its_worker_is_run_again_and_the_grid_completes(tmp_path, monkeypatch):
    """One worker process is killed while it trains; Dask's nanny starts a new one, the unit runs again."""
    import os
    import signal
    import threading

    monkeypatch.setenv("MYOSEM_CACHE", str(tmp_path / "cache"))
    grid = dict(models=["lda", "rf"], protocols=("rand", "class"), seeds=[0], preset="quick", dataset="synthetic",
                progress=False)
    killed = []
    real_client = grid_pool.dask_client

    @contextlib.contextmanager
    def client_that_loses_a_worker(jobs, scheduler=None):
        with real_client(jobs, scheduler) as client:
            def kill_one_busy_worker():
                for _ in range(600):
                    busy = [w for w, tasks in client.processing().items() if tasks]
                    if busy:
                        pids = client.run(os.getpid, workers=busy[:1])
                        os.kill(next(iter(pids.values())), signal.SIGKILL)
                        killed.append(busy[0])
                        return
                    time.sleep(0.05)
            threading.Thread(target=kill_one_busy_worker, daemon=True).start()
            yield client

    monkeypatch.setattr(grid_pool, "dask_client", client_that_loses_a_worker)
    results = ex.run_experiments(**grid, runs=tmp_path / "lost", jobs=2)
    assert killed and len(results) == 4
    monkeypatch.setattr(grid_pool, "dask_client", real_client)
    assert _metrics(results) == _metrics(ex.run_experiments(**grid, runs=tmp_path / "serial", jobs=1))


def test_new_user_settings_on_workers_score_the_user_models_and_match_the_serial_grid(tmp_path, monkeypatch):
    """A new-user setting's unit waits for the `user` unit that trains its rows, on any number of workers."""
    monkeypatch.setenv("MYOSEM_CACHE", str(tmp_path / "cache"))
    protocols = ("user", *ex.new_user_protocols(["rand", "user"]))
    grid = dict(models=["lda"], protocols=protocols, seeds=[0], preset="quick", dataset="synthetic", progress=False)
    parallel = ex.run_experiments(**grid, runs=tmp_path / "parallel", jobs=2)
    serial = ex.run_experiments(**grid, runs=tmp_path / "serial", jobs=1)
    assert [r["protocol"] for r in serial] == list(protocols)
    assert _metrics(parallel) == _metrics(serial)
    by = {r["protocol"]: r for r in serial}  # the same test windows in every setting; labels serve the user better
    assert by["user-nothing"]["n_test"] == by["user-one-repetition"]["n_test"] < by["user"]["n_test"]
    assert by["user-one-repetition"]["emg_to_text"]["R@1"] > by["user-nothing"]["emg_to_text"]["R@1"]
    assert ex.new_user_protocols(["rand"]) == []


def test_new_user_settings_read_a_deep_row_back_from_the_user_protocols_run(tmp_path, monkeypatch):
    """A deep row is trained once for `user`; its three new-user settings read that model back."""
    from myosem_core.baselines import deep

    monkeypatch.setenv("MYOSEM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MYOSEM_SET", "stage1.epochs=1; stage1.query_epochs=1; stage2.max_epochs=1; "
                                     "stage3.phase1_epochs=1; stage3.phase2_epochs=1; deep.width=8")
    trained, real = [], deep.train_deep
    monkeypatch.setattr(deep, "train_deep", lambda *a, **k: trained.append(a[0]) or real(*a, **k))
    protocols = ("user", *ex.new_user_protocols(["user"]))
    results = ex.run_experiments(models=["plain-cnn"], protocols=protocols, seeds=[0], preset="quick",
                                 dataset="synthetic", progress=False, runs=tmp_path / "runs", jobs=1)
    assert trained == ["plain-cnn"]
    assert len({r["details"]["run"] for r in results}) == 1
    assert len({r["train_seconds"] for r in results}) == 1


def test_lda_on_the_users_windows_alone_is_a_grid_row_only_where_a_new_user_gives_windows(tmp_path):
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from myosem_core.baselines.classical import time_domain_features

    ctx = ex.Context(tmp_path, progress=False)
    r = ex.run_experiment("lda-user", "user-one-repetition", 0, "quick", "synthetic", None, tmp_path, ctx,
                          progress=False)
    assert r["adaptation"]["refit_on"] == "user" and r["recipe"]["emg"]["shrinkage"] == "auto"
    # the reference: scikit-learn's shrinkage LDA fitted per test user on that user's repetition-1 windows
    ws, split = ctx.data(make_config("quick", "synthetic", None, 0), "user-one-repetition")
    adapt, test = split.adapt, split.test
    assert set(ws.repetition[adapt]) == {1} and not set(ws.repetition[test]) & {1, 2, 3}
    features = time_domain_features(ws.X)
    hits = []
    for user in np.unique(ws.subject[test]):
        own, scored = adapt[ws.subject[adapt] == user], test[ws.subject[test] == user]
        lda = make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))
        lda.fit(features[own], ws.y[own])
        hits.append(lda.classes_[lda.predict_proba(features[scored]).argmax(1)] == ws.y[scored])
    assert r["emg_to_text"]["R@1"] == pytest.approx(np.concatenate(hits).mean(), abs=1e-12)
    assert r["emg_to_text"]["R@1"] > 1.5 / ws.n_classes  # it learns the user's movements

    with pytest.raises(ConfigError, match="user-one-repetition"):
        ex.run_experiment("lda-user", "user-nothing", 0, "quick", "synthetic", None, tmp_path, ctx, progress=False)
    with pytest.raises(ConfigError, match="user-one-repetition"):  # asked for by name where it has no result
        ex.run_experiments(["lda", "lda-user"], ["rand"], [0], "quick", "synthetic", None, tmp_path, progress=False)
    units = ex.work_units(["lda", "lda-user"], [("rand", 0), ("user-nothing", 0), ("user-unlabeled", 0)])
    assert sorted((p, ms) for p, _, ms in units) == [("rand", ("lda",)), ("user-nothing", ("lda",)),
                                                       ("user-unlabeled", ("lda",)), ("user-unlabeled", ("lda-user",))]
    # every other row keeps the recipe it had before the row's options, adaptation and protocols existed
    assert all(k not in ex.recipe(ex.MODELS["lda"], make_config("quick", "synthetic", None, 0), "user-unlabeled")["spec"]
               for k in ("options", "adaptation", "protocols"))
