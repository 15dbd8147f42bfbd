"""The one thread-limit helper: limits apply inside the block and are restored after it."""

import pytest
import torch
from threadpoolctl import threadpool_info

from myosem_core.threads import limit_threads, set_threads


def _blas_threads() -> list[int]:
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_limit_threads_sets_and_restores_torch():
    before = torch.get_num_threads()
    target = 1 if before != 1 else 2
    with limit_threads(target):
        assert torch.get_num_threads() == target
    assert torch.get_num_threads() == before


def test_limit_threads_restores_after_an_error():
    before = torch.get_num_threads()
    with pytest.raises(RuntimeError), limit_threads(1 if before != 1 else 2):
        raise RuntimeError("boom")
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("rescan", [True, False])
def test_native_limit_reaches_blas_and_leaves_torch(rescan):
    before_torch, before_blas = torch.get_num_threads(), _blas_threads()
    if not before_blas:
        pytest.skip("no BLAS library threadpoolctl can see")
    target = 2 if before_blas == [1] * len(before_blas) else 1  # differ from the current count
    with limit_threads(target, torch=False, native="blas", rescan=rescan):
        assert set(_blas_threads()) == {target}
        assert torch.get_num_threads() == before_torch
    assert _blas_threads() == before_blas


def test_no_limit_and_bad_pool_name():
    before = torch.get_num_threads()
    with limit_threads(None, native="all"):
        assert torch.get_num_threads() == before
    set_threads(0)
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="native must be one of"), limit_threads(1, native="gpu"):
        pass
