"""Check the results of the last run against the pinned ones, or pin them (deliberately).

    python scripts/expected_results.py check  [--runs runs] [--expected tests/expected_results.json]
    python scripts/expected_results.py update [--runs runs]          # `make expected`

``make test`` runs ``check`` after the notebooks (quick preset, seed 0, real
NinaPro DB1): a number that moved beyond its tolerance fails the test command
with one line per value. See :mod:`myosem_experiments.evaluation.expected`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from myosem_core.errors import DataError
from myosem_core.paths import runs_root
from myosem_experiments.evaluation.expected import (
    collect,
    compare,
    load_expected,
    write_expected,
)

REPO = Path(__file__).resolve().parents[1]
EXPECTED = REPO / "tests" / "expected_results.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("action", choices=["check", "update"])
    ap.add_argument("--runs", default=None, help="runs folder (default: $MYOSEM_RUNS or <repo>/runs)")
    ap.add_argument("--expected", type=Path, default=EXPECTED)
    ap.add_argument("--dataset", default="ninapro-db1")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default=None)
    args = ap.parse_args(argv)
    runs = runs_root(args.runs)
    try:
        if args.action == "update":
            produced = collect(runs, args.dataset, args.preset, args.seed, args.data_dir)
            write_expected(args.expected, produced, args.dataset, args.preset, args.seed,
                           command="python scripts/expected_results.py update")
            print(f"pinned {len(produced)} results ({sum(map(len, produced.values()))} values) -> {args.expected}")
            return 0
        expected = load_expected(args.expected)
        produced = collect(runs, expected["dataset"], expected["preset"], expected["seed"], args.data_dir)
        result = compare(expected, produced)
    except DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(result.report())
    if not result.ok:
        print(f"\nerror: results differ from {args.expected}. If the change is intended, pin the new numbers "
              "with `make expected` and commit the file with the reason.", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
