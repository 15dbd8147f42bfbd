"""Choosing a new-user method on development rows, and the tables and sentences the book reads off them."""

from __future__ import annotations

import pytest

from myosem_core.errors import ConfigError
from myosem_experiments.evaluation.new_user import (CANDIDATES, CHECK_FOLDS, DEV_SPLIT, TARGETS, check_records,
                                                    check_stage, check_table, choose, held_out_table, merge_rows,
                                                    method_table, new_user_sentences, split_options, summarise,
                                                    target_verdicts)


def row(candidate, adaptation, seed, r1, r3=0.5, setting="unlabeled", model="MyoSem", stage="dev", t1=0.3):
    return {"stage": stage, "candidate": candidate, "seed": seed, "setting": setting, "adaptation": adaptation,
            "model": model, "E→T R@1": r1, "E→T R@3": r3, "E→T MRR": 0.4, "T→E R@1": t1, "n_test": 100}


def test_the_best_mean_over_common_seeds_is_chosen_per_setting():
    rows = [row("plain", "none", 0, 0.30), row("plain", "none", 1, 0.20),  # mean 0.25
            row("log-standardised", "prototypes", 0, 0.28), row("log-standardised", "prototypes", 1, 0.26),  # 0.27
            row("small", "none", 0, 0.90),  # one seed only: not comparable, never chosen
            row("plain", "none", 0, 0.99, model="LDA"),  # another model: never chosen
            row("plain", "none", 0, 0.99, stage="test"),  # test rows never choose
            row("plain", "none", 0, 0.40, setting="nothing"), row("plain", "none", 1, 0.40, setting="nothing")]
    chosen = choose(rows, seeds=[0, 1])
    assert chosen["unlabeled"]["candidate"] == "log-standardised" and chosen["unlabeled"]["adaptation"] == "prototypes"
    assert chosen["unlabeled"]["E→T R@1"] == pytest.approx(0.27)
    assert chosen["nothing"]["candidate"] == "plain" and list(chosen) == ["nothing", "unlabeled"]
    # by default only methods with the largest seed set compete: 'small' (seed 0 only) is listed, not chosen
    assert choose(rows)["unlabeled"]["candidate"] == "log-standardised"
    assert choose(rows, seeds=[0])["unlabeled"]["candidate"] == "small"


def test_ties_on_r1_go_to_r3_and_std_is_over_seeds():
    rows = [row("plain", "none", s, 0.3, 0.5) for s in (0, 1)] + [row("small", "none", s, 0.3, 0.6) for s in (0, 1)]
    assert choose(rows)["unlabeled"]["candidate"] == "small"
    s = summarise([row("plain", "none", 0, 0.2), row("plain", "none", 1, 0.4)])[0]
    assert s["E→T R@1"] == pytest.approx(0.3) and s["E→T R@1 std"] == pytest.approx(0.1414, abs=1e-4)


def test_merge_replaces_only_recomputed_rows():
    kept = [row("plain", "none", 0, 0.1), row("plain", "none", 1, 0.2)]
    out = merge_rows(kept, [row("plain", "none", 1, 0.5)])
    assert sorted((r["seed"], r["E→T R@1"]) for r in out) == [(0, 0.1), (1, 0.5)]


def test_development_split_never_holds_the_test_users_and_subject_validation_maps():
    assert not set(DEV_SPLIT["train_subjects"]) & {"S17", "S18", "S19", "S20"}
    assert not set(DEV_SPLIT["test_subjects"]) & {"S17", "S18", "S19", "S20"}
    c = CANDIDATES["subject validation"]
    assert split_options(c, "dev")["val_subjects"] == ["S11", "S12"]
    assert split_options(c, "test") == {"val_subjects": ["S15", "S16"]}
    with pytest.raises(ConfigError, match="stage"):
        split_options(c, "final")
    assert CANDIDATES["log-standardised"].settings == ("unlabeled", "one-repetition")  # no data under nothing
    assert "nothing" in CANDIDATES["plain"].settings


