"""One exception type for bad input, always naming the file, field and expectation."""

from __future__ import annotations


class DataError(ValueError):
    """Raised when input data is missing, malformed or inconsistent.

    The message always has the form ``<source>: field '<field>': <problem>``
    so a user can find the offending file and fix it.
    """

    def __init__(self, source: object, field: str | None, problem: str):
        self.source = str(source)
        self.field = field
        self.problem = problem
        where = f"{self.source}: field '{field}'" if field else self.source
        super().__init__(f"{where}: {problem}")


class ConfigError(ValueError):
    """Raised for an unknown dataset, protocol, preset or an impossible setting."""
