"""Speed and memory of MyoSem at scale: training throughput, inference latency, text->EMG search, book build.

Each function returns a JSON-able dict; :mod:`benchmarks.run_all` runs them in
one process and writes ``<runs>/benchmarks/scale.json``. Absolute numbers are
this machine's; the ratios (model vs model, corpus size vs corpus size) are
measured in the same run, so they carry over to other machines better.

Every single-thread figure is timed twice: as CPU time of this process (what
the work costs on a core of its own; robust when other jobs share the
machine, because time spent waiting for a core is not counted) and as wall
time (what a caller waited, load included). Models are timed in turns, so
each meets the same background load.

- :func:`training_throughput`: windows/s of one training step (forward,
  backward, AdamW) at batch 128 on the same windows, for Stage 2, both phases
  of Stage 3 and the Atzori CNN baseline (its CE step and its alignment step),
  each with the preset's model size.
- :func:`inference_latency`: per-window latency at batch 1 on one thread
  (model only, and normalise + embed as ``Stage3Run.embed`` does) and
  throughput at batch 256.
- :func:`search_scaling`: exact chunked top-k over 10 k / 100 k / 1 M stored
  embeddings, memory-mapped from ``.npy``: latency of one query and of a batch
  of queries, working memory beyond the corpus, and how cost grows with N.
- :func:`grid_parallel`: wall time of a small comparison grid (the runner of
  notebooks 05/06) run serially and on worker processes, and whether both
  gave the same numbers.
- :func:`book_build_times`: the notebook timings the book's execution script
  recorded (``build_info.json``).
"""

from __future__ import annotations

import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

from myosem_core.threads import limit_threads
from myosem_core.presets import deep_config, preset_section

REPO = Path(__file__).resolve().parents[1]


