"""Where runs and caches live, wherever a notebook or script is started from."""

from __future__ import annotations

import os
from pathlib import Path


def repo_root(start: str | Path | None = None) -> Path:
    """The nearest folder upward from ``start`` (default: cwd) holding ``pyproject.toml``; else cwd."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "myosem_core").is_dir():
            return folder
    return here


def runs_root(run_dir: str | Path | None = None) -> Path:
    """``run_dir`` if given, else ``$MYOSEM_RUNS``, else ``<repo>/runs``."""
    if run_dir:
        return Path(run_dir)
    return Path(os.environ.get("MYOSEM_RUNS") or repo_root() / "runs")


def cache_root() -> Path:
    """``$MYOSEM_CACHE`` or ``<repo>/cache``: window arrays keyed by config hash."""
    return Path(os.environ.get("MYOSEM_CACHE") or repo_root() / "cache")
