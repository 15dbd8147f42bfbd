"""The book's headline findings, computed from the result files: the first page says what the chapters found.

    python -m myosem_experiments.report.findings --preset book --data-dir ../shared/data/ninapro-db1 \
        --out book/executed/findings.md

- who leads each protocol and direction (EMG->text and text->EMG R@1, mean over the preset's seeds) and by
  how much; where MyoSem does not lead, by how much it trails;
- which of MyoSem's parts help: each ablation's R@1 against MyoSem's, per protocol;
- the text side: Stage 1's fine-tuned prototypes against frozen-encoder and TF-IDF prototypes;
- each paper's claim on this data: MyoSem ahead of every baseline across people, EMBridge ahead of CPEP, AEMG's
  pretraining ahead of the same encoder untrained (from the AEMG study, when its results are given).

A difference is called a lead only when it exceeds the spread over seeds (the larger of the two stds); otherwise
the models are said to tie.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..evaluation.aemg import PRETRAINED, RANDOM
from .comparison import comparison_table

DIRECTION_NAMES = {"emg_to_text": "EMG→text", "text_to_emg": "text→EMG"}
EMG_ROWS = ("myosem", "tcn", "attn-cnn-rnn", "cnn-bilstm", "se-cnn", "atzori-cnn", "plain-cnn", "lda", "rf", "cpep",
            "embridge", "aemg")
ABLATIONS = ("myosem-no-activation", "myosem-no-queries", "myosem-no-pretrain", "myosem-no-vq")
TEXT_ROWS = ("text-frozen", "text-label", "text-tfidf")


def _cells(results, models, protocols, direction, labels):
    table = comparison_table(results, [m for m in models if any(r["model"] == m for r in results)], protocols,
                             direction, labels=labels)
    return table, {(m, p): (100 * table.mean.at[m, (p, "R@1")], 100 * np.nan_to_num(table.std.at[m, (p, "R@1")]))
                   for m in table.models for p in protocols if not np.isnan(table.mean.at[m, (p, "R@1")])}


def _compare(a: tuple[float, float], b: tuple[float, float]) -> float | None:
    """a - b when it exceeds both spreads over seeds, else None (a tie)."""
    gap = a[0] - b[0]
    return gap if abs(gap) > max(a[1], b[1]) else None


def leaders(results: list[dict], protocols, labels: dict) -> list[str]:
    """Per protocol and direction: the leader by R@1, its margin, and MyoSem's place."""
    out = []
    for direction, dname in DIRECTION_NAMES.items():
        _, cells = _cells(results, EMG_ROWS, protocols, direction, labels)
        for p in protocols:
            ranked = sorted(((v, m) for (m, pp), v in cells.items() if pp == p), key=lambda t: -t[0][0])
            if len(ranked) < 2:
                continue
            (best, m1), (second, m2) = ranked[0], ranked[1]
            gap = _compare(best, second)
            lead = (f"{labels.get(m1, m1)} leads with {best[0]:.1f} % R@1, {gap:.1f} points ahead of "
                    f"{labels.get(m2, m2)}" if gap is not None else
                    f"{labels.get(m1, m1)} ({best[0]:.1f} %) and {labels.get(m2, m2)} ({second[0]:.1f} %) tie within "
                    "the spread over seeds")
            if m1 != "myosem" and ("myosem", p) in cells:
                mine = cells[("myosem", p)]
                rank = [m for _, m in ranked].index("myosem") + 1
                lead += f"; MyoSem ranks {rank} of {len(ranked)} with {mine[0]:.1f} % ({mine[0] - best[0]:+.1f})"
            out.append(f"**{p}, {dname}:** {lead}.")
    return out


def module_effects(results: list[dict], protocols, labels: dict) -> list[str]:
    """Each ablation's EMG->text R@1 against MyoSem's: which parts help on this data."""
    _, cells = _cells(results, ("myosem", *ABLATIONS), protocols, "emg_to_text", labels)
    out = []
    for m in ABLATIONS:
        parts = []
        for p in protocols:
            if ("myosem", p) in cells and (m, p) in cells:
                gap = _compare(cells[("myosem", p)], cells[(m, p)])
                parts.append(f"{p} {cells[(m, p)][0] - cells[('myosem', p)][0]:+.1f}" + ("" if gap is not None else " (tie)"))
        if parts:
            helps = [p for p in protocols if ("myosem", p) in cells and (m, p) in cells
                     and (_compare(cells[("myosem", p)], cells[(m, p)]) or 0) > 0]
            verdict = (f"the part helps under {', '.join(helps)}" if helps else "no protocol shows the part helping")
            out.append(f"**{labels.get(m, m)}:** EMG→text R@1 against MyoSem {', '.join(parts)} points; {verdict}.")
    return out


def text_side(results: list[dict], protocols, labels: dict) -> list[str]:
    """Stage 1's fine-tuned prototypes against frozen-encoder, label-only and TF-IDF ones, same EMG encoder."""
    _, cells = _cells(results, ("myosem", *TEXT_ROWS), protocols, "emg_to_text", labels)
    out = []
    for p in protocols:
        if ("myosem", p) not in cells:
            continue
        others = [(m, cells[(m, p)]) for m in TEXT_ROWS if (m, p) in cells]
        if not others:
            continue
        mine = cells[("myosem", p)]
        better = [labels.get(m, m) for m, v in others if (_compare(mine, v) or 0) > 0]
        worse = [labels.get(m, m) for m, v in others if (_compare(v, mine) or 0) > 0]
        tied = [labels.get(m, m) for m, v in others if _compare(mine, v) is None]
        parts = [f"ahead of {', '.join(better)}" if better else "", f"behind {', '.join(worse)}" if worse else "",
                 f"tied with {', '.join(tied)}" if tied else ""]
        out.append(f"**{p}:** Stage 1's prototypes ({mine[0]:.1f} % EMG→text R@1) are "
                   + "; ".join(x for x in parts if x) + ".")
    return out


