"""Data-parallel training under ``torchrun``: one process per device, same code as a single process.

A training loop that uses these helpers runs unchanged alone or under

    torchrun --nproc_per_node=2 -m myosem_experiments.cli train-stage2 ...      # CPU: gloo
    torchrun --nproc_per_node=8 -m myosem_experiments.cli train-stage3 ...      # GPUs: nccl, one per process

Outside ``torchrun`` (no ``WORLD_SIZE`` > 1 in the environment) every helper is
a no-op and the loop computes exactly what it computed before.

- :func:`init_from_env` joins the process group ``torchrun`` describes (gloo on
  CPU, nccl when CUDA is available; ``MYOSEM_DIST_BACKEND`` overrides).
- :func:`shard_batches` is the distributed sampler for index batches: every
  rank draws the same permutation from the same seeded generator, pads it to a
  multiple of the world size (as ``DistributedSampler`` does) and takes its
  share of each *global* batch, so ``batch_size`` keeps meaning the global
  batch and an epoch has the same number of steps on any number of processes.
- :func:`wrap` wraps a model in ``DistributedDataParallel`` (gradients are
  averaged across ranks during ``backward``); :func:`wrap_loss` does the same
  for a loss function that calls a model's submodules directly (the deep baselines).
- :func:`sync_module` broadcasts rank 0's parameters and buffers after each
  optimiser step. Needed because some modules change weights outside autograd
  (the VQ codebook re-seeds dead entries from the local batch), which would
  otherwise let the replicas drift apart.
- :func:`is_main` guards every write: only rank 0 saves checkpoints and results.
- :func:`spawn_local` starts ``n`` CPU processes on 127.0.0.1 (gloo) for tests
  and benchmarks, without ``torchrun``.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Callable, Iterator

import torch
import torch.distributed as dist
from torch import nn

from .errors import ConfigError

BACKEND_ENV = "MYOSEM_DIST_BACKEND"
DEVICE_ENV = "MYOSEM_DEVICE"


def is_distributed() -> bool:
    """True inside an initialised process group with more than one rank."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """Whether this process may write files (rank 0, or the only process)."""
    return rank() == 0


def init_from_env(backend: str | None = None) -> bool:
    """Join the process group described by ``torchrun``'s environment; False when not launched by it.

    Idempotent. On CUDA the process uses GPU ``LOCAL_RANK``.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    if dist.is_initialized():
        return True
    for name in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        if name not in os.environ:
            raise ConfigError(f"WORLD_SIZE={os.environ['WORLD_SIZE']} but ${name} is not set; "
                              "start distributed runs with torchrun")
    backend = backend or os.environ.get(BACKEND_ENV) or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend, init_method="env://")
    return True


def shutdown() -> None:
    """Leave the process group (after a barrier, so no rank exits while another still talks)."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def device() -> torch.device:
    """Where training tensors live: this rank's GPU under nccl, else ``$MYOSEM_DEVICE``, else the GPU
    when CUDA is available, else the CPU (``MYOSEM_DEVICE=cpu`` keeps a GPU machine on the CPU)."""
    if is_distributed() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    name = os.environ.get(DEVICE_ENV)
    if not name:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"${DEVICE_ENV}: expected a torch device such as cpu, cuda or cuda:1, "
                          f"got {name!r}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"${DEVICE_ENV}: {name!r} asks for a GPU, but torch sees no CUDA device here; "
                          "unset it (the CPU is used) or set it to cpu")
    return dev


def run_key_extra() -> dict:
    """What a cached run's key adds beyond its config: ``{"world_size": N}`` for a data-parallel run and
    ``{"device": "cuda"}`` for a run trained off the CPU, else nothing.

    A run trained on N processes, or on a GPU, is close to, not bit-identical with, a one-process CPU
    run, so it gets its own folder; one-process CPU keys stay exactly as they were.
    """
    extra: dict = {"world_size": world_size()} if world_size() > 1 else {}
    if (kind := device().type) != "cpu":
        extra["device"] = kind
    return extra


def barrier() -> None:
    if is_distributed():
        dist.barrier()


@contextlib.contextmanager
def main_first() -> Iterator[None]:
    """Rank 0 runs the block first (e.g. fills a cache or trains Stage 1); the others then run it (and read)."""
    if not is_main():
        barrier()
    try:
        yield
    finally:
        if is_main():
            barrier()


def shard_batches(n: int, batch_size: int, generator: torch.Generator | None = None,
                  shard: tuple[int, int] | None = None) -> Iterator[torch.Tensor]:
    """This rank's share of each global index batch over ``range(n)`` (shuffled with ``generator``).

    ``shard`` = (rank, world size), default the process group's. With one process
    this is exactly :func:`myosem_core.training.common.batches`.
    """
    from .training.common import batches

    me, world = shard if shard is not None else (rank(), world_size())
    if world == 1 or n == 0:
        yield from batches(n, batch_size, generator)
        return
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    padded = -(-n // world) * world
    if padded > n:  # repeat the first indices so every rank gets the same number of samples
        order = torch.cat([order, order.repeat(-(-(padded - n) // n))[:padded - n]])
    step = -(-batch_size // world) * world
    for i in range(0, padded, step):
        yield order[i:i + step][me::world]


def wrap(model: nn.Module) -> nn.Module:
    """``model`` in ``DistributedDataParallel`` when distributed (only parameters that require grad), else itself.

    Call it again after changing which parameters are trainable.
    """
    if not is_distributed():
        return model
    ids = [torch.cuda.current_device()] if device().type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


class _LossModule(nn.Module):
    """Lets DDP see a loss computed by any function of ``model``'s submodules, not only ``model.forward``."""

    def __init__(self, model: nn.Module, loss_fn: Callable):
        super().__init__()
        self.model, self.loss_fn = model, loss_fn

    def forward(self, *args):
        return self.loss_fn(*args)


