"""Shared by the notebook generator scripts: build a notebook from (kind, source, *tags) tuples."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def notebook(cells) -> nbformat.NotebookNode:
    """A notebook on the ``myosem`` kernel: ``("md"|"code", source, *tags)`` per cell, outputs empty."""
    nb = new_notebook()
    nb.metadata["kernelspec"] = {"name": "myosem", "display_name": "Python (myosem)", "language": "python"}
    out = []
    for kind, src, *tags in cells:
        c = new_markdown_cell(src) if kind == "md" else new_code_cell(src)
        if tags:
            c.metadata["tags"] = list(tags)
        out.append(c)
    nb.cells = out
    return nb
