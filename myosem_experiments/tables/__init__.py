"""Comparison tables generated from result JSON files, never typed.

- :mod:`.comparison`: results aggregated over seeds into a :class:`ComparisonTable` (mean ± std, missing
  cells, bold best, derived columns) and its markdown;
- :mod:`.sentences`: a table read out as sentences (:func:`reading`);
- :mod:`.show`: a table in a notebook, as HTML and as a bar chart per metric.
"""

from .comparison import DIRECTIONS, METRICS, MISSING, ComparisonTable, comparison_table
from .sentences import reading

__all__ = ["ComparisonTable", "DIRECTIONS", "METRICS", "MISSING", "comparison_table", "reading"]
