"""scripts/notebook_order.py: notebooks run after the notebooks they read, a failure stops its readers."""

from __future__ import annotations

import importlib.util
import threading
import time
from pathlib import Path

import jupytext
import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("notebook_order", REPO / "scripts/notebook_order.py")
order = importlib.util.module_from_spec(spec)
spec.loader.exec_module(order)


def myst(path: Path, after, **meta) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nb.metadata["jupytext"] = {"notebook_metadata_filter": "myosem"}
    nb.metadata["myosem"] = {"after": after, **meta}
    jupytext.write(nb, path, fmt="md:myst")
    return path


def test_the_books_notebooks_name_only_earlier_chapters():
    sources = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.md"))
    after = order.read_prerequisites(sources)
    assert after["03_alignment_retrieval"] == ["01_text_space", "02_emg_encoder"]
    assert after["00_data"] == []
    assert all(after[s.stem] for s in sources if s.stem != "00_data")  # everything reads the data chapter's cache


def test_running_one_chapter_alone_ignores_what_it_reads(tmp_path):
    myst(tmp_path / "00_a.md", [])
    b = myst(tmp_path / "01_b.md", ["00_a"])
    assert order.read_prerequisites([b]) == {"01_b": []}


@pytest.mark.parametrize("after, message", [(["07_nowhere"], "not a notebook"),
                                            (["02_c"], "does not come before it"),
                                            ("00_a", "must be a list")])
def test_a_wrong_after_field_is_one_clear_error(tmp_path, after, message):
    myst(tmp_path / "00_a.md", [])
    myst(tmp_path / "02_c.md", [])
    b = myst(tmp_path / "01_b.md", after)
    with pytest.raises(SystemExit, match=rf"01_b.md: .*myosem.after.*{message}"):
        order.read_prerequisites([tmp_path / "00_a.md", b, tmp_path / "02_c.md"])


def test_graph_respects_prerequisites_and_the_slot_count():
    after = {"a": [], "b": ["a"], "c": [], "d": ["b", "c"], "e": []}
    events, lock, now = [], threading.Lock(), {"running": 0, "peak": 0}

    def run(name):
        with lock:
            now["running"] += 1
            now["peak"] = max(now["peak"], now["running"])
            events.append(("start", name))
        time.sleep(0.05)
        with lock:
            now["running"] -= 1
            events.append(("end", name))
        return True

    result = order.run_graph(list(after), after, run, jobs=2)
    assert result == dict.fromkeys(after, True)
    assert now["peak"] == 2
    pos = {e: i for i, e in enumerate(events)}
    for name, pre in after.items():
        assert all(pos[("end", p)] < pos[("start", name)] for p in pre)


def test_a_failure_blocks_everything_downstream_only():
    after = {"a": [], "b": ["a"], "c": ["b"], "d": []}
    result = order.run_graph(list(after), after, lambda n: n != "a", jobs=1)
    assert result == {"a": False, "b": None, "c": None, "d": True}


def test_one_slot_runs_in_reading_order():
    after = {"a": [], "b": [], "c": ["a"]}
    seen = []
    order.run_graph(list(after), after, lambda n: seen.append(n) or True, jobs=1)
    assert seen == ["a", "b", "c"]


def test_a_ready_notebook_of_higher_priority_takes_the_free_slot_first(tmp_path):
    """After 01 ends, 02 (priority 1) and 03 are both ready and one slot is free: 02 must start before 03,
    although 03 comes first in reading order; a serial run still respects every prerequisite."""
    sources = [myst(tmp_path / "00_a.md", []), myst(tmp_path / "01_b.md", ["00_a"]),
               myst(tmp_path / "02_long.md", ["01_b"], priority=1), myst(tmp_path / "03_short.md", ["00_a"])]
    # reading order would start 03_short beside 01_b; by priority 02_long is first in line once 01_b is done
    assert order.start_order(sources) == ["02_long", "00_a", "01_b", "03_short"]
    seen = []
    result = order.run_graph(order.start_order(sources), order.read_prerequisites(sources),
                             lambda n: seen.append(n) or True, jobs=1)
    assert all(result.values()) and seen == ["00_a", "01_b", "02_long", "03_short"]
    with pytest.raises(SystemExit, match=r"02_x.md: .*myosem.priority must be an integer"):
        order.start_order([myst(tmp_path / "02_x.md", [], priority="high")])
