"""Run the book's notebooks as a small dependency graph on ``jobs`` slots.

Each notebook names the notebooks whose trained runs it reads in its front matter::

    myosem:
      after: [01_text_space, 02_emg_encoder]

A notebook starts once every notebook it comes after has finished, so no run is
trained by two notebooks at once, and independent chapters (EMBridge, AEMG)
train beside the MyoSem chain instead of after it. A prerequisite must come
earlier in reading order, so the reading order is always a valid serial order
(``jobs=1`` runs exactly that) and the graph can have no cycle. When a notebook
fails, nothing that depends on it starts; the others finish.

Among the notebooks ready to start, a higher ``myosem.priority`` (default 0) starts
first (:func:`start_order`): the longest chapter (the comparison grid) is given one,
so it does not wait behind a short one for a slot and end the build last.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

import jupytext

METADATA_KEY = "myosem"


def start_order(sources: list[Path]) -> list[str]:
    """The stems of ``sources`` by ``myosem.priority`` (higher first), then in reading order; ready notebooks
    start in this order (:func:`run_graph` still waits for each one's prerequisites)."""
    priority = {}
    for source in sources:
        value = (jupytext.read(source).metadata.get(METADATA_KEY, {}) or {}).get("priority", 0)
        if not isinstance(value, int) or isinstance(value, bool):
            raise SystemExit(f"error: {source}: front matter field {METADATA_KEY}.priority must be an integer, "
                             f"got {value!r}")
        priority[source.stem] = value
    return sorted(priority, key=lambda stem: (-priority[stem], [s.stem for s in sources].index(stem)))


def read_prerequisites(sources: list[Path]) -> dict[str, list[str]]:
    """``{stem: [stems it comes after]}`` from each notebook's front matter, checked.

    Only names among ``sources`` count (running one chapter alone runs it alone);
    an unknown or later-numbered name is an error naming the file and the field.
    """
    stems = [s.stem for s in sources]
    known = {p.stem for s in sources for p in s.parent.glob("[0-9][0-9]_*.md")} | set(stems)
    found: dict[str, list[str]] = {}
    for source in sources:
        meta = jupytext.read(source).metadata.get(METADATA_KEY, {}) or {}
        after = meta.get("after", []) or []
        if not isinstance(after, list) or not all(isinstance(a, str) for a in after):
            raise SystemExit(f"error: {source}: front matter field {METADATA_KEY}.after must be a list of "
                             f"notebook names such as [01_text_space], got {after!r}")
        for name in after:
            if name not in known:
                raise SystemExit(f"error: {source}: {METADATA_KEY}.after names {name!r}, which is not a notebook "
                                 f"in {source.parent} (expected one of {sorted(known)})")
            if name >= source.stem:
                raise SystemExit(f"error: {source}: {METADATA_KEY}.after names {name!r}, which does not come "
                                 "before it in reading order; a notebook can only read earlier chapters' runs")
        found[source.stem] = [a for a in after if a in stems]
    return found


def run_graph(order: list[str], after: dict[str, list[str]], run: Callable[[str], bool], jobs: int = 1,
              on_start: Callable[[str], None] | None = None,
              on_end: Callable[[str, bool], None] | None = None) -> dict[str, bool | None]:
    """Call ``run(name)`` for every name, at most ``jobs`` at a time, each after its prerequisites.

    Ready names start in ``order``. Returns ``{name: True | False | None}``: succeeded, failed,
    or never started because a prerequisite failed.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, got {jobs}")
    result: dict[str, bool | None] = {name: None for name in order}
    pending = list(order)
    running: dict[Future, str] = {}  # the callbacks run here, in the calling thread, never in a worker
    blocked_names: set[str] = set()

    def blocked(name: str) -> bool:
        return any(result[p] is False or p in blocked_names for p in after[name])

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            for name in list(pending):
                if len(running) >= jobs:
                    break
                if blocked(name):
                    pending.remove(name)
                    blocked_names.add(name)
                    continue
                if all(result[p] is True for p in after[name]):
                    pending.remove(name)
                    if on_start:
                        on_start(name)
                    running[pool.submit(run, name)] = name
            if not running:
                if pending:  # every remaining name waits on a blocked one
                    blocked_names.update(pending)
                    pending.clear()
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                ok = bool(future.result())
                result[name] = ok
                if on_end:
                    on_end(name, ok)
    return result
