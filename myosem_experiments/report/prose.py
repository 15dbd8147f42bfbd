"""Sentences the book's pages show, each built from a result file the code wrote (never typed numbers)."""

from __future__ import annotations


def data_summary(summary: dict, run_name: str) -> str:
    """What chapter 00 loaded (``data_summary.json`` of :func:`myosem_core.prepare.prepare_data`), as Markdown."""
    kind = ("SYNTHETIC data from the built-in forward model" if summary["synthetic"]
            else f"real recordings, files' content `{summary['data_content']}`")
    return (f"**Dataset:** `{summary['dataset']}` ({kind}) · **preset:** `{summary['preset']}`  \n"
            f"{len(summary['subjects'])} subjects, {len(summary['classes'])} movement classes, "
            f"{summary['n_channels']} EMG channels ({summary['signal_kind']}) at {summary['fs']:g} Hz, "
            f"pose stream `{summary['pose_kind']}`  \n"
            f"{summary['n_windows']} windows of {summary['window_s']:g} s every {summary['hop_s']:g} s; rest excluded.  \n"
            f"Run folder: `{run_name}` (manifests in `manifests/`).")


def grid_scope(dataset: str, preset: str, protocols, seeds, folder_name: str) -> str:
    """What a comparison chapter shows (chapters 05, 06): data, preset, protocols, seeds and where the numbers are."""
    synthetic = " (SYNTHETIC)" if dataset == "synthetic" else ""
    one_seed = (" With one seed a cell has no spread; the book's presets report three (`report` section of "
                "`myosem_core/presets/<preset>.yaml`).") if len(seeds) == 1 else " Cells: mean ± std over the seeds."
    return (f"**Data:** `{dataset}`{synthetic} · **preset:** `{preset}` · **protocols:** {', '.join(protocols)} · "
            f"**seeds:** {', '.join(map(str, seeds))}.{one_seed}  \n"
            "**Cross-dataset** needs two datasets (DB2 -> DB3 in the paper); this book has one real dataset "
            "(NinaPro DB1 exercise 1), so that protocol is not run.  \n"
            f"Result files: `{folder_name}` in the runs folder.")


def protocol_caption(protocol: str, dataset: str, synthetic: bool) -> str:
    return f"Protocol `{protocol}`, dataset `{dataset}`" + (" — **synthetic data**" if synthetic else "")


def stage1_training(results: dict, preset: str) -> str:
    """How Stage 1 was trained and what it cost (a Stage-1 ``results.json``)."""
    s, t = results["stage1"], results["timing"]
    query = (f"; the query encoder for free text took {t['query_train_seconds']:.0f} s more"
             if "query_train_seconds" in t else "")
    return (f"Stage-1 config `{preset}`: top {s['train_layers']} of 6 layers fine-tuned, {s['epochs']} epochs, "
            f"temperature {s['temperature']}; {results['n_training_texts']} training texts from "
            f"{results['n_training_classes']} classes; training took {t['train_seconds']:.0f} s wall clock "
            f"({t['train_cpu_seconds']:.0f} CPU-seconds) on {t['torch_threads']} threads, machine load "
            f"{t['load_average'][0]:.1f} on {t['cpu_count']} cores when it started{query}.")


def paraphrase_verdicts(results_by_protocol: dict) -> str:
    """Per protocol: does fine-tuning beat the frozen encoder on the held-out paraphrases (R@1 and MRR)?"""
    lines = []
    for p, r in results_by_protocol.items():
        b, a = r["before"]["retrieval"]["all"], r["after"]["retrieval"]["all"]
        verdict = "beats" if a["MRR"] > b["MRR"] and a["R@1"] >= b["R@1"] else "does NOT beat"
        lines.append(f"- `{p}`: fine-tuning {verdict} the frozen encoder on the held-out paraphrases "
                     f"(R@1 {b['R@1']:.3f} → {a['R@1']:.3f}, MRR {b['MRR']:.3f} → {a['MRR']:.3f}).")
    return "\n".join(lines)


