"""Free-text benchmark of the Stage-1 text space: frozen vs fine-tuned, overall and per kind of phrasing.

    python benchmarks/free_text.py --threads 1                               # the development set (choose settings here)
    python benchmarks/free_text.py --threads 1 --set query_synonyms=60 query_epochs=60   # a candidate, on the dev set
    python benchmarks/free_text.py --threads 1 --benchmark                   # the held-out benchmark, current preset

Trains (or reads, with --runs) Stage 1 on NinaPro DB1 exercise 1 (``rand`` split: the
text space does not depend on which EMG windows train later) and scores
``myosem_core/text/benchmarks/free_text_dev.yaml`` (default) or, with
``--benchmark``, ``free_text_ninapro.yaml`` against the 12 class prototypes:
R@1 / R@3 / MRR before (frozen packaged encoder) and after fine-tuning. Settings
are chosen on the development set; ``--benchmark`` is run once the choice is made.
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
from myosem_core.text.stage1 import load_or_train_stage1
from myosem_core.threads import set_threads
from myosem_core.presets import preset_section
from dataclasses import replace


def table(res: dict, name: str) -> str:
    b, a = res["free_text"]["before"][name], res["free_text"]["after"][name]
    lines = [f"{'group':16} {'n':>4} {'R@1 frozen':>10} {'R@1 tuned':>10} {'R@3 frozen':>10} {'R@3 tuned':>10} "
             f"{'MRR frozen':>10} {'MRR tuned':>10}"]
    rows = [("all", b["all"], a["all"])] + [(k, b["by_kind"][k], a["by_kind"][k]) for k in a["by_kind"]]
    for g, x, y in rows:
        lines.append(f"{g:16} {y['n_queries']:4d} {100 * x['R@1']:10.1f} {100 * y['R@1']:10.1f} {100 * x['R@3']:10.1f} "
                     f"{100 * y['R@3']:10.1f} {x['MRR']:10.3f} {y['MRR']:10.3f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data/ninapro-db1"))
    ap.add_argument("--protocol", default="rand")
    ap.add_argument("--runs", default=None, help="runs root (default: a temporary folder, so Stage 1 always trains)")
    ap.add_argument("--benchmark", action="store_true", help="score the held-out benchmark instead of the dev set")
    ap.add_argument("--misses", action="store_true", help="list the sentences ranked wrong after fine-tuning")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--set", nargs="*", default=[], help="Stage-1 overrides as key=json, e.g. query_synonyms=40")
    args = ap.parse_args(argv)
    set_threads(args.threads)
    cfg = make_config(args.preset, "ninapro-db1", args.data_dir)
    ws = load_config_windows(cfg)
    overrides = {k: json.loads(v) for k, v in (s.split("=", 1) for s in args.set)}
    if "prototype_views" in overrides:
        overrides["prototype_views"] = tuple(overrides["prototype_views"])
    s1 = replace(preset_section(args.preset, "stage1"), seed=cfg.seed, **overrides)
    runs = Path(args.runs) if args.runs else Path(tempfile.mkdtemp(prefix="free-text-"))
    t0 = time.perf_counter()
    space = load_or_train_stage1(ws, make_split(ws, args.protocol), s1, runs, progress=False)
    res = space.results
    name = "benchmark" if args.benchmark else "dev"
    print(f"# free text ({name}), DB1 exercise 1, {len(ws.class_keys)} candidates, preset {args.preset}, "
          f"overrides {overrides}; Stage-1 training {res['timing']['train_seconds']:.0f} s "
          f"({torch.get_num_threads()} threads), call {time.perf_counter() - t0:.0f} s; run {space.run_dir}")
    print(table(res, name))
    hb, ha = res["before"]["retrieval"]["all"], res["after"]["retrieval"]["all"]
    print(f"catalog held-out paraphrases R@1 {hb['R@1']:.3f} -> {ha['R@1']:.3f}, MRR {hb['MRR']:.3f} -> {ha['MRR']:.3f}")
    if args.misses:
        for m in res["free_text"]["after"][name]["misses"]:
            print(f"  [{m['kind']:13}] {m['text']!r}: {m['class_key']} ranked {m['rank']}, top {m['top1']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
