"""Stage 1 on real data: held-out paraphrase retrieval before vs after fine-tuning, and training time.

    python benchmarks/text_stage1.py --preset quick --data-dir ../shared/data/ninapro-db1 [--runs DIR] [--validation] [--threads N]

Trains (or reads, when the run folder exists) the Stage-1 text space for the
``rand`` and ``class`` protocols and prints R@1 / MRR of the held-out
paraphrases against the class prototypes, frozen encoder vs fine-tuned, with
the measured training time. ``--validation`` instead holds back the last two
*training* paraphrases of every class as queries and drops the catalog's
held-out paraphrases: the honest way to choose Stage-1 settings without looking
at the test paraphrases (it always trains, in a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

from myosem_core.data import make_split
from myosem_core.prepare import load_config_windows
from myosem_core.presets import make_config
from myosem_core.text.stage1 import load_or_train_stage1, train_stage1
from myosem_core.text.views import build_views, validation_views
from myosem_core.threads import set_threads
from myosem_core.presets import preset_section
from dataclasses import replace


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--dataset", default="ninapro-db1")
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data/ninapro-db1"))
    ap.add_argument("--protocols", nargs="+", default=["rand", "class"])
    ap.add_argument("--runs", default=None, help="runs root (default: a temporary folder, so Stage 1 always trains)")
    ap.add_argument("--validation", action="store_true", help="score on held-back training paraphrases instead")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (1 on a shared machine)")
    ap.add_argument("--set", nargs="*", default=[], help="Stage-1 overrides as key=json, e.g. train_layers=3")
    args = ap.parse_args(argv)
    set_threads(args.threads)

    cfg = make_config(args.preset, args.dataset, args.data_dir if args.dataset != "synthetic" else None)
    ws = load_config_windows(cfg)
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    s1 = replace(preset_section(args.preset, "stage1"), seed=cfg.seed, **overrides)
    runs = Path(args.runs) if args.runs else Path(tempfile.mkdtemp(prefix="stage1-bench-"))
    print(f"# Stage 1, {args.dataset}, preset {args.preset}, torch threads {torch.get_num_threads()}, "
          f"{'validation paraphrases' if args.validation else 'held-out test paraphrases'}; overrides {overrides}")
    print(f"{'protocol':8} {'queries':24} {'R@1 before':>10} {'R@1 after':>10} {'MRR before':>10} {'MRR after':>10}")
    for proto in args.protocols:
        split = make_split(ws, proto)
        t0 = time.perf_counter()
        if args.validation:
            views = validation_views(build_views(ws, split, s1.process), 2)
            space = train_stage1(s1, ws, split, views, Path(tempfile.mkdtemp(dir=runs)), progress=False)
        else:
            space = load_or_train_stage1(ws, split, s1, runs, progress=False)
        wall = time.perf_counter() - t0
        res = space.results
        for group, r in res["after"]["retrieval"].items():
            if group == "ranks":
                continue
            b = res["before"]["retrieval"][group]
            print(f"{proto:8} {group:24} {b['R@1']:10.3f} {r['R@1']:10.3f} {b['MRR']:10.3f} {r['MRR']:10.3f}")
        t = res["timing"]
        print(f"{proto:8} training {t['train_seconds']:.1f} s wall, {t.get('train_cpu_seconds', float('nan')):.1f} s CPU "
              f"({t['steps']} steps, {t['torch_threads']} threads, 1-min load {t.get('load_average')}); "
              f"whole call {wall:.1f} s; run folder {space.run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