def _interleaved(fns: dict, repeats: int) -> dict[str, dict[str, list[float]]]:
    """CPU and wall seconds of each callable, ``repeats`` times, the callables taking turns."""
    out = {name: {"cpu": [], "wall": []} for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            out[name]["cpu"].append(time.process_time() - c0)
            out[name]["wall"].append(time.perf_counter() - w0)
    return out


def _timed(fn, repeats: int) -> dict[str, list[float]]:
    return _interleaved({"fn": fn}, repeats)["fn"]


def _ms(times: dict[str, list[float]], prefix: str, per: int = 1) -> dict[str, float]:
    """``{prefix}_cpu_ms``, ``{prefix}_wall_ms`` (medians, divided by ``per``) and the fastest wall time."""
    return {f"{prefix}_cpu_ms": 1e3 * statistics.median(times["cpu"]) / per,
            f"{prefix}_wall_ms": 1e3 * statistics.median(times["wall"]) / per,
            f"{prefix}_wall_ms_fastest": 1e3 * min(times["wall"]) / per}


# ------------------------------------------------------------------ training


def _step_fns(ws, P: torch.Tensor, preset: str, batch: torch.Tensor, labels: torch.Tensor) -> dict:
    """name -> (callable running one training step, number of trained parameters)."""
    from myosem_core.baselines.deep import ARCHITECTURES, AlignedBaseline
    from myosem_core.losses import classification_loss, prototype_info_nce, stage2_loss
    from myosem_core.models.activation_encoder import ActivationAwareEncoder
    from myosem_core.training.stage2 import encoder_config_for
    from myosem_core.training.stage3 import build_model, set_trainable

    s2cfg, s3cfg, dcfg = (preset_section(preset, "stage2"), preset_section(preset, "stage3"),
                          deep_config(preset))
    allowed = torch.unique(labels)
    K = ws.n_classes
    fns = {}
    aug = getattr(s2cfg, "augment", None)

    def augmented(x, cfg):
        from myosem_core.training.augment import augment

        return augment(x, cfg) if cfg is not None else x

    enc = ActivationAwareEncoder(encoder_config_for(ws, s2cfg))
    opt2 = torch.optim.AdamW(enc.parameters(), lr=s2cfg.lr)

    def stage2_step():
        enc.train()
        x = augmented(batch, aug)
        loss, _ = stage2_loss(enc(x), x, labels, s2cfg.w_rec, s2cfg.w_vq, allowed)
        opt2.zero_grad()
        loss.backward()
        opt2.step()

    fns["Stage 2 (encoder: CE + rec + VQ)"] = (stage2_step, sum(p.numel() for p in enc.parameters()))  # all trained

    aug3 = getattr(s3cfg, "augment", None)

    def stage3_step(model, opt, frozen_encoder):
        def run():
            model.train()
            if frozen_encoder:
                model.encoder.eval()
            out = model(augmented(batch, aug3))
            loss = (prototype_info_nce(out.embedding, P, labels, s3cfg.temperature, allowed)
                    + s3cfg.w_aux * classification_loss(model.aux_classifier(out.embedding), labels, allowed))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return run

    for phase, unfreeze in (("phase 1 (head, frozen encoder)", 0), ("phase 2 (head + last encoder layers)",
                                                                     s3cfg.unfreeze_layers)):
        model = build_model(ActivationAwareEncoder(encoder_config_for(ws, s2cfg)), s3cfg, P.shape[1])
        head = list(model.head.parameters()) + list(model.aux_classifier.parameters())
        trainable = head + set_trainable(model, unfreeze)
        opt = torch.optim.AdamW(trainable, lr=s3cfg.phase1_lr)
        fns[f"Stage 3 {phase}"] = (stage3_step(model, opt, unfreeze == 0), sum(p.numel() for p in trainable))

    base = AlignedBaseline(ARCHITECTURES["atzori-cnn"](ws.X.shape[2], ws.X.shape[1], width=dcfg.width), K, P.shape[1])
    opt_ce = torch.optim.AdamW(list(base.backbone.parameters()) + list(base.classifier.parameters()), lr=1e-3)
    opt_al = torch.optim.AdamW(base.parameters(), lr=1e-3)

    def atzori_ce():
        base.train()
        loss = classification_loss(base.classifier(base.segment(batch)), labels, allowed)
        opt_ce.zero_grad()
        loss.backward()
        opt_ce.step()

    def atzori_align():
        base.train()
        z = base.embed(batch)
        loss = prototype_info_nce(z, P, labels, dcfg.align.temperature, allowed) + dcfg.align.w_aux * \
            classification_loss(base.aux_classifier(z), labels, allowed)
        opt_al.zero_grad()
        loss.backward()
        opt_al.step()

    n_ce = sum(p.numel() for m in (base.backbone, base.classifier) for p in m.parameters())
    fns["Atzori CNN (CE step)"] = (atzori_ce, n_ce)
    fns["Atzori CNN (alignment step)"] = (atzori_align, sum(p.numel() for p in base.parameters()))
    return fns


def training_throughput(ws, prototypes: np.ndarray, preset: str = "quick", batch_size: int = 128,
                        n_threads: int = 1, steps: int = 10, repeats: int = 3, seed: int = 0) -> dict:
    """Windows per second of one training step of each model on the same normalised batch."""
    from myosem_core.training.stage2 import fit_normalizer

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(ws), size=min(batch_size, len(ws)), replace=False)
    norm = fit_normalizer(ws, preset_section(preset, "stage2"))
    batch = torch.from_numpy(norm.transform(ws.X[rows]))
    labels = torch.from_numpy(ws.y[rows])
    P = torch.from_numpy(np.asarray(prototypes, np.float32))
    out = {"preset": preset, "batch_size": len(rows), "threads": n_threads, "steps_per_timing": steps,
           "window_shape": list(ws.X.shape[1:]), "models": {}}
    with limit_threads(n_threads):
        fns = _step_fns(ws, P, preset, batch, labels)
        for fn, _ in fns.values():
            fn()  # warm-up (allocations, first-call overheads)
        secs = _interleaved({name: (lambda f=fn: [f() for _ in range(steps)]) for name, (fn, _) in fns.items()},
                            repeats)
        for name, (_, n_params) in fns.items():
            t = _ms(secs[name], "step", steps)
            out["models"][name] = {"windows_per_s": 1e3 * len(rows) / t["step_cpu_ms"],
                                   "windows_per_s_wall": 1e3 * len(rows) / t["step_wall_ms"], **t,
                                   "trained_parameters": int(n_params)}
    ref = out["models"]["Atzori CNN (CE step)"]["windows_per_s"]
    for m in out["models"].values():
        m["ratio_to_atzori_ce"] = m["windows_per_s"] / ref
    return out


