"""Shared fixtures: the real NinaPro DB1 data (loaded once per session) and small fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from myosem_core.data import WindowConfig, load_recordings, make_windows

#: Real NinaPro DB1 exercise 1, outside the repo (never copied in). Tests needing it fail when it is missing.
DB1_DIR = Path(__file__).resolve().parents[1].parent / "shared/data/ninapro-db1"
DB1_SUBJECTS = [f"S{i}" for i in (1, 2, 3, 4, *range(7, 21))]


@pytest.fixture(scope="session")
def db1_dir() -> Path:
    assert DB1_DIR.is_dir(), f"real NinaPro DB1 data not found at {DB1_DIR} (see the project README)"
    return DB1_DIR


@pytest.fixture(scope="session")
def db1_recordings(db1_dir):
    """All 18 DB1 exercise-1 recordings, read once (~4 s)."""
    return load_recordings("ninapro-db1", db1_dir, progress=False)


@pytest.fixture(scope="session")
def db1_windows(db1_recordings):
    """Default windows (1 s, hop 0.25 s, no rest) of the real DB1 recordings."""
    return make_windows(db1_recordings, WindowConfig())


@pytest.fixture(scope="session")
def flow(tmp_path_factory):
    """The CLI flow on the tiny synthetic set (:func:`cli_flow.build_flow`), trained once per test session."""
    from cli_flow import build_flow

    return build_flow(tmp_path_factory.mktemp("cli"))
