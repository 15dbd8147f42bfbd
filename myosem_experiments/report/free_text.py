"""The free-text report (:func:`myosem_experiments.evaluation.free_text.free_text_evaluation`) read out as
sentences: what was refused, what was found, how calibrated the shown probabilities are, each against its target."""

from __future__ import annotations


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def free_text_reading(report: dict) -> list[str]:
    """Sentences read off the report, one per target, each saying plainly whether it is met."""
    if "abstention" not in report:
        return [report.get("note", "No free-text benchmark for these classes.")]
    t, met, k = report["targets"], report["met"], report["k"]
    off, ft = report["abstention"]["benchmark"]["off_topic"], report["abstention"]["benchmark"]["free_text"]
    missed = [f'"{r["text"]}" ({r["kind"]})' for r in off["read_as_known"]]
    wrong = [f'"{s}"' for s in ft["abstained_sentences"]]
    e2e, cal = report["end_to_end"]["plain"], report["calibration"]["plain"]
    var, vcal = report["end_to_end"]["varied"], report["calibration"]["varied"]
    return [
        f"Off-topic benchmark: {_pct(off['abstained'])} of {off['n']} inputs refused ({off['refused_as_bad_input']} as "
        f"bad input, the rest read as naming no known movement); target ≥ {_pct(t['off_topic_abstained'])}: "
        f"{_verdict(met['off_topic_abstained'])}." + (f" Read as a movement: {', '.join(missed)}." if missed else ""),
        f"Free-text benchmark: {len(wrong)} of {ft['n']} sentences that name a movement refused by mistake "
        f"({_pct(ft['falsely_abstained'])}); target ≤ {_pct(t['falsely_abstained'])}: {_verdict(met['falsely_abstained'])}."
        + (f" They are {', '.join(wrong)}." if wrong else ""),
        f"On the {ft['known']['n_queries']} sentences read as known, the right movement ranks first for "
        f"{_pct(ft['known']['R@1'])} (target ≥ {_pct(t['R@1'])}: {_verdict(met['R@1'])}) and "
        f"{_pct(e2e[f'top{k}_right'])} of their top-{k} windows show it (target ≥ {_pct(t['top5_right'])}: "
        f"{_verdict(met['top5_right'])}).",
        f"Shown probabilities: expected calibration error {cal['ece']:.3f} over {cal['n_shown']} shown windows "
        f"(mean probability {cal['mean_probability']:.3f}, fraction right {cal['fraction_right']:.3f}); target ≤ "
        f"{t['ece']:.2f}: {_verdict(met['ece'])}.",
        f"Varied results: {var['subjects']:.1f} subjects and {var['repetitions']:.1f} repetitions among a sentence's "
        f"top {k} (plain ranking: {e2e['subjects']:.1f} and {e2e['repetitions']:.1f}); {_pct(var[f'top{k}_right'])} of "
        f"them show the right movement (plain: {_pct(e2e[f'top{k}_right'])}), expected calibration error {vcal['ece']:.3f}.",
    ]


__all__ = ["free_text_reading"]
