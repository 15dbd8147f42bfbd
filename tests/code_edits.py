"""Edit a project module's source for one test: the run store then reads the edited copy (nothing is imported).

    with edited_module(monkeypatch, tmp_path, "myosem_core.training.stage3", "lr = 2e-3", "lr = 1e-3"): ...

The edit must change the source (a replaced string that is absent fails the test), so a test built on it
shows what a real code change does to run keys.
"""

from __future__ import annotations

import functools
from pathlib import Path

from myosem_core import run_store


def fresh_code_caches(monkeypatch) -> None:
    """Empty caches of parsed sources and code versions for this test; the real ones return untouched after it."""
    for name in ("_parsed", "code_version"):
        monkeypatch.setattr(run_store, name, functools.lru_cache(maxsize=None)(getattr(run_store, name).__wrapped__))


def edit_module(monkeypatch, tmp_path: Path, module: str, old: str, new: str) -> Path:
    """Point the run store at a copy of ``module`` with ``old`` replaced by ``new``; returns the copy."""
    real = run_store._module_path(module)
    source = real.read_text()
    assert old in source, f"{old!r} is not in {real}"
    copy = tmp_path / f"edited-{module}.py"
    copy.write_text(source.replace(old, new, 1))
    original = run_store._module_path

    def patched(name: str):
        return copy if name == module else original(name)

    monkeypatch.setattr(run_store, "_module_path", patched)
    fresh_code_caches(monkeypatch)
    return copy
