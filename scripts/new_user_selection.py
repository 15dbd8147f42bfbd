"""Choose MyoSem's new-user methods on development subjects, then score the choice once on the test users.

    .venv/bin/python scripts/new_user_selection.py --data-dir ../shared/data/ninapro-db1 --seeds 0 1 2
    .venv/bin/python scripts/new_user_selection.py --data-dir ../shared/data/ninapro-db1 --seeds 0 1 2 --test

The ``user`` protocol's new-user settings (``nothing``, ``unlabeled``, ``one-repetition``) all evaluate
repetitions 4-10 of the test users. Without ``--test`` every training candidate and adaptation of
:mod:`myosem_experiments.evaluation.new_user` is scored on the development split (train S1-S4, S7-S12,
test S13-S16; S17-S20 are never read), MyoSem beside LDA on the same windows. ``--test`` then takes,
per setting, the method with the best mean development EMG->text R@1 (:func:`choose`) and scores it on
the real split (train S1-S4, S7-S16, test S17-S20), with LDA and the random forest. Rows accumulate in
``book/results/new-user-<preset>.json`` (a rerun replaces only the rows it recomputes), which notebook 03
reads; trained models are cached in the run store as usual.

``--test --choice-from FILE`` scores the methods chosen in another file's development rows, so a method chosen
at the ``quick`` preset is scored at the ``book`` preset without a second selection::

    .venv/bin/python scripts/new_user_selection.py --preset book --test --choice-from book/results/new-user-quick.json

``--test --check-fold S1-S4`` scores the chosen methods on other DB1 users instead of S17-S20, trained on the other
14 subjects (:data:`~myosem_experiments.evaluation.new_user.CHECK_FOLDS`); their rows have the stage
``check S1-S4`` and choose nothing.
"""

from __future__ import annotations

import argparse
import sys

from myosem_core.io import read_json, write_json
from myosem_core.threads import set_threads
from myosem_experiments.evaluation.new_user import (ADAPTATIONS, CANDIDATES, CHECK_FOLDS, DEV_SPLIT, SETTINGS,
                                                    check_stage, choose, merge_rows, run_selection, run_test,
                                                    selection_path, summarise)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="ninapro-db1")
    ap.add_argument("--data-dir", default="../shared/data/ninapro-db1")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--candidates", nargs="+", default=None, choices=list(CANDIDATES))
    ap.add_argument("--adaptations", nargs="+", default=None, choices=list(ADAPTATIONS))
    ap.add_argument("--settings", nargs="+", default=None, choices=list(SETTINGS),
                    help="only these new-user settings (default: all)")
    ap.add_argument("--test", action="store_true", help="score each setting's chosen method on the test users")
    ap.add_argument("--check-fold", default=None, choices=list(CHECK_FOLDS),
                    help="with --test: score the chosen methods on these other DB1 users instead of S17-S20")
    ap.add_argument("--runs", default=None)
    ap.add_argument("--out", default=None, help="result file (default book/results/new-user-<preset>.json)")
    ap.add_argument("--choice-from", default=None,
                    help="with --test: the selection file whose development rows choose the methods (default: --out)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    path = selection_path(args.preset, args.out)
    saved = read_json(path) if path.is_file() else {"rows": []}
    common = dict(preset=args.preset, dataset=args.dataset, data_dir=args.data_dir, runs=args.runs)
    if (args.choice_from or args.check_fold) and not args.test:
        ap.error("--choice-from and --check-fold only apply with --test")
    chooser = read_json(args.choice_from) if args.choice_from else saved
    if args.test:
        choice = choose(chooser["rows"])
        if not choice:
            print(f"no development rows in {args.choice_from or path}: run without --test first", file=sys.stderr)
            return 1
        stage = check_stage(args.check_fold) if args.check_fold else "test"
        fresh = run_test(choice, args.seeds, settings=args.settings, stage=stage, **common)
    else:
        fresh = run_selection(args.candidates, args.seeds, args.adaptations, args.settings, **common)
    rows = merge_rows(saved["rows"], fresh)
    choice = choose(rows) or choose(chooser["rows"])
    write_json(path, {"preset": args.preset, "dataset": args.dataset, "dev_split": DEV_SPLIT,
                      "candidates": {k: {"note": c.note, "calibration": c.calibration, "stage2": list(c.stage2),
                                         "stage3": list(c.stage3), "val_subjects": c.val_subjects,
                                         "members": c.members}
                                     for k, c in CANDIDATES.items()},
                      "rows": rows, "choice": choice,
                      "chosen_in": str(args.choice_from) if args.choice_from else saved.get("chosen_in")})
    for s in summarise(rows):
        print(f"{s['stage']:4s} {s['setting']:15s} {s['candidate']:34s} {s['adaptation']:11s} {s['model']:7s} "
              f"R@1 {100 * s['E→T R@1']:5.1f} ± {100 * s['E→T R@1 std']:4.1f}  R@3 {100 * s['E→T R@3']:5.1f}  "
              f"T→E R@1 {100 * s['T→E R@1']:5.1f}  seeds {s['seeds']}")
    for setting, c in choice.items():
        print(f"chosen for {setting}: {c['candidate']} + {c['adaptation']} (dev R@1 {100 * c['E→T R@1']:.1f})")
    print("written", path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
