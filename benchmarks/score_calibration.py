"""How the shown probabilities were chosen: cross-validation on development data only.

    python benchmarks/score_calibration.py --threads 1 [--preset quick] [--repeats 12]

Reads (or trains) the ``rand`` MyoSem of DB1 exercise 1, then splits the development sentences (free-text
development set + the catalog's held-out paraphrases) into 3 folds and the validation windows into 3 folds
of whole subjects, ``--repeats`` times. Each recipe is fitted on two sentence folds x two window folds and
scored on the third of each: the expected calibration error of the probabilities shown beside the top-5
windows of the held-out free-text development sentences (plain and varied ranking). Recipes: softmax
temperatures alone (text temperature on the development sentences, window temperature on the validation
windows), and temperatures + the isotonic score map (:class:`~myosem_core.score_calibration.ScoreMap`), each
fitted on all development sentences or on the free-text ones only. No test window or test sentence is read.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from myosem_core.presets import make_config
from myosem_core.retrieval import spread_over_repetitions
from myosem_core.score_calibration import ScoreMap, expected_calibration_error, fit_temperature
from myosem_core.scoring import unit_rows, window_posteriors
from myosem_core.text.benchmark import load_benchmark
from myosem_core.text.query import development_sentences, query_reader
from myosem_core.threads import set_threads
from myosem_experiments.pipeline import run_myosem


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/data/ninapro-db1"))
    ap.add_argument("--runs", default=None)
    ap.add_argument("--repeats", type=int, default=12)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    set_threads(args.threads)
    o = run_myosem(make_config(args.preset, "ninapro-db1", args.data_dir), "rand", runs=args.runs, baselines=(),
                   progress=False)
    keys, P = tuple(o.stage3.class_keys), np.asarray(o.stage3.prototypes, np.float64)
    val = o.ws.subset(o.split.val)
    Cv = unit_rows(np.asarray(o.stage3.embed(val.X), np.float64)) @ P.T
    yv = np.array([keys.index(k) for k in val.labels])
    texts, ys = development_sentences(keys)
    S = query_reader(o.text_space, keys).class_cosines(texts)
    free = np.isin(texts, [s.text for s in load_benchmark("free_text_dev")])
    subjects = np.unique(val.subject)
    recipes = {f"{how}, fitted on {which}": (how, which) for how in ("temperatures", "temperatures + score map")
               for which in ("all development sentences", "free-text development only")}
    shown = {(r, v): ([], []) for r in recipes for v in ("plain", "varied")}
    for rep in range(args.repeats):
        rng = np.random.default_rng(rep)
        sfold = np.array([dict(zip(rng.permutation(subjects), np.arange(len(subjects)) % 3))[s] for s in val.subject])
        tfold = rng.permutation(len(texts)) % 3
        for a in range(3):
            for b in range(3):
                tw, ew = sfold != b, sfold == b
                for name, (how, which) in recipes.items():
                    fit_t = (tfold != a) & (free if which.startswith("free") else True)
                    Tt, Te = fit_temperature(S[fit_t], ys[fit_t]), fit_temperature(Cv[tw], yv[tw])
                    q = window_posteriors(S, Tt)
                    score_fit, score_eval = q[fit_t] @ window_posteriors(Cv[tw], Te).T, None
                    m = ScoreMap.fit(score_fit.ravel(), (yv[tw][None] == ys[fit_t][:, None]).ravel()) \
                        if how.endswith("map") else None
                    ev = (tfold == a) & free
                    score_eval = q[ev] @ window_posteriors(Cv[ew], Te).T
                    right = yv[ew][None] == ys[ev][:, None]
                    for i in range(len(score_eval)):
                        order = np.argsort(-score_eval[i], kind="stable")
                        for v, top in (("plain", order[:5]),
                                       ("varied", spread_over_repetitions(order, val.subject[ew], val.repetition[ew], 5))):
                            p = score_eval[i, top] if m is None else m(score_eval[i, top])
                            shown[(name, v)][0].append(p)
                            shown[(name, v)][1].append(right[i, top])
    print(f"# ECE of the shown top-5 probabilities, held-out free-text development sentences x held-out validation "
          f"subjects; {args.repeats} x 3 x 3 folds, preset {args.preset}")
    print(f"{'recipe':66} {'plain':>7} {'varied':>7}")
    for name in recipes:
        e = [expected_calibration_error(np.concatenate(shown[(name, v)][0]), np.concatenate(shown[(name, v)][1]))
             for v in ("plain", "varied")]
        print(f"{name:66} {e[0]:7.3f} {e[1]:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
