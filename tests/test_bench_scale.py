"""The scale benchmarks run on tiny sizes, and the book's table is generated from their numbers."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_scale  # noqa: E402
import run_all  # noqa: E402
from tiny_myosem import tiny_prototypes, tiny_windows  # noqa: E402


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    ws, split = tiny_windows()
    ws = ws.subset(split.train)
    P = tiny_prototypes(ws.n_classes, dim=384)
    return {
        "command": "python benchmarks/run_all.py --test", "dataset": "synthetic", "synthetic": True,
        "n_windows": len(ws), "measured_utc": "now", "machine": run_all.machine(),
        "training": {"quick": bench_scale.training_throughput(ws, P, "quick", steps=1, repeats=1)},
        "inference": {"quick": bench_scale.inference_latency(ws, P, "quick", n_single=3, big_batch=16)},
        "search": bench_scale.search_scaling((300, 3000), dim=8, repeats=1, folder=tmp_path_factory.mktemp("s")),
        "book": {},
    }


def test_training_throughput_covers_stages_and_the_atzori_baseline(results):
    models = results["training"]["quick"]["models"]
    assert {"Stage 2 (encoder: CE + rec + VQ)", "Atzori CNN (CE step)"} <= set(models)
    phase1, phase2 = (next(m for n, m in models.items() if n.startswith(f"Stage 3 phase {i}")) for i in (1, 2))
    assert all(m["windows_per_s"] > 0 and m["trained_parameters"] > 0 for m in models.values())
    # parameter counts are what each step's optimiser trains: a frozen encoder, or no alignment head, trains fewer
    assert phase1["trained_parameters"] < phase2["trained_parameters"]
    atzori = models["Atzori CNN (CE step)"], models["Atzori CNN (alignment step)"]
    assert atzori[0]["trained_parameters"] < atzori[1]["trained_parameters"]


def test_search_sizes_and_growth(results):
    s = results["search"]
    assert set(s["sizes"]) == {"300", "3000"}
    small, large = s["sizes"]["300"], s["sizes"]["3000"]
    assert "time_ratio_to_previous" not in small and large["time_ratio_to_previous"] > 0  # only a larger size has one
    for row in (small, large):
        assert row["query_cpu_ms"] > 0 and row["full_sort_query_cpu_ms"] > 0
        assert 0 < row["working_mib_one_query"] <= row["working_mib_batch"]  # 12 queries hold more scores than one
    assert np.isfinite(s["growth_exponent"])


def test_markdown_table_is_read_from_the_results(results):
    md = run_all.render_markdown(results)
    stage2 = results["training"]["quick"]["models"]["Stage 2 (encoder: CE + rec + VQ)"]
    assert f"{stage2['ratio_to_atzori_ce']:.2f}" in md
    assert "| 3,000 |" in md and "synthetic" in md
    assert "No executed book was found" in md
    for header in ("### Training throughput", "### Inference", "### Text → EMG search", "### Book build"):
        assert header in md


def test_grid_benchmark_times_both_ways_and_the_table_shows_it(results, tmp_path, monkeypatch):
    monkeypatch.setenv("MYOSEM_CACHE", str(tmp_path / "cache"))
    g = bench_scale.grid_parallel(None, models=("lda",), protocols=("rand", "class"), jobs=2, folder=tmp_path)
    assert g["groups"] == 2 and g["same_results"] is True
    assert g["differing_rows"] == [] and g["serial_wall_s"] > 0 and g["parallel_wall_s"] > 0
    md = run_all.render_markdown({**results, "grid": g})
    assert "Comparison grid on worker processes" in md and f"{g['speedup']:.2f}×" in md
