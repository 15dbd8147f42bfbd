"""The free-text report read out as sentences: each target said to be met or NOT met from the numbers given."""

from __future__ import annotations

import copy

from myosem_experiments.evaluation.free_text import TARGETS, targets_met
from myosem_experiments.report.free_text import free_text_reading

REPORT = {
    "k": 5, "targets": TARGETS,
    "abstention": {"benchmark": {
        "off_topic": {"n": 100, "abstained": 0.97, "refused_as_bad_input": 10,
                      "read_as_known": [{"text": "spin around", "kind": "whole-body"}]},
        "free_text": {"n": 50, "falsely_abstained": 0.02, "abstained_sentences": ["flip someone the bird"],
                      "known": {"R@1": 0.94, "n_queries": 49}}}},
    "end_to_end": {"plain": {"top5_right": 0.92, "subjects": 3.0, "repetitions": 3.5},
                   "varied": {"top5_right": 0.90, "subjects": 5.0, "repetitions": 5.0}},
    "calibration": {"plain": {"ece": 0.04, "n_shown": 245, "mean_probability": 0.9, "fraction_right": 0.92},
                    "varied": {"ece": 0.06, "n_shown": 245, "mean_probability": 0.9, "fraction_right": 0.9}},
}


def test_every_target_is_read_out_with_its_verdict():
    report = {**REPORT, "met": targets_met(REPORT)}
    assert all(report["met"].values())
    text = free_text_reading(report)
    assert len(text) == 5
    assert text[0].startswith("Off-topic benchmark: 97.0 % of 100 inputs refused (10 as bad input")
    assert '"spin around" (whole-body)' in text[0] and "≥ 95.0 %: met" in text[0]
    assert "1 of 50 sentences" in text[1] and '"flip someone the bird"' in text[1] and "≤ 2.0 %: met" in text[1]
    assert "94.0 %" in text[2] and "92.0 % of their top-5 windows" in text[2]
    assert "error 0.040 over 245 shown windows" in text[3] and "≤ 0.05: met" in text[3]
    assert "5.0 subjects" in text[4] and "plain ranking: 3.0" in text[4]


def test_a_missed_target_is_said_plainly():
    bad = copy.deepcopy(REPORT)
    bad["abstention"]["benchmark"]["off_topic"]["abstained"] = 0.90
    bad["calibration"]["plain"]["ece"] = 0.08
    bad["met"] = targets_met(bad)
    assert not bad["met"]["off_topic_abstained"] and not bad["met"]["ece"] and bad["met"]["R@1"]
    text = free_text_reading(bad)
    assert "NOT met" in text[0] and "NOT met" in text[3] and "NOT met" not in text[2]
    assert free_text_reading({"note": "no free-text benchmark for the classes of ('synthetic',)"}) == [
        "no free-text benchmark for the classes of ('synthetic',)"]
