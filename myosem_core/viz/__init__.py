"""Plotting helpers for the book's notebooks, one submodule per topic (data, text, retrieval, ...)."""
