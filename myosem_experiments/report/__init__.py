"""The book's report: tables and figures built from result files written by the code, never typed.

- :mod:`.comparison`: results aggregated over seeds into a :class:`ComparisonTable` (mean ± std, missing
  and not-applicable cells, bold best, derived columns) and its markdown; :mod:`.sentences`: a table read out as sentences;
  :mod:`.show`: any table in a notebook, and a bar chart per metric;
- one module per chapter's own results: :mod:`.text` (Stage 1), :mod:`.recipe` (the Stage-2 recipe search),
  :mod:`.embridge` and :mod:`.embridge_figures` (notebook 07), :mod:`.aemg` (notebook 08), :mod:`.free_text`
  (notebook 09: the free-text report read out against its targets).
"""

from .comparison import DIRECTIONS, METRICS, MISSING, NOT_APPLICABLE, ComparisonTable, comparison_table
from .sentences import reading

__all__ = ["ComparisonTable", "DIRECTIONS", "METRICS", "MISSING", "NOT_APPLICABLE", "comparison_table", "reading"]
