"""The scale benchmarks run on tiny sizes, and the book's table is generated from their numbers."""

from __future__ import annotations

import sys
from pathlib import Path

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
    assert any(name.startswith("Stage 3 phase 1") for name in models)
    assert all(m["windows_per_s"] > 0 and m["trained_parameters"] > 0 for m in models.values())
    assert models["Atzori CNN (CE step)"]["ratio_to_atzori_ce"] == 1.0


def test_search_sizes_and_growth(results):
    s = results["search"]
    assert set(s["sizes"]) == {"300", "3000"}
    assert s["sizes"]["3000"]["size_ratio_to_previous"] == 10
    assert s["sizes"]["300"]["corpus_mib"] == pytest.approx(300 * 8 * 4 / 2**20)
    assert "growth_exponent" in s


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
    assert g["serial_wall_s"] > 0 and g["parallel_wall_s"] > 0
    assert g["speedup"] == pytest.approx(g["serial_wall_s"] / g["parallel_wall_s"])
    md = run_all.render_markdown({**results, "grid": g})
    assert "Comparison grid on worker processes" in md and f"{g['speedup']:.2f}×" in md