# ------------------------------------------------------------------ inference


def inference_latency(ws, prototypes: np.ndarray, preset: str = "quick", n_single: int = 200,
                      big_batch: int = 256, seed: int = 0) -> dict:
    """Per-window latency at batch 1 on one thread, and throughput at ``big_batch`` on 1 and 2 threads."""
    from myosem_core.baselines.deep import ARCHITECTURES, AlignedBaseline
    from myosem_core.models.activation_encoder import ActivationAwareEncoder
    from myosem_core.training.stage2 import encoder_config_for, fit_normalizer
    from myosem_core.training.stage3 import Stage3Run, build_model

    torch.manual_seed(seed)
    s2cfg, s3cfg = preset_section(preset, "stage2"), preset_section(preset, "stage3")
    P = np.asarray(prototypes, np.float32)
    model = build_model(ActivationAwareEncoder(encoder_config_for(ws, s2cfg)), s3cfg, P.shape[1]).eval()
    run = Stage3Run(model, fit_normalizer(ws, s2cfg), P, tuple(ws.class_keys), s3cfg)
    base = AlignedBaseline(ARCHITECTURES["atzori-cnn"](ws.X.shape[2], ws.X.shape[1],
                                                       width=deep_config(preset).width),
                           ws.n_classes, P.shape[1]).eval()
    norm = run.normalizer
    one_raw = ws.X[:1]
    one = torch.from_numpy(norm.transform(one_raw))
    big = torch.from_numpy(norm.transform(ws.X[np.arange(big_batch) % len(ws)]))
    models = {"MyoSem (Stages 2-3)": lambda x: model(x).embedding, "Atzori CNN": base.embed}
    out = {"preset": preset, "window_shape": list(ws.X.shape[1:]), "embed_dim": int(P.shape[1]),
           "big_batch": big_batch, "models": {}}
    with torch.no_grad():
        with limit_threads(1):
            calls = {name: (lambda f=fn: f(one)) for name, fn in models.items()}
            calls["MyoSem (Stages 2-3) end to end"] = lambda: run.embed(one_raw)  # normalise a raw window, embed it
            for fn in calls.values():
                for _ in range(10):
                    fn()
            lat = _interleaved(calls, n_single)
            bigs = _interleaved({name: (lambda f=fn: f(big)) for name, fn in models.items()}, 5)
        with limit_threads(2):
            bigs2 = _interleaved({name: (lambda f=fn: f(big)) for name, fn in models.items()}, 5)
        for name in models:
            out["models"][name] = {
                **_ms(lat[name], "batch1"),
                "batch1_wall_ms_p90": 1e3 * float(np.percentile(lat[name]["wall"], 90)),
                f"batch{big_batch}_windows_per_s": 1e3 * big_batch / _ms(bigs[name], "b")["b_cpu_ms"],
                f"batch{big_batch}_windows_per_s_wall": 1e3 * big_batch / _ms(bigs[name], "b")["b_wall_ms"],
                f"batch{big_batch}_windows_per_s_wall_2threads": 1e3 * big_batch / _ms(bigs2[name], "b")["b_wall_ms"],
            }
        out["models"]["MyoSem (Stages 2-3)"].update(_ms(lat["MyoSem (Stages 2-3) end to end"], "batch1_end_to_end"))
    out["target_batch1_ms"] = 2.0
    out["meets_target"] = out["models"]["MyoSem (Stages 2-3)"]["batch1_end_to_end_cpu_ms"] < 2.0
    return out