def test_check_folds_hold_out_their_users_and_train_on_every_other_user():
    db1 = {f"S{i}" for i in (1, 2, 3, 4, *range(7, 21))}  # the 18 subjects of DB1 exercise 1 beside the repo
    c = CANDIDATES["plain"]
    tested = set()
    for fold, users in CHECK_FOLDS.items():
        opts = split_options(c, check_stage(fold))
        assert set(opts["test_subjects"]) == set(users) and len(users) == 4
        assert not set(opts["train_subjects"]) & set(users)
        assert set(opts["train_subjects"]) | set(users) == db1
        assert {"S17", "S18", "S19", "S20"} <= set(opts["train_subjects"])
        tested |= set(users)
    assert not tested & {"S17", "S18", "S19", "S20"} and not tested & set(DEV_SPLIT["test_subjects"])
    assert split_options(CANDIDATES["subject validation"], check_stage("S1-S4"))["val_subjects"] == ["S19", "S20"]
    with pytest.raises(ConfigError, match="check fold"):
        check_stage("S5-S6")
    with pytest.raises(ConfigError, match="unknown check fold 'S5-S6'"):
        split_options(c, "check S5-S6")


def test_check_table_sets_each_set_of_held_out_users_beside_its_strongest_other_row():
    choice = {"nothing": {"candidate": "plain", "adaptation": "none", "E→T R@1": 0.2, "seeds": [0, 1]}}
    rows = []
    for stage, mine, lda, rf in (("test", 0.30, 0.25, 0.27), (check_stage("S1-S4"), 0.20, 0.24, 0.22)):
        for s in (0, 1):
            rows += [row("plain", "none", s, mine, setting="nothing", stage=stage),
                     row("plain", "none", s, lda, setting="nothing", stage=stage, model="LDA"),
                     row("plain", "none", s, rf, setting="nothing", stage=stage, model="RF")]
    rows.append(row("plain", "none", 0, 0.9, setting="nothing", stage="dev", model="LDA"))  # dev rows are not held out
    rows.append(row("plain", "none", 2, 0.99, setting="nothing", stage="test"))  # a seed of one set only
    t = check_table(rows, choice)
    assert list(t.index) == [("S17–S20 (test)", "nothing"), ("S1–S4", "nothing"), ("mean of the sets above", "nothing")]
    mean = t.loc[("mean of the sets above", "nothing")]  # seeds 0 and 1: (30 + 20) / 2 against LDA (25 + 24) / 2
    assert mean["MyoSem E→T R@1"] == "25.0 ± 0.0" and mean["seeds"] == 2
    assert mean["MyoSem ahead by (R@1)"] == pytest.approx(0.5) and mean["its E→T R@1 / R@3"] == "24.5 / 50.0"
    assert t.loc[("S17–S20 (test)", "nothing"), "strongest other row"] == "random forest"
    assert t.loc[("S17–S20 (test)", "nothing"), "MyoSem E→T R@1"] == "53.0 ± 39.8"  # seeds 0-2
    assert t.loc[("S1–S4", "nothing"), "strongest other row"] == "LDA"
    assert t.loc[("S1–S4", "nothing"), "MyoSem ahead by (R@1)"] == pytest.approx(-4.0)
    assert t.loc[("S1–S4", "nothing"), "MyoSem E→T R@1"] == "20.0 ± 0.0"
    assert check_table([], choice).empty
    import matplotlib
    matplotlib.use("Agg")
    from myosem_core.viz.retrieval import plot_new_user_checks

    (ax,) = plot_new_user_checks(check_records(rows, choice), ("nothing", "unlabeled"))  # no unlabeled rows: no panel
    assert [round(b.get_height(), 6) for b in ax.patches] == [53.0, 20.0, 25.0]  # MyoSem per set of users
    ticks = [line.get_ydata()[0] for line in ax.lines if line.get_marker() == "_"]
    assert ticks == pytest.approx([27.0, 24.0, 24.5])  # the strongest other row of each set
    alone = check_table([r for r in rows if r["stage"] == "test" and r["seed"] < 2], choice)
    assert list(alone.index) == [("S17–S20 (test)", "nothing")]  # one set: no mean
    assert alone.loc[("S17–S20 (test)", "nothing"), "MyoSem ahead by (R@1)"] == pytest.approx(3.0)


