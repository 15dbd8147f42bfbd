"""The command line's whole flow on the tiny synthetic set, shared by the CLI and device tests (trained once)."""

from __future__ import annotations

import contextlib
import io
import json
import os

from myosem_core.training.resume import INTERRUPT_ENV
from myosem_experiments.cli import main
from tiny_myosem import CLI_TINY


def run_cli(argv) -> dict:
    """``myosem <argv> --json`` in process; asserts exit 0 and returns the printed JSON."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(argv)
    assert code == 0, (argv[0], code)
    return json.loads(buf.getvalue())


def build_flow(root) -> dict:
    """prepare -> train-stage2 (interrupted, then resumed) -> train-stage3 -> index on the tiny synthetic set."""
    old = {k: os.environ.get(k) for k in ("MYOSEM_CACHE", INTERRUPT_ENV)}
    os.environ["MYOSEM_CACHE"] = str(root / "cache")
    common = [*CLI_TINY, "--runs", str(root / "runs"), "--json"]
    out = {"root": root, "common": common}
    try:
        out["prepare"] = run_cli(["prepare", *common])
        os.environ[INTERRUPT_ENV] = "0"
        out["interrupted"] = main(["train-stage2", *common])
        del os.environ[INTERRUPT_ENV]
        out["stage2"] = run_cli(["train-stage2", *common])
        out["stage3"] = run_cli(["train-stage3", *common])
        out["index"] = run_cli(["index", *common])
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return out
