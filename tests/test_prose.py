"""The sentences the book shows, from result files: every figure in them is read from the file."""

from __future__ import annotations

from myosem_experiments.report import prose


def test_the_data_summary_names_what_was_loaded_and_no_machine_path():
    summary = {"dataset": "ninapro-db1", "synthetic": False, "data_content": "ab12cd34ef56ab78", "preset": "quick",
               "subjects": ["S1", "S2", "S3"], "classes": {"ninapro/A/1": "index flexion", "ninapro/A/2": "x"},
               "n_channels": 10, "signal_kind": "rms", "fs": 100.0, "pose_kind": "cyberglove22",
               "n_windows": 7123, "window_s": 1.0, "hop_s": 0.5}
    text = prose.data_summary(summary, "data-ninapro-db1-quick-0123")
    for shown in ("`ninapro-db1`", "content `ab12cd34ef56ab78`", "3 subjects, 2 movement classes",
                  "10 EMG channels (rms) at 100 Hz", "7123 windows of 1 s every 0.5 s", "`data-ninapro-db1-quick-0123`"):
        assert shown in text, shown
    assert "/" not in text.replace("manifests/", "")  # no folder of this machine
    synthetic = prose.data_summary({**summary, "synthetic": True}, "r")
    assert "SYNTHETIC" in synthetic and "ab12" not in synthetic


def test_the_grid_scope_says_what_the_tables_hold():
    three = prose.grid_scope("ninapro-db1", "book", ["rand", "user", "class"], [0, 1, 2], "results-ninapro-db1-book-1a2b")
    assert "**protocols:** rand, user, class" in three and "**seeds:** 0, 1, 2." in three
    assert "mean ± std over the seeds" in three and "SYNTHETIC" not in three
    assert "`results-ninapro-db1-book-1a2b` in the runs folder" in three
    one = prose.grid_scope("synthetic", "quick", ["rand"], [0], "r")
    assert "(SYNTHETIC)" in one and "one seed a cell has no spread" in one


def test_stage1_sentences_read_the_results_file():
    res = {"stage1": {"train_layers": 1, "epochs": 30, "temperature": 0.05}, "n_training_texts": 96,
           "n_training_classes": 12,
           "timing": {"train_seconds": 14.4, "train_cpu_seconds": 13.6, "torch_threads": 1, "load_average": [2.5, 2.0],
                      "cpu_count": 2, "query_train_seconds": 61.0}}
    text = prose.stage1_training(res, "quick")
    for shown in ("top 1 of 6 layers", "30 epochs", "96 training texts from 12 classes", "took 14 s wall clock",
                  "(14 CPU-seconds) on 1 threads", "load 2.5 on 2 cores", "took 61 s more"):
        assert shown in text, shown
    before = {"retrieval": {"all": {"R@1": 0.5, "MRR": 0.6}}}
    verdicts = prose.paraphrase_verdicts({"rand": {"before": before, "after": {"retrieval": {"all": {"R@1": 0.7, "MRR": 0.8}}}},
                                          "class": {"before": before, "after": {"retrieval": {"all": {"R@1": 0.4, "MRR": 0.7}}}}})
    assert verdicts.splitlines() == [
        "- `rand`: fine-tuning beats the frozen encoder on the held-out paraphrases (R@1 0.500 → 0.700, MRR 0.600 → 0.800).",
        "- `class`: fine-tuning does NOT beat the frozen encoder on the held-out paraphrases (R@1 0.500 → 0.400, MRR 0.600 → 0.700)."]
    row = {"sentences": 144, "candidates": 12, "R@1 frozen": 0.52, "R@1 fine-tuned": 0.93, "R@3 frozen": 0.7,
           "R@3 fine-tuned": 0.98, "MRR frozen": 0.6, "MRR fine-tuned": 0.95}
    assert "R@1 **52.0 %** with the frozen encoder, **93.0 %** fine-tuned" in prose.free_text_summary(row, "rand", "q/r.json")


def test_embridge_sentences_name_the_best_model_and_the_paired_query_gap():
    import pandas as pd

    main = pd.DataFrame({("Seen gestures", "ZS"): [0.30, 0.45], ("Seen gestures", "LP"): [0.5, 0.6]},
                        index=["EMBridge", "CPEP"])
    assert prose.best_zero_shot(main) == "- **Seen gestures**: best zero-shot model CPEP (0.450); EMBridge 0.300"
    paired = pd.DataFrame({"model": ["EMBridge", "EMBridge"], "ZS": [0.30, 0.20], "ZS, paired query": [0.55, 0.35]})
    gaps = prose.paired_query_gaps(paired, main).splitlines()
    assert gaps[0].startswith("- **EMBridge**: picking the query with the paired pose changes zero-shot by +20.0 points")
    assert gaps[1] == "- CPEP (one query, nothing to pick) scores 0.450 zero-shot on seen gestures."
    times = pd.DataFrame({"train_cpu_seconds": [60.0, 120.0]})
    assert prose.experiment_time(300.0, times).startswith("2 distinct trainings. Total time of the experiment call "
                                                          "(training + evaluation, cached runs only read): **5.0 min**")
