"""Comparison tables generated from result JSON files, never typed.

:func:`comparison_table` aggregates results (one dict per dataset / protocol /
model / seed, as :func:`myosem_core.evaluation.retrieval_results.evaluate_retriever` writes them)
into a :class:`ComparisonTable`: rows = models (in the order asked for, also
those without results), columns = protocol x metric, each cell the mean and the
sample standard deviation (ddof = 1) over seeds. Rendering:

- values in percent with one decimal, ``mean ± std`` (just the mean for one seed);
- a model with no result for a protocol shows ``—`` (missing, never 0), or ``n/a`` where the row does not run
  under that protocol by design (``not_applicable``);
- the best mean of each column (after rounding to what is shown; ties all) in bold;
- a cell built from fewer seeds than the table expects is marked ``(n=k)``;
- the derived column ``class-heldout`` reads the ``class`` protocol's held-out-class figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

DIRECTIONS = {"emg_to_text": "EMG→text", "text_to_emg": "text→EMG"}
METRICS = ("R@1", "R@3", "MRR")
MISSING = "—"
NOT_APPLICABLE = "n/a"


@dataclass
class ComparisonTable:
    """Means, standard deviations and seed counts per model (rows) and (protocol, metric) (columns)."""

    mean: pd.DataFrame
    std: pd.DataFrame
    n: pd.DataFrame
    direction: str
    title: str = ""
    labels: dict = field(default_factory=dict)  # model -> display name
    n_seeds: int | None = None  # seeds each cell should have
    decimals: int = 1
    not_applicable: frozenset = frozenset()  # (model, column) cells the row does not run under

    @property
    def models(self) -> list[str]:
        return list(self.mean.index)

    def shown(self) -> pd.DataFrame:
        """The means as displayed (percent, rounded); NaN where missing."""
        return (self.mean * 100).round(self.decimals)

    def best(self) -> pd.DataFrame:
        """True where a cell holds its column's best shown mean (ties: all of them)."""
        shown = self.shown()
        return shown.eq(shown.max(axis=0), axis=1) & shown.notna()

    def applies(self, model: str, col) -> bool:
        """Whether ``model`` runs under the protocol of column ``col`` (``(protocol, metric)``)."""
        return (model, col[0]) not in self.not_applicable

    def cell(self, model: str, col) -> str:
        m = self.mean.at[model, col]
        if pd.isna(m):
            return MISSING if self.applies(model, col) else NOT_APPLICABLE
        text = f"{100 * m:.{self.decimals}f}"
        s = self.std.at[model, col]
        if not pd.isna(s):
            text += f" ± {100 * s:.{self.decimals}f}"
        n = int(self.n.at[model, col])
        if self.n_seeds is not None and n < self.n_seeds:
            text += f" (n={n})"
        return text

    def formatted(self, bold=("**", "**")) -> pd.DataFrame:
        """Cell strings; the best of each column wrapped in ``bold``."""
        best = self.best()
        out = pd.DataFrame(index=self.mean.index, columns=self.mean.columns, dtype=object)
        for model in self.mean.index:
            for col in self.mean.columns:
                text = self.cell(model, col)
                out.at[model, col] = f"{bold[0]}{text}{bold[1]}" if best.at[model, col] else text
        out.index = [self.labels.get(m, m) for m in out.index]
        return out

    def caption(self) -> str:
        seeds = f"mean ± sample std over {self.n_seeds} seeds" if (self.n_seeds or 0) > 1 else "one seed (no std)"
        lead = f"{self.title}. " if self.title else ""
        notes = "".join(f" {COLUMN_NOTES[p]}." for p in dict.fromkeys(c[0] for c in self.mean.columns)
                        if p in COLUMN_NOTES)
        absent = f"{MISSING} = no result yet"
        if any(not self.applies(m, c) for m in self.models for c in self.mean.columns):
            absent += f", {NOT_APPLICABLE} = the row does not run under that column"
        return f"{lead}Percent, {seeds}; best per column in bold; {absent}.{notes}"

    def to_markdown(self) -> str:
        f = self.formatted()
        protocols = list(dict.fromkeys(c[0] for c in f.columns))
        head = "| Model | " + " | ".join(f"{p} {m}" for p, m in f.columns) + " |"
        rule = "|---|" + "---|" * len(f.columns)
        rows = [f"| {name} | " + " | ".join(str(v) for v in row) + " |" for name, row in zip(f.index, f.values)]
        top = [f"**{self.title}** ({', '.join(protocols)})", ""] if self.title else []
        return "\n".join([*top, head, rule, *rows, "", self.caption()])


#: derived columns: name -> (protocol whose results feed it, where each direction's metrics sit in the result)
DERIVED_COLUMNS = {
    "class-heldout": ("class", {"emg_to_text": ("heldout", "emg_to_text_all_candidates"),
                                "text_to_emg": ("heldout", "text_to_emg_heldout")}),
}
COLUMN_NOTES = {"class-heldout": "class-heldout = the class protocol's held-out-class test windows only "
                                 "(EMG→text: against all 12 prototypes; text→EMG: episodes of the held-out classes)"}


def _value(result: dict, direction: str, metric: str, column: str | None = None) -> float:
    section = result.get(direction, {})
    if column in DERIVED_COLUMNS:
        section = result
        for key in DERIVED_COLUMNS[column][1][direction]:
            section = section.get(key, {}) if isinstance(section, dict) else {}
    return float(section[metric]) if metric in section else np.nan


def _source(column: str) -> str:
    return DERIVED_COLUMNS[column][0] if column in DERIVED_COLUMNS else column


def comparison_table(results: list[dict], models, protocols, direction: str = "emg_to_text", metrics=METRICS,
                     labels: dict | None = None, n_seeds: int | None = None, title: str = "",
                     dataset: str | None = None, not_applicable=()) -> ComparisonTable:
    """Aggregate ``results`` over seeds into a table of ``models`` x (``protocols`` x ``metrics``).

    Results of other models, protocols or datasets (when ``dataset`` is given) are ignored. ``not_applicable``:
    ``(model, protocol)`` pairs the row does not run under; their cells read ``n/a`` instead of ``—`` (a derived
    column follows the protocol that feeds it).
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {list(DIRECTIONS)}, got {direction!r}")
    models, protocols = list(models), list(protocols)
    cols = pd.MultiIndex.from_tuples([(p, m) for p in protocols for m in metrics], names=["protocol", "metric"])
    mean = pd.DataFrame(np.nan, index=models, columns=cols)
    std, n = mean.copy(), pd.DataFrame(0, index=models, columns=cols)
    groups: dict[tuple[str, str], dict[int, dict]] = {}
    for r in results:
        if r["model"] not in models or (dataset is not None and r["dataset"] != dataset):
            continue
        for protocol in protocols:
            if r["protocol"] == _source(protocol):
                groups.setdefault((r["model"], protocol), {})[int(r["seed"])] = r  # one result per seed
    for (model, protocol), by_seed in groups.items():
        for metric in metrics:
            v = np.array([_value(r, direction, metric, protocol) for r in by_seed.values()])
            v = v[~np.isnan(v)]
            if v.size:
                mean.at[model, (protocol, metric)] = v.mean()
                std.at[model, (protocol, metric)] = v.std(ddof=1) if v.size > 1 else np.nan
                n.at[model, (protocol, metric)] = v.size
    skipped = set(map(tuple, not_applicable))
    return ComparisonTable(mean, std, n, direction, title, dict(labels or {}), n_seeds,
                           not_applicable=frozenset((m, c) for m in models for c in protocols
                                                    if (m, _source(c)) in skipped))