def free_text_summary(row, protocol: str, source: str) -> str:
    """The free-text benchmark's ``all`` row (:func:`myosem_experiments.report.text.free_text_table`)."""
    return (f"Protocol `{protocol}`: {int(row['sentences'])} benchmark sentences, {int(row['candidates'])} "
            f"candidates. R@1 **{100 * row['R@1 frozen']:.1f} %** with the frozen encoder, "
            f"**{100 * row['R@1 fine-tuned']:.1f} %** fine-tuned (R@3 {100 * row['R@3 frozen']:.1f} → "
            f"{100 * row['R@3 fine-tuned']:.1f} %, MRR {row['MRR frozen']:.3f} → {row['MRR fine-tuned']:.3f}). "
            f"Read from `{source}`.")


def split_summary(dataset: str, synthetic: bool, protocol: str, preset: str, n_train: int, n_val: int,
                  n_test: int, shape: tuple, run_name: str) -> str:
    return (f"**{dataset}{' (SYNTHETIC)' if synthetic else ''}**, protocol `{protocol}`, preset `{preset}`: "
            f"{n_train} training, {n_val} validation, {n_test} test windows of {shape[0]} samples × {shape[1]} "
            f"channels; run folder `{run_name}`")


def recipe_search_note(search: dict, file_name: str) -> str:
    return (f"`{file_name}`: {search.get('note', '')}. Rule: {search['rule']}; the search's best: "
            f"`{search['chosen']}`. Validation top-1 in percent; seconds as measured there.")


def budget_best(best_rows, file_name: str) -> str:
    """The most accurate candidate per split against the preset's recipe (rows of ``cost_and_gain``)."""
    return ("Against the preset's recipe, the most accurate candidate per split: " + "; ".join(
        f"`{r['split']}`: `{r['candidate']}`, {r['gain (points)']:+.1f} points of top-1 at "
        f"{r['cost (x reference)']:.2f}× the training time" for _, r in best_rows.iterrows()) + f". Read from `{file_name}`.")


def best_zero_shot(main_table) -> str:
    """Per evaluation set of EMBridge's main table: the best zero-shot model and the others' scores."""
    lines = []
    for s in [c for c in ("Seen gestures", "Unseen gestures", "Unseen users") if (c, "ZS") in main_table.columns]:
        zs = main_table[(s, "ZS")].dropna()
        best = zs.idxmax()
        lines.append(f"- **{s}**: best zero-shot model {best} ({zs[best]:.3f}); "
                     + ", ".join(f"{k} {v:.3f}" for k, v in zs.items() if k != best))
    return "\n".join(lines)


def paired_query_gaps(paired, main_table) -> str:
    """How much picking the query with the paired pose changes each multi-query model's zero-shot score."""
    gap = (paired["ZS, paired query"] - paired["ZS"]).groupby(paired["model"], sort=False).mean()
    lines = [f"- **{name}**: picking the query with the paired pose changes zero-shot by {100 * g:+.1f} points "
             "on average over the evaluation sets." for name, g in gap.items()]
    seen = ("Seen gestures", "ZS")
    if "CPEP" in main_table.index and seen in main_table.columns:
        lines.append(f"- CPEP (one query, nothing to pick) scores {main_table.loc['CPEP', seen]:.3f} zero-shot on "
                     "seen gestures.")
    return "\n".join(lines)


def experiment_time(total_seconds: float, run_times) -> str:
    return (f"{len(run_times)} distinct trainings. Total time of the experiment call (training + evaluation, "
            f"cached runs only read): **{total_seconds / 60:.1f} min**; CPU time of the training runs listed: "
            f"**{run_times['train_cpu_seconds'].sum() / 60:.1f} min**.")


def device_caption(cross: dict) -> str:
    d = cross["device"]
    return (f"Device `{d['name']}`: {d['n_channels']} channels at {d['fs']:g} Hz ({d['output']}); "
            f"{cross['n_subjects']} synthetic subjects, {cross['n_windows']} windows.")