def wrap_loss(model: nn.Module, loss_fn: Callable) -> Callable:
    """``loss_fn`` (a function of ``model``'s parts) run through ``DistributedDataParallel`` when distributed.

    For loops that call submodules directly (``model.classifier(model.segment(x))``);
    parameters that a given loss does not touch are allowed (``find_unused_parameters``).
    """
    if not is_distributed():
        return loss_fn
    ids = [torch.cuda.current_device()] if device().type == "cuda" else None
    return nn.parallel.DistributedDataParallel(_LossModule(model, loss_fn), device_ids=ids,
                                               find_unused_parameters=True)


@torch.no_grad()
def sync_module(model: nn.Module) -> None:
    """Copy rank 0's parameters and buffers to every rank (a no-op in a single process)."""
    if not is_distributed():
        return
    groups: dict = {}
    for t in [*model.parameters(), *model.buffers()]:
        groups.setdefault((t.dtype, t.device), []).append(t.data)
    for tensors in groups.values():  # one broadcast per dtype instead of one per tensor
        flat = torch.cat([t.reshape(-1) for t in tensors])
        dist.broadcast(flat, src=0)
        offset = 0
        for t in tensors:
            t.copy_(flat[offset:offset + t.numel()].view_as(t))
            offset += t.numel()


def state_digest(model: nn.Module) -> torch.Tensor:
    """A float64 vector summarising every parameter and buffer: equal on all ranks iff the replicas agree."""
    parts = [t.detach().double().flatten().cpu() for t in [*model.parameters(), *model.buffers()]
             if t.is_floating_point()]
    flat = torch.cat(parts) if parts else torch.zeros(1, dtype=torch.float64)
    weights = torch.linspace(1.0, 2.0, flat.numel(), dtype=torch.float64)
    return torch.stack([flat.sum(), (flat * weights).sum(), flat.abs().max()])


def replicas_agree(model: nn.Module) -> bool:
    """True when every rank holds bit-identical parameters and buffers (collective: call on all ranks)."""
    if not is_distributed():
        return True
    mine = state_digest(model)
    gathered = [torch.empty_like(mine) for _ in range(world_size())]
    dist.all_gather(gathered, mine)
    return all(torch.equal(g, gathered[0]) for g in gathered)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _spawned(local: int, fn: Callable, world: int, port: int, args: tuple) -> None:
    os.environ.update(RANK=str(local), LOCAL_RANK=str(local), WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    init_from_env("gloo")
    try:
        fn(*args)
    finally:
        shutdown()


def spawn_local(fn: Callable, world: int, *args, start_method: str = "spawn") -> None:
    """Run ``fn(*args)`` in ``world`` CPU processes joined by gloo on 127.0.0.1 (like ``torchrun``).

    With ``start_method="spawn"`` the processes start fresh, and ``fn`` must be
    importable (a module-level function); ``"fork"`` copies this process (faster
    to start; CPU only). Raises if any process fails.
    """
    import torch.multiprocessing as mp

    mp.start_processes(_spawned, args=(fn, world, free_port(), args), nprocs=world, join=True,
                       start_method=start_method)
