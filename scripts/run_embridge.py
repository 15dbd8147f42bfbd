"""Train (or read back) every EMBridge / CPEP run of notebook 07 and print its tables.

    .venv/bin/python scripts/run_embridge.py --preset full --data-dir ../shared/data/ninapro-db1

Runs are cached under --runs (default: runs/) by config hash; the tables come from the results JSON.
"""

from __future__ import annotations

import argparse

import pandas as pd

from myosem_core.io import read_json
from myosem_core.prepare import load_config_windows
from myosem_core.presets import make_config, preset_names
from myosem_core.threads import set_threads
from myosem_experiments.report import embridge as rep
from myosem_experiments.evaluation.embridge import run_embridge_experiments
from myosem_core.presets import preset_section


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="quick", choices=preset_names())
    ap.add_argument("--dataset", default="ninapro-db1")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--runs", default=None, help="runs folder (default: $MYOSEM_RUNS or <repo>/runs)")
    args = ap.parse_args(argv)
    set_threads(1)
    data_preset = "full" if args.preset == "paper" else args.preset
    cfg = make_config(data_preset, args.dataset, args.data_dir, args.seed)
    ws = load_config_windows(cfg)
    out = run_embridge_experiments(cfg, ws, preset_section(args.preset, "embridge"), runs=args.runs)
    res = read_json(out["path"])
    pd.set_option("display.width", 200, "display.max_columns", 20)
    print("\nMain table (balanced accuracy)\n", rep.main_table(res).round(3))
    print("\nAblations\n", rep.ablation_table(res).round(3))
    for table, param in (("batch_size", "batch_size"), ("data_efficiency", "data_fraction")):
        g = rep.grid_table(res, table, param)
        print(f"\n{table}\n", g.pivot_table(index=["model", param], columns=["set", "metric"],
                                            values="balanced_accuracy").round(3))
    s = rep.sensitivity_table(res)
    print("\nsensitivity\n", s.pivot_table(index=["param", "value"], columns=["set", "metric"],
                                           values="balanced_accuracy").round(3))
    print("\ntiming\n", rep.run_times(res).round(1))
    print(f"\ntotal {res['total_seconds'] / 60:.1f} min -> {out['path']}")


if __name__ == "__main__":
    main()
