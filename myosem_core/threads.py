"""Thread limits in one place: the machine is shared, and oversubscribed threads are far slower.

- :func:`set_threads`: the process's torch intra-op thread count (scripts, notebooks, worker processes);
- :func:`limit_threads`: a block with at most ``n`` torch and/or BLAS/OpenMP threads, restored after.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

_NATIVE = {"all": None, "blas": "blas", "openmp": "openmp"}
_CONTROLLER = None


def set_threads(n: int | None) -> None:
    """Use ``n`` torch intra-op threads from now on; nothing when ``n`` is 0 or None."""
    if n:
        import torch

        torch.set_num_threads(int(n))


@contextlib.contextmanager
def limit_threads(n: int | None, torch: bool = True, native: str | None = None,
                  rescan: bool = True) -> Iterator[None]:
    """Run the block with at most ``n`` threads, then restore the previous counts.

    ``torch``: torch's intra-op threads. ``native``: also the thread pools threadpoolctl finds, ``"all"``
    of them, or only ``"blas"`` or ``"openmp"``. ``rescan=False`` reuses the first scan of the loaded
    libraries (for a limit taken per query; a library loaded later is then missed). ``n`` 0 or None: no limit.
    """
    if native is not None and native not in _NATIVE:
        raise ValueError(f"native must be one of {sorted(_NATIVE)} or None, got {native!r}")
    with contextlib.ExitStack() as stack:
        if n and torch:
            stack.enter_context(_torch_threads(int(n)))
        if n and native is not None:
            stack.enter_context(_controller(rescan).limit(limits=int(n), user_api=_NATIVE[native]))
        yield


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _controller(rescan: bool):
    """A threadpoolctl controller: a fresh scan of the loaded libraries, or the first one kept."""
    global _CONTROLLER
    from threadpoolctl import ThreadpoolController

    if rescan:
        return ThreadpoolController()
    if _CONTROLLER is None:
        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER
