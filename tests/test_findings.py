"""The first page's findings, from result dicts whose numbers were chosen here: who leads, by how much, ties."""

from __future__ import annotations

from myosem_experiments.report import findings

LABELS = {"myosem": "MyoSem", "lda": "LDA", "rf": "Random forest", "cpep": "CPEP", "embridge": "EMBridge",
          "myosem-no-vq": "w/o VQ", "text-tfidf": "TF-IDF"}


def result(model, protocol, seed, e2t, t2e=None):
    return {"model": model, "protocol": protocol, "seed": seed,
            "emg_to_text": {"R@1": e2t, "R@3": e2t, "MRR": e2t},
            "text_to_emg": {"R@1": t2e if t2e is not None else e2t, "R@3": 0.9, "MRR": 0.9}}


def grid(values: dict) -> list[dict]:
    """values: (model, protocol) -> three seeds' EMG->text R@1."""
    return [result(m, p, s, v) for (m, p), vs in values.items() for s, v in enumerate(vs)]


def test_a_lead_beyond_the_seed_spread_is_named_with_its_margin():
    res = grid({("myosem", "rand"): [0.86, 0.87, 0.88], ("rf", "rand"): [0.80, 0.81, 0.82],
                ("lda", "rand"): [0.70, 0.70, 0.70]})
    lines = findings.leaders(res, ["rand"], LABELS)
    assert lines[0] == "**rand, EMG→text:** MyoSem leads with 87.0 % R@1, 6.0 points ahead of Random forest."


def test_a_gap_within_the_spread_is_a_tie_and_a_trailing_myosem_is_placed():
    res = grid({("lda", "user"): [0.20, 0.30, 0.25], ("myosem", "user"): [0.21, 0.27, 0.24],
                ("rf", "user"): [0.10, 0.10, 0.10]})
    line = findings.leaders(res, ["user"], LABELS)[0]
    assert "LDA (25.0 %) and MyoSem (24.0 %) tie within the spread over seeds" in line
    claim = findings.claims(res, ["user"], LABELS)[0]
    assert claim.startswith("**MyoSem, generalisation to unseen users:** does not hold") and "LDA" in claim
    assert "Random forest" not in claim  # MyoSem is clearly ahead of it


def test_a_trailing_myosem_is_given_its_rank_among_the_rows():
    res = grid({("lda", "user"): [0.30, 0.30, 0.30], ("rf", "user"): [0.20, 0.20, 0.20],
                ("myosem", "user"): [0.10, 0.10, 0.10]})
    line = findings.leaders(res, ["user"], LABELS)[0]
    assert line.endswith("; MyoSem ranks 3 of 3 with 10.0 % (-20.0).")


def test_module_effects_and_claims_read_the_rows():
    res = grid({("myosem", "rand"): [0.85, 0.85, 0.85], ("myosem-no-vq", "rand"): [0.80, 0.80, 0.80],
                ("cpep", "rand"): [0.45, 0.46, 0.44], ("embridge", "rand"): [0.32, 0.33, 0.31],
                ("text-tfidf", "rand"): [0.85, 0.86, 0.84]})
    assert findings.module_effects(res, ["rand"], LABELS) == [
        "**w/o VQ:** EMG→text R@1 against MyoSem rand -5.0 points; the part helps under rand."]
    assert findings.text_side(res, ["rand"], LABELS) == [
        "**rand:** Stage 1's prototypes (85.0 % EMG→text R@1) are tied with TF-IDF."]
    claim = findings.claims(res, ["rand"], LABELS)[0]
    assert claim.startswith("**EMBridge ahead of CPEP (rand):** does not hold")
    aemg = {"loso": {"zero_shot": {"AEMG (pretrained) · kNN": {"mean": 0.30, "std": 0.02},
                                   "AEMG (no pretraining) · kNN": {"mean": 0.31, "std": 0.02}}}}
    assert "**AEMG's pretraining (kNN):** does not hold" in findings.claims(res, ["rand"], LABELS, aemg)[-1]


def test_the_page_says_when_nothing_was_computed_and_when_data_are_synthetic():
    assert "No result of the comparison grid yet" in findings.findings_markdown([], ["rand"], [0], LABELS)
    page = findings.findings_markdown(grid({("myosem", "rand"): [0.5], ("lda", "rand"): [0.4]}), ["rand"], [0],
                                      LABELS, synthetic=True)
    assert "SYNTHETIC" in page and "### Who leads" in page