def claims(results: list[dict], protocols, labels: dict, aemg: dict | None = None) -> list[str]:
    """Where each paper's central claim holds on this data and where it does not."""
    out = []
    _, e2t = _cells(results, EMG_ROWS, protocols, "emg_to_text", labels)
    if "user" in protocols and ("myosem", "user") in e2t:
        mine = e2t[("myosem", "user")]
        ahead = [m for (m, p), v in e2t.items() if p == "user" and m != "myosem" and (_compare(mine, v) or 0) > 0]
        not_ahead = [labels.get(m, m) for (m, p), v in e2t.items()
                     if p == "user" and m != "myosem" and m not in ahead]
        holds = not not_ahead
        out.append("**MyoSem, generalisation to unseen users:** " + (
            f"holds: on `user` MyoSem's EMG→text R@1 ({mine[0]:.1f} %) is ahead of every other model."
            if holds else f"does not hold: on `user` MyoSem ({mine[0]:.1f} % EMG→text R@1) is not ahead of "
                          f"{', '.join(not_ahead)}."))
    for p in protocols:
        if ("embridge", p) in e2t and ("cpep", p) in e2t:
            gap = _compare(e2t[("embridge", p)], e2t[("cpep", p)])
            out.append(f"**EMBridge ahead of CPEP ({p}):** " + (
                "holds" if (gap or 0) > 0 else "does not hold") +
                f" in retrieval: EMBridge {e2t[('embridge', p)][0]:.1f} %, CPEP {e2t[('cpep', p)][0]:.1f} % EMG→text R@1"
                + ("" if gap is not None else " (a tie within the spread over seeds)") + ".")
    if aemg:
        zero = aemg.get("loso", {}).get("zero_shot", {})
        pre = {k.split("·")[-1].strip(): v for k, v in zero.items() if k.startswith(PRETRAINED)}
        rnd = {k.split("·")[-1].strip(): v for k, v in zero.items() if k.startswith(RANDOM)}
        for kp in sorted(set(pre) & set(rnd)):
            vp, vr = pre[kp], rnd[kp]
            gap = _compare((100 * vp["mean"], 100 * vp["std"]), (100 * vr["mean"], 100 * vr["std"]))
            out.append(f"**AEMG's pretraining ({kp}):** "
                       + ("holds" if (gap or 0) > 0 else "does not hold")
                       + f": leave-one-subject-out balanced accuracy {100 * vp['mean']:.1f} % pretrained against "
                         f"{100 * vr['mean']:.1f} % untrained" + ("" if gap is not None else " (a tie)") + ".")
    return out


def findings_markdown(results: list[dict], protocols, seeds, labels: dict, aemg: dict | None = None,
                      synthetic: bool = False) -> str:
    """The first page's findings section (Markdown), every figure read from ``results`` (and ``aemg``)."""
    tag = " These results are on the SYNTHETIC stand-in data, not on recordings." if synthetic else ""
    head = (f"## What the book finds\n\nComputed from the comparison grid's result files ({len(results)} results; "
            f"protocols {', '.join(protocols)}; seeds {', '.join(map(str, seeds))}; R@1 in percent, mean over "
            f"seeds; a lead counts only beyond the spread over seeds).{tag}\n")
    sections = [("Who leads", leaders(results, protocols, labels)),
                ("Which parts of MyoSem help", module_effects(results, protocols, labels)),
                ("The text side", text_side(results, protocols, labels)),
                ("The papers' claims on this data", claims(results, protocols, labels, aemg))]
    body = [f"### {title}\n\n" + "\n".join(f"- {line}" for line in lines) for title, lines in sections if lines]
    if not body:
        return head + "\nNo result of the comparison grid yet: `make book` (or `python -m myosem_experiments.grid`) writes them.\n"
    return head + "\n" + "\n\n".join(body) + "\n"


def main(argv=None) -> int:
    from myosem_core.io import read_json, write_text
    from myosem_core.presets import report_protocols, report_seeds

    from ..grid import MODELS, current_results, experiment_folder

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--dataset", default=None)
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--runs", default=None)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    dataset = args.dataset or ("ninapro-db1" if args.data_dir else "synthetic")
    protocols, seeds = list(report_protocols(args.preset)), list(report_seeds(args.preset))
    folder = experiment_folder(args.preset, dataset, args.data_dir, args.runs)
    results = [r for r in current_results(folder, MODELS, args.preset, dataset, args.data_dir)
               if r["seed"] in seeds and r["protocol"] in protocols]
    aemg = None
    from myosem_core.paths import runs_root

    evaluations = sorted(runs_root(args.runs).glob(f"aemg-eval-{dataset}-{args.preset}-*/results.json"),
                         key=lambda p: p.stat().st_mtime)
    if evaluations:
        aemg = read_json(evaluations[-1])
    labels = {k: s.label for k, s in MODELS.items()}
    write_text(args.out, findings_markdown(results, protocols, seeds, labels, aemg, dataset == "synthetic"))
    print(f"findings from {len(results)} results -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
