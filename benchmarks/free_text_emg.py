"""Free text -> EMG end to end: the benchmark sentences query the ``rand`` test windows of DB1 exercise 1.

    python benchmarks/free_text_emg.py --threads 1 [--preset quick] [--set dev]

Trains (or reads from the runs folder) Stages 1-3 with the preset, indexes the test
windows with :class:`~myosem_core.retrieval.RetrievalIndex` (what ``myosem query``
and notebook 09 use) and prints, over the sentences, the mean share of their top-5
windows that show the right movement, overall and per kind of phrasing, plus the
EMG<->text metrics of the run (notebook 03's table) for the no-regression check.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from myosem_core.presets import make_config
from myosem_core.retrieval import RetrievalIndex, free_text_to_emg
from myosem_core.text.benchmark import load_benchmark
from myosem_core.threads import set_threads
from myosem_experiments.pipeline import run_myosem


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data/ninapro-db1"))
    ap.add_argument("--protocol", default="rand")
    ap.add_argument("--runs", default=None)
    ap.add_argument("--set", default="benchmark", choices=["benchmark", "dev"])
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    cfg = make_config(args.preset, "ninapro-db1", args.data_dir)
    o = run_myosem(cfg, args.protocol, runs=args.runs, baselines=(), progress=False)
    test = o.ws.subset(o.split.test)
    index = RetrievalIndex.from_run(o.stage3, test, o.text_space)
    sents = load_benchmark("free_text_ninapro" if args.set == "benchmark" else "free_text_dev")
    r = free_text_to_emg(index, sents, k=5)
    print(f"# free text -> EMG, {args.set} sentences ({r['n_sentences']}), {len(test)} `{args.protocol}` test windows, "
          f"preset {args.preset}; Stage-1 run {o.text_space.run_dir.name}")
    print(f"top-5 windows of the right movement: {100 * r['top5_right']:.1f} %  (top-1 {100 * r['top1_right']:.1f} %)")
    for kind, v in r["by_kind"].items():
        print(f"  {kind:14} {100 * v:5.1f} %")
    print("worst:", "; ".join(f"{w['text']!r} {w['share']:.1f}" for w in r["worst"][:5]))
    m = o.results["myosem"]
    e, t = m["emg_to_text"], m["text_to_emg"]
    print("MyoSem E->T " + " ".join(f"{k} {100 * e[k]:.1f}" for k in ("R@1", "R@3", "R@5", "MRR"))
          + " | T->E " + " ".join(f"{k} {100 * t[k]:.1f}" for k in ("R@1", "R@3", "MRR")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