def test_verdicts_tables_and_sentences_read_the_test_rows():
    choice = {"unlabeled": {"candidate": "plain", "adaptation": "prototypes", "E→T R@1": 0.3, "seeds": [0, 1]}}
    rows = [row("plain", "prototypes", s, r1, r3, stage="test") for s, r1, r3 in ((0, 0.42, 0.70), (1, 0.40, 0.68))]
    rows += [row("plain", "prototypes", s, 0.35, 0.6, stage="test", model="LDA") for s in (0, 1)]
    unadapted = [row("plain", "none", s, 0.30, 0.5, stage="test", model="LDA") for s in (0, 1)]
    assert target_verdicts(rows + unadapted, choice)[0]["baselines"] == target_verdicts(rows, choice)[0]["baselines"]
    v = target_verdicts(rows, choice)[0]
    assert v["R@1"] == pytest.approx(41.0) and v["R@3"] == pytest.approx(69.0)
    assert v["met"] == (41.0 >= TARGETS["unlabeled"][0] and 69.0 >= TARGETS["unlabeled"][1])
    assert v["baselines"]["LDA (refitted with the user's windows)"][0] == pytest.approx(35.0)  # its best, refitted
    text = new_user_sentences(rows, choice)
    assert len(text) == 1 and "41.0 / R@3 69.0" in text[0] and "LDA (refitted with the user's windows) 35.0 / 60.0" in text[0]
    low = [dict(r, **{"E→T R@1": 0.2}) if r["model"] == "MyoSem" else r for r in rows]
    assert "misses" in new_user_sentences(low, choice)[0] and not target_verdicts(low, choice)[0]["met"]
    assert "not yet scored" in new_user_sentences([], choice)[0]
    assert "(development R@1 30.0 at the quick preset, seeds [0, 1])" in new_user_sentences(rows, choice, "quick")[0]
    t = held_out_table(rows)
    assert t.loc[("unlabeled", "MyoSem", "plain + prototypes"), "E→T R@1"] == "41.0 ± 1.4"
    earlier = [dict(r, candidate="small") for r in rows]  # an earlier choice's rows stay listed, not marked
    earlier += [dict(r, adaptation="fine-tune") for r in rows if r["model"] == "MyoSem"]  # same training, other adaptation
    t = held_out_table(rows + earlier, choice)
    assert t.loc[("unlabeled", "MyoSem", "plain + prototypes"), "current choice"] == "yes"
    assert t.loc[("unlabeled", "LDA", "plain + prototypes"), "current choice"] == "yes"
    assert t.loc[("unlabeled", "MyoSem", "small + prototypes"), "current choice"] == ""
    assert t.loc[("unlabeled", "MyoSem", "plain + fine-tune"), "current choice"] == ""
    own = rows + [row("plain", "prototypes", s, 0.38, 0.62, stage="test", model="LDA-user") for s in (0, 1)]
    assert target_verdicts(own, choice)[0]["baselines"]["LDA (shrinkage) on the user's windows alone"][0] == \
        pytest.approx(38.0)  # fitted on the user alone: not called a refit


def test_method_table_lists_every_method_with_its_seeds():
    rows = [row("plain", "none", s, 0.2, setting="nothing") for s in (0, 1, 2)] + \
        [row("log-standardised", "fine-tune", 0, 0.5, setting="one-repetition")]
    t = method_table(rows)
    assert t.loc[("plain", "none"), ("nothing", "MyoSem R@1")] == "20.0 ± 0.0"
    assert t.loc[("plain", "none"), ("nothing", "seeds")] == 3
    assert t.loc[("log-standardised", "fine-tune"), ("one-repetition", "MyoSem R@1")] == "50.0"
    assert t.loc[("plain", "none"), ("one-repetition", "MyoSem R@1")] == ""


