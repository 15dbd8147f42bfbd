"""Free text -> EMG end to end: the benchmark sentences query the ``rand`` test windows of DB1 exercise 1.

    python benchmarks/free_text_emg.py --threads 1 [--preset quick]

Trains (or reads from the runs folder) Stages 1-3 with the preset, indexes the test windows with
:class:`~myosem_core.retrieval.RetrievalIndex` calibrated on the validation windows (what ``myosem query``
and notebook 09 use) and prints the free-text report
(:func:`myosem_experiments.evaluation.free_text.free_text_evaluation`): off-topic text refused, free-text
sentences falsely refused, R@1 and the share of right windows among the top 5 on the sentences read as known,
the expected calibration error of the shown probabilities, plain and varied; the same refusals on the
development sets (where every setting was chosen); and the EMG<->text metrics of the run (notebook 03's table)
for the no-regression check.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from myosem_core.presets import make_config
from myosem_core.threads import set_threads
from myosem_experiments.evaluation.free_text import free_text_evaluation
from myosem_experiments.pipeline import run_myosem
from myosem_experiments.report.free_text import free_text_reading


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data/ninapro-db1"))
    ap.add_argument("--protocol", default="rand")
    ap.add_argument("--runs", default=None)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    cfg = make_config(args.preset, "ninapro-db1", args.data_dir)
    o = run_myosem(cfg, args.protocol, runs=args.runs, baselines=(), progress=False)
    t0 = time.perf_counter()
    _, r = free_text_evaluation(o)
    print(f"# free text -> EMG, {r['n_test_windows']} `{args.protocol}` test windows, calibrated on "
          f"{r['n_calibration_windows']} validation windows, preset {args.preset}; Stage-1 run "
          f"{o.text_space.run_dir.name}; report in {time.perf_counter() - t0:.0f} s")
    for line in free_text_reading(r):
        print("-", line)
    dev = r["abstention"]["dev"]
    print(f"- development sets: {100 * dev['off_topic']['abstained']:.1f} % of {dev['off_topic']['n']} off-topic "
          f"inputs refused, {100 * dev['free_text']['falsely_abstained']:.1f} % of {dev['free_text']['n']} sentences "
          f"falsely refused, R@1 {100 * dev['free_text']['known']['R@1']:.1f} %")
    for kind, v in r["end_to_end"]["plain"]["by_kind"].items():
        print(f"  top-5 right, {kind:14} {100 * v:5.1f} %")
    m = o.results["myosem"]
    e, t = m["emg_to_text"], m["text_to_emg"]
    print("MyoSem E->T " + " ".join(f"{k} {100 * e[k]:.1f}" for k in ("R@1", "R@3", "R@5", "MRR"))
          + " | T->E " + " ".join(f"{k} {100 * t[k]:.1f}" for k in ("R@1", "R@3", "MRR")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
