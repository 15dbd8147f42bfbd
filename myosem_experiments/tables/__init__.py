"""Comparison tables generated from result JSON files, never typed.

- :mod:`.comparison`: results aggregated over seeds into a :class:`ComparisonTable` (mean ± std, missing
  cells, bold best, derived columns) and its markdown;
- :mod:`.sentences`: a table read out as sentences (:func:`reading`);
- :mod:`.free_text`: the free-text report read out as sentences against its targets (:func:`free_text_reading`);
- :mod:`.show`: a table in a notebook, as HTML and as a bar chart per metric.
"""

from .comparison import DIRECTIONS, METRICS, MISSING, ComparisonTable, comparison_table
from .free_text import free_text_reading
from .sentences import reading

__all__ = ["ComparisonTable", "DIRECTIONS", "METRICS", "MISSING", "comparison_table", "free_text_reading", "reading"]
