"""Data-parallel training: the index sampler's shards, and two CPU processes (gloo) ending with identical weights."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_myosem import STAGE2, STAGE3, tiny_prototypes, tiny_windows

from myosem_core import distributed as ddp
from myosem_core.threads import set_threads
from myosem_core.training import train_stage2, train_stage3
from myosem_core.training.common import batches


def _shards(n, batch_size, world, seed=0):
    return [list(ddp.shard_batches(n, batch_size, torch.Generator().manual_seed(seed), shard=(r, world)))
            for r in range(world)]


def test_one_process_sharding_is_the_plain_batches():
    a = list(ddp.shard_batches(103, 16, torch.Generator().manual_seed(3)))
    b = list(batches(103, 16, torch.Generator().manual_seed(3)))
    assert len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


@pytest.mark.parametrize("n,batch_size,world", [(128, 32, 2), (130, 32, 4), (7, 4, 3), (5, 64, 8)])
def test_shards_split_each_global_batch(n, batch_size, world):
    shards = _shards(n, batch_size, world)
    steps = {len(s) for s in shards}
    assert len(steps) == 1, "every rank must take the same number of steps (DDP would hang otherwise)"
    for step in range(steps.pop()):
        sizes = {len(s[step]) for s in shards}
        assert len(sizes) == 1, "every rank gets a batch of the same size"
        assert sizes.pop() <= -(-batch_size // world)
    seen = torch.cat([b for s in shards for b in s])
    assert set(seen.tolist()) == set(range(n)), "every window is used in the epoch"
    assert len(seen) == -(-n // world) * world, "padding is only up to a multiple of the world size"
    if n % world == 0 and batch_size % world == 0:  # then the union of the shards is the one-process batch
        plain = list(batches(n, batch_size, torch.Generator().manual_seed(0)))
        for step, want in enumerate(plain):
            got = torch.cat([s[step] for s in shards])
            assert sorted(got.tolist()) == sorted(want.tolist())


def test_helpers_are_no_ops_in_one_process():
    model = torch.nn.Linear(3, 2)
    assert not ddp.is_distributed() and ddp.is_main() and ddp.world_size() == 1
    assert ddp.wrap(model) is model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    ddp.sync_module(model)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert ddp.replicas_agree(model)
    assert ddp.device() == torch.device("cpu")


def _train_rank(ws, split, P, out):
    """One rank: Stage 2 then Stage 3 data-parallel; each rank dumps its own weights for the comparison."""
    set_threads(1)
    tr, va = ws.subset(split.train), ws.subset(split.val)
    s2 = train_stage2(tr, va, STAGE2, 0, out / "s2", progress=False)
    s3 = train_stage3(tr, va, s2, P, STAGE3, 0, out / "s3", progress=False)
    info = {"rank": ddp.rank(), "world": ddp.world_size(), "agree2": ddp.replicas_agree(s2.model),
            "agree3": ddp.replicas_agree(s3.model)}
    torch.save({"s2": s2.model.state_dict(), "s3": s3.model.state_dict()}, out / f"rank{ddp.rank()}.pt")
    (out / f"rank{ddp.rank()}.json").write_text(json.dumps(info))


#: the last-epoch checkpoint each stage leaves (Stage 3's second phase is the last one written)
LAST = {"s2": "stage2_last.pt", "s3": "stage3_finetune_last.pt"}


def test_two_cpu_processes_finish_with_identical_weights(tmp_path):
    ws, split = tiny_windows()
    P = tiny_prototypes(ws.n_classes)
    ddp.spawn_local(_train_rank, 2, ws, split, P, tmp_path, start_method="fork")
    infos = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [i["world"] for i in infos] == [2, 2] and [i["rank"] for i in infos] == [0, 1]
    assert all(i["agree2"] and i["agree3"] for i in infos)
    a, b = (torch.load(tmp_path / f"rank{r}.pt") for r in range(2))
    for stage in ("s2", "s3"):
        assert a[stage].keys() == b[stage].keys()
        assert all(torch.equal(a[stage][k], b[stage][k]) for k in a[stage]), f"{stage} replicas differ"
    # rank 0 wrote the runs (results, last-epoch checkpoints); the saved weights are the replicas' weights
    for stage in ("s2", "s3"):
        assert (tmp_path / stage / "results.json").is_file() and (tmp_path / stage / LAST[stage]).is_file()
    saved = torch.load(tmp_path / "s3" / "stage3.pt")["state_dict"]
    assert all(torch.equal(saved[k], a["s3"][k]) for k in saved)
    # and the data-parallel run learned: validation CE fell below its first epoch's
    curves = json.loads((tmp_path / "s2" / "curves.json").read_text())
    assert len(curves) == STAGE2.max_epochs and min(r["val_ce"] for r in curves[1:]) < curves[0]["val_ce"]


def _train_baseline_rank(ws, split, P, out):
    from dataclasses import replace

    from myosem_core.baselines.deep import DeepConfig, train_deep

    set_threads(1)
    cfg = DeepConfig(width=8, pretrain_epochs=2, batch_size=32, align=replace(STAGE3, phase1_epochs=1, phase2_epochs=1))
    run = train_deep("atzori-cnn", ws.subset(split.train), ws.subset(split.val), P, cfg, 0, progress=False)
    torch.save(run.model.state_dict(), out / f"deep{ddp.rank()}.pt")


def test_deep_baseline_trains_data_parallel_to_identical_replicas(tmp_path):
    ws, split = tiny_windows()
    ddp.spawn_local(_train_baseline_rank, 2, ws, split, tiny_prototypes(ws.n_classes), tmp_path, start_method="fork")
    a, b = (torch.load(tmp_path / f"deep{r}.pt") for r in range(2))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_training_uses_a_gpu_where_torch_sees_one_unless_told_otherwise(monkeypatch):
    from myosem_core.errors import ConfigError

    monkeypatch.delenv(ddp.DEVICE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert ddp.device() == torch.device("cuda")
    assert ddp.run_key_extra() == {"device": "cuda"}  # GPU runs get folders of their own
    monkeypatch.setenv(ddp.DEVICE_ENV, "cpu")  # what `make test` sets: the pinned numbers are CPU numbers
    assert ddp.device() == torch.device("cpu") and ddp.run_key_extra() == {}
    monkeypatch.setenv(ddp.DEVICE_ENV, "banana")
    with pytest.raises(ConfigError, match=r"MYOSEM_DEVICE.*torch device.*'banana'"):
        ddp.device()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv(ddp.DEVICE_ENV, "cuda")
    with pytest.raises(ConfigError, match=r"MYOSEM_DEVICE.*no CUDA device"):
        ddp.device()
    monkeypatch.delenv(ddp.DEVICE_ENV)
    assert ddp.device() == torch.device("cpu") and ddp.run_key_extra() == {}
