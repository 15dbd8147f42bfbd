"""A comparison table read out as sentences: per column who leads and by how much, and plainly where the
reference model does not lead."""

from __future__ import annotations

import numpy as np

from .comparison import DIRECTIONS, ComparisonTable


def reading(table: ComparisonTable, ours: str = "myosem") -> list[str]:
    """Sentences read off the table: per protocol and metric who leads, and where ``ours`` does not."""
    name = table.labels.get(ours, ours)
    if ours not in table.models:
        return [f"{name} is not in this table."]
    shown = table.shown()
    d = DIRECTIONS[table.direction]
    lead, behind, missing = [], [], []
    for col in shown.columns:
        col_label = f"{col[0]} {d} {col[1]}"
        others = shown[col].drop(index=ours).dropna()
        mine = shown.at[ours, col]
        if np.isnan(mine):
            missing.append(col_label)
            continue
        if others.empty:
            lead.append(f"{col_label} (no other model has a result)")
            continue
        best_other = others.idxmax()
        gap = mine - others.max()
        other = f"{table.labels.get(best_other, best_other)} {others.max():.{table.decimals}f}"
        if gap >= 0:
            lead.append(f"{col_label}: {mine:.{table.decimals}f} vs next best {other} (+{gap:.{table.decimals}f})")
        else:
            behind.append(f"{col_label}: {mine:.{table.decimals}f} vs best {other} ({gap:.{table.decimals}f})")
    n = len(shown.columns) - len(missing)
    out = [f"{name} leads (or ties) in {len(lead)} of {n} columns with a result."] if n else []
    if behind:
        out.append(f"{name} does NOT lead in: " + "; ".join(behind) + ".")
    if lead:
        out.append(f"{name} leads in: " + "; ".join(lead) + ".")
    if missing:
        out.append(f"{name} has no result for: " + ", ".join(missing) + ".")
    return out