# ------------------------------------------------------------------ search


def _write_corpus(path: Path, n: int, dim: int, seed: int, chunk: int = 100_000) -> None:
    """(n, dim) random unit float32 rows into a .npy, written chunk by chunk (never all in memory)."""
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, dim))
    rng = np.random.default_rng(seed)
    for a in range(0, n, chunk):
        block = rng.standard_normal((min(chunk, n - a), dim), dtype=np.float32)
        block /= np.linalg.norm(block, axis=1, keepdims=True)
        mm[a:a + len(block)] = block
    mm.flush()
    del mm


def search_scaling(sizes=(10_000, 100_000, 1_000_000), dim: int = 384, k: int = 5, n_queries: int = 12,
                   n_threads: int = 1, repeats: int = 5, folder: str | Path | None = None, seed: int = 0) -> dict:
    """Exact chunked top-k over memory-mapped corpora of each size; the full-sort search as the reference."""
    from myosem_core.search import DEFAULT_CHUNK_ROWS, topk

    rng = np.random.default_rng(seed + 1)
    Q = rng.standard_normal((n_queries, dim)).astype(np.float32)
    Q /= np.linalg.norm(Q, axis=1, keepdims=True)
    out = {"dim": dim, "k": k, "batch_queries": n_queries, "threads": n_threads, "chunk_rows": DEFAULT_CHUNK_ROWS,
           "corpus": "random unit vectors, float32 .npy, memory-mapped (page cache warm)", "sizes": {}}
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        for n in sizes:
            path = Path(tmp) / f"corpus-{n}.npy"
            _write_corpus(path, n, dim, seed)
            E = np.load(path, mmap_mode="r")
            topk(E, Q[0], k, threads=n_threads)  # warm the page cache
            one = _timed(lambda: topk(E, Q[0], k, threads=n_threads), repeats)
            many = _timed(lambda: topk(E, Q, k, threads=n_threads), max(2, repeats // 2))
            tracemalloc.start()
            topk(E, Q[0], k, threads=n_threads)
            _, peak_one = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            topk(E, Q, k, threads=n_threads)
            _, peak_many = tracemalloc.get_traced_memory()
            tracemalloc.stop()

            def full_sort():  # the naive way: every score, then a full sort
                s = np.asarray(E) @ Q[0]
                return np.argsort(-s, kind="stable")[:k]

            with limit_threads(n_threads, torch=False, native="blas"):
                naive = _timed(full_sort, max(2, repeats // 2))
            out["sizes"][str(n)] = {
                "n": n, "corpus_mib": n * dim * 4 / 2**20, **_ms(one, "query"), **_ms(many, "batch"),
                **_ms(naive, "full_sort_query"),
                "working_mib_one_query": peak_one / 2**20, "working_mib_batch": peak_many / 2**20,
            }
            E = None  # close the memory map before the file goes
            path.unlink()
    ns = sorted(out["sizes"], key=int)
    for a, b in zip(ns, ns[1:]):
        ta, tb = out["sizes"][a]["query_cpu_ms"], out["sizes"][b]["query_cpu_ms"]
        out["sizes"][b]["time_ratio_to_previous"] = tb / ta
        out["sizes"][b]["size_ratio_to_previous"] = int(b) / int(a)
    if len(ns) >= 2:
        x = np.log([int(n) for n in ns])
        y = np.log([out["sizes"][n]["query_cpu_ms"] for n in ns])
        out["growth_exponent"] = float(np.polyfit(x, y, 1)[0])  # latency ~ N^exponent (1 = linear)
    return out


# ------------------------------------------------------------------ comparison grid


def grid_parallel(data_dir: str | None, models=("lda", "rf", "attn-cnn-rnn", "se-cnn"), protocols=("rand", "class"),
                  seeds=(0,), jobs: int = 2, preset: str = "quick", folder: Path | None = None) -> dict:
    """Wall seconds of the grid ``models x protocols x seeds`` serially and with ``jobs`` workers (fresh runs)."""
    import os

    from myosem_experiments import grid as ex

    dataset = "ninapro-db1" if data_dir else "synthetic"
    grid = dict(models=list(models), protocols=tuple(protocols), seeds=list(seeds), preset=preset, dataset=dataset,
                data_dir=str(data_dir) if data_dir else None, progress=False)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        from myosem_core.presets import make_config

        # the window cache is built before either timing, so both read it
        ex.Context(Path(tmp) / "warm", False).data(make_config(preset, dataset, grid["data_dir"], seeds[0]), protocols[0])
        wall, results = {}, {}
        for name, n in (("serial", 1), (f"{jobs} workers", jobs)):
            t0 = time.perf_counter()
            results[name] = ex.run_experiments(**grid, runs=Path(tmp) / name.replace(" ", "-"), jobs=n)
            wall[name] = time.perf_counter() - t0
    key = lambda r: (r["model"], r["protocol"], r["seed"])  # noqa: E731
    other = {key(r): r for r in results[f"{jobs} workers"]}
    differ = [" ".join(map(str, key(r))) for r in results["serial"]
              if key(r) not in other or (r["emg_to_text"], r["text_to_emg"]) !=
              (other[key(r)]["emg_to_text"], other[key(r)]["text_to_emg"])]
    same = not differ and len(other) == len(results["serial"])
    return {"models": list(models), "protocols": list(protocols), "seeds": list(seeds), "preset": preset,
            "groups": len(protocols) * len(seeds), "jobs": jobs, "cpus_visible": os.cpu_count(),
            "serial_wall_s": wall["serial"], "parallel_wall_s": wall[f"{jobs} workers"],
            "speedup": wall["serial"] / wall[f"{jobs} workers"], "same_results": same, "differing_rows": differ}


# ------------------------------------------------------------------ book build


def book_build_times(folders=(REPO / "book" / "executed", REPO / "build" / "bench-book-quick")) -> dict:
    """Per-notebook execution seconds recorded by ``scripts/execute_notebooks.py`` (``build_info.json``)."""
    import json

    out = {}
    for folder in folders:
        info_path = Path(folder) / "build_info.json"
        if not info_path.is_file():
            continue
        info = json.loads(info_path.read_text())
        secs = info.get("notebooks_seconds", {})
        current = sorted(p.with_suffix(".ipynb").name for p in (REPO / "notebooks").glob("[0-9][0-9]_*.md"))
        key = f"{info.get('preset')}-{info.get('dataset')}"
        out[key] = {"folder": str(Path(folder).relative_to(REPO)) if Path(folder).is_relative_to(REPO) else str(folder),
                    "preset": info.get("preset"), "dataset": info.get("dataset"), "commit": info.get("commit"),
                    "built_utc": info.get("built_utc"), "notebooks": len(secs),
                    "notebooks_in_book": len(current), "covers_current_notebooks": sum(n in secs for n in current),
                    "total_s": round(sum(secs.values()), 1), "notebooks_seconds": secs}
    return out


def execute_quick_book(data_dir: str | None, out: Path = REPO / "build" / "bench-book-quick") -> float:
    """Execute every notebook with preset quick (papermill, as ``make test`` would) and return the wall time."""
    import subprocess
    import sys

    cmd = [sys.executable, str(REPO / "scripts" / "execute_notebooks.py"), "--out", str(out), "--preset", "quick"]
    if data_dir:
        cmd += ["--data-dir", str(data_dir)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO)
    return time.perf_counter() - t0