def test_the_test_step_scores_each_chosen_method_once_per_seed_beside_adapted_baselines(monkeypatch):
    """Under `nothing` the chosen adaptation is `none` too: asking for it twice doubled the rows (and halved the
    spread over seeds); the baselines are scored unadapted and refitted with the user's windows."""
    from myosem_experiments.evaluation import new_user as nu

    calls = []
    monkeypatch.setattr(nu, "score_candidate", lambda cand, seed, stage, adaptations, settings, **kw:
                        calls.append((cand.name, seed, stage, adaptations, tuple(settings))) or [])
    nu.run_test({"nothing": {"candidate": "plain", "adaptation": "none"},
                 "one-repetition": {"candidate": "adversarial", "adaptation": "fine-tune"}}, seeds=(0, 1))
    assert calls == [("plain", s, "test", ("none", "prototypes"), ("nothing",)) for s in (0, 1)] + \
        [("adversarial", s, "test", ("none", "prototypes", "fine-tune"), ("one-repetition",)) for s in (0, 1)]
    calls.clear()
    nu.run_test({"nothing": {"candidate": "plain", "adaptation": "none"},
                 "one-repetition": {"candidate": "adversarial", "adaptation": "fine-tune"}}, seeds=(0,),
                settings=["one-repetition"])
    assert calls == [("adversarial", 0, "test", ("none", "prototypes", "fine-tune"), ("one-repetition",))]


def test_selection_asks_each_candidate_only_for_the_settings_it_serves_among_those_asked(monkeypatch):
    from myosem_experiments.evaluation import new_user as nu

    calls = []
    monkeypatch.setattr(nu, "score_candidate", lambda cand, seed, stage, adaptations, settings, **kw:
                        calls.append((cand.name, tuple(settings))) or [])
    nu.run_selection(["adversarial", "log-standardised"], seeds=(0,), settings=["nothing"])
    assert calls == [("adversarial", ("nothing",))]  # log standardisation reads adaptation windows: no `nothing`


