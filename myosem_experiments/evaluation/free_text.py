"""Free text measured as a user meets it (chapter 09, ``benchmarks/free_text_emg.py``): refusals, the end-to-end
ranking, how calibrated the shown probabilities are, and varied results.

    index, report = free_text_evaluation(out)      # out: run_myosem(cfg, "rand", ...)
    report["abstention"]["benchmark"]["off_topic"]["abstained"], report["calibration"]["plain"]["ece"]

The index holds the protocol's test windows; ``p(class | window)``'s temperature and the shown probabilities
are fitted on its validation windows with the development sentences, the reader (what is refused) on
development text only (:mod:`myosem_core.text.query`). The test sentences (free-text and off-topic benchmarks)
are read once, after every choice. The report is written to ``<Stage-3 run>/free-text-report.json``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from myosem_core.io import write_json
from myosem_core.retrieval import RetrievalIndex, free_text_to_emg
from myosem_core.score_calibration import expected_calibration_error, reliability
from myosem_core.text.benchmark import BENCHMARKS, family_of, load_benchmark, load_off_topic

#: What the issue asks of free text (fractions): off-topic text refused, free-text sentences falsely refused,
#: R@1 and end-to-end top-5 share on the sentences read as known, ECE of the shown probabilities.
TARGETS = {"off_topic_abstained": 0.95, "falsely_abstained": 0.02, "R@1": 0.90, "top5_right": 0.90, "ece": 0.05}
RELIABILITY_BINS = 10


def free_text_evaluation(out, k: int = 5, descriptions: dict | None = None) -> tuple[RetrievalIndex, dict]:
    """The calibrated index of ``out``'s test windows and the free-text report (see the module docstring)."""
    test, val = out.ws.subset(out.split.test), out.ws.subset(out.split.val)
    if descriptions is None:
        descriptions = {v.key: v.canonical for v in getattr(out.text_space, "views", [])}
    index = RetrievalIndex.from_run(out.stage3, test, out.text_space, descriptions,
                                    calibration=val if len(val) else None)
    reader = index.reader
    fams = family_of(index.class_keys)
    names = [BENCHMARKS.get(f) for f in fams if f in BENCHMARKS]
    report = {"class_keys": list(index.class_keys), "n_test_windows": len(test), "n_calibration_windows": len(val),
              "emg_temperature": index.emg_temperature, "calibrated": index.score_map is not None,
              "reader": reader.fitted, "targets": TARGETS, "k": k}
    if not names:
        report["note"] = f"no free-text benchmark for the classes of {fams}"
        return index, report
    test_name, dev_name = names[0]
    bench = [s for s in load_benchmark(test_name) if s.class_key in set(index.class_keys)]
    dev = [s for s in load_benchmark(dev_name) if s.class_key in set(index.class_keys)]
    report["abstention"] = {"benchmark": _abstention(reader, load_off_topic("off_topic"), bench),
                            "dev": _abstention(reader, load_off_topic("off_topic_dev"), dev)}
    e2e = {"plain": free_text_to_emg(index, bench, k), "varied": free_text_to_emg(index, bench, k, varied=True)}
    report["calibration"] = {}
    for name, r in e2e.items():
        p, right = np.asarray(r.pop("shown_probability")), np.asarray(r.pop("shown_right"))
        report["calibration"][name] = {"ece": expected_calibration_error(p, right, RELIABILITY_BINS) if len(p) else None,
                                       "n_shown": int(len(p)), "mean_probability": float(p.mean()) if len(p) else None,
                                       "fraction_right": float(right.mean()) if len(p) else None,
                                       "reliability": reliability(p, right, RELIABILITY_BINS).to_dict(orient="records")}
        r.pop("ece_shown", None)
    report["end_to_end"] = e2e
    report["met"] = targets_met(report)
    write_json(Path(out.stage3.folder) / "free-text-report.json", report)
    return index, report


def _abstention(reader, off_topic, free_text) -> dict:
    from myosem_core.text.query import abstention_report

    return abstention_report(reader, off_topic, free_text)


def targets_met(report: dict) -> dict:
    """Each target of :data:`TARGETS` -> whether the report meets it (benchmark figures, plain ranking)."""
    a = report["abstention"]["benchmark"]
    e2e, cal = report["end_to_end"]["plain"], report["calibration"]["plain"]
    return {"off_topic_abstained": a["off_topic"]["abstained"] >= TARGETS["off_topic_abstained"],
            "falsely_abstained": a["free_text"]["falsely_abstained"] <= TARGETS["falsely_abstained"],
            "R@1": a["free_text"]["known"]["R@1"] >= TARGETS["R@1"],
            "top5_right": e2e[f"top{report['k']}_right"] >= TARGETS["top5_right"],
            "ece": cal["ece"] is not None and cal["ece"] <= TARGETS["ece"]}


__all__ = ["TARGETS", "free_text_evaluation", "targets_met"]
