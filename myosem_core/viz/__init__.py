"""Plotting helpers for the book's notebooks, one submodule per topic (data, text, retrieval, ...)."""

from __future__ import annotations


def tag(title: str, synthetic: bool) -> str:
    """Append '(synthetic data)' to a title when the data is synthetic."""
    return f"{title} (synthetic data)" if synthetic else title

