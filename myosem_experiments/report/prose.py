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