def test_the_script_scores_at_another_preset_the_methods_chosen_in_another_file(monkeypatch, tmp_path):
    """``--test --choice-from``: the methods chosen on one file's development rows are scored at another preset,
    and the new file keeps that choice (it has no development rows of its own)."""
    import importlib.util
    from pathlib import Path

    from myosem_core.io import read_json, write_json

    spec = importlib.util.spec_from_file_location(
        "new_user_selection", Path(__file__).resolve().parents[1] / "scripts" / "new_user_selection.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    chooser = tmp_path / "quick.json"
    write_json(chooser, {"rows": [row("plain", "none", s, 0.2, setting="nothing") for s in (0, 1)]
                         + [row("small", "none", s, 0.3, setting="nothing") for s in (0, 1)]})
    asked = []

    def fake_test(choice, seeds, settings=None, **kw):
        asked.append((choice["nothing"]["candidate"], kw["preset"], tuple(seeds)))
        return [row(choice["nothing"]["candidate"], "none", s, 0.25, setting="nothing", stage="test") for s in seeds]

    monkeypatch.setattr(script, "run_test", fake_test)
    monkeypatch.setattr(script, "set_threads", lambda n: None)  # leave this test process's thread count alone
    out = tmp_path / "book.json"
    assert script.main(["--preset", "book", "--test", "--choice-from", str(chooser), "--out", str(out),
                        "--seeds", "0", "1"]) == 0
    assert asked == [("small", "book", (0, 1))]
    saved = read_json(out)
    assert saved["preset"] == "book" and saved["choice"]["nothing"]["candidate"] == "small"
    assert {r["stage"] for r in saved["rows"]} == {"test"} and saved["chosen_in"] == str(chooser)
    empty = tmp_path / "empty.json"
    write_json(empty, {"rows": []})
    assert script.main(["--test", "--choice-from", str(empty), "--out", str(tmp_path / "x.json")]) == 1
    with pytest.raises(SystemExit):
        script.main(["--choice-from", str(chooser), "--out", str(tmp_path / "y.json")])
    with pytest.raises(SystemExit):
        script.main(["--check-fold", "S1-S4", "--out", str(tmp_path / "y.json")])
    staged = []
    monkeypatch.setattr(script, "run_test", lambda choice, seeds, settings=None, stage="test", **kw:
                        staged.append(stage) or [row("small", "none", 0, 0.2, setting="nothing", stage=stage)])
    assert script.main(["--test", "--check-fold", "S7-S10", "--choice-from", str(chooser), "--out", str(out),
                        "--seeds", "0"]) == 0
    assert staged == ["check S7-S10"]
    assert {r["stage"] for r in read_json(out)["rows"]} == {"test", "check S7-S10"}  # the test rows are kept


def test_a_candidate_is_scored_per_setting_beside_lda_refitted_and_lda_on_the_users_windows_alone(monkeypatch,
                                                                                                    db1_windows):
    """MyoSem's training is replaced by a fixed embedding (the rows around it are what is checked); every setting of
    one call reads its own split of the development subjects, after the user-only baseline was fitted in another."""
    import numpy as np

    from myosem_core.baselines.myosem import MyoSemRetriever
    from myosem_core.baselines.classical import time_domain_features
    from myosem_core.data import make_split
    from myosem_core.scoring import unit_rows
    from myosem_experiments import pipeline
    from myosem_experiments.evaluation import new_user as nu

    ws = db1_windows.subset(np.isin(db1_windows.subject, ["S1", "S2", "S3", "S13", "S14"]))
    P = unit_rows(np.random.default_rng(0).standard_normal((ws.n_classes, 16)))
    W = np.random.default_rng(1).standard_normal((40, 16))

    class Fixed:
        def embed(self, windows):
            return unit_rows(time_domain_features(windows.X) @ W)

    asked = []

    def load(cfg, protocol, progress=False, new_user=None, **options):
        asked.append((new_user, options))
        return ws, make_split(ws, protocol, new_user=new_user, train_subjects=["S1", "S2", "S3"],
                              test_subjects=["S13", "S14"])

    monkeypatch.setattr(pipeline, "load_data", load)
    monkeypatch.setattr(pipeline, "train_myosem", lambda *a, **kw: (None, P, None, None))
    monkeypatch.setattr(MyoSemRetriever, "from_run", staticmethod(lambda run: Fixed()))
    rows = nu.score_candidate(CANDIDATES["plain"], 0, "dev", adaptations=("none", "prototypes"),
                              settings=["nothing", "unlabeled", "one-repetition"], data_dir="unused")
    assert [s for s, _ in asked] == ["nothing", "unlabeled", "one-repetition"]
    assert all(options == DEV_SPLIT for _, options in asked)
    got = {(r["setting"], r["adaptation"], r["model"]): r["E→T R@1"] for r in rows}
    adapted = {(s, a, m) for s in ("unlabeled", "one-repetition") for a, m in
               (("none", "MyoSem"), ("none", "LDA"), ("prototypes", "MyoSem"), ("prototypes", "LDA"),
                ("prototypes", "LDA-user"))}  # LDA on the user alone needs the user's windows
    assert set(got) == {("nothing", "none", "MyoSem"), ("nothing", "none", "LDA")} | adapted
    assert got[("nothing", "none", "LDA")] == got[("one-repetition", "none", "LDA")]  # the same windows are scored
    assert got[("one-repetition", "prototypes", "LDA-user")] != got[("one-repetition", "prototypes", "LDA")]
