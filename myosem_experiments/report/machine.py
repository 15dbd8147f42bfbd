"""The machine a figure was measured on: CPU model, the instruction sets that change floating-point results,
cores, torch and Python, and the load when the measurement started (was the machine shared?)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def cpu_model() -> tuple[str, list[str]]:
    """The CPU's model name (as ``lscpu`` prints it) and which of :data:`ISA_FLAGS` it has."""
    cpu, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                cpu = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    return cpu, [f for f in ISA_FLAGS if f in flags]


def machine(load: bool = True) -> dict:
    """This machine; ``load`` adds the 1-minute load average now."""
    import numpy as np
    import torch

    cpu, isa = cpu_model()
    out = {"cpu": cpu, "isa": isa, "cpus_visible": os.cpu_count(), "torch": torch.__version__,
           "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(), "python": platform.python_version(),
           "numpy": np.__version__}
    if load:
        out["load_avg_1min_at_start"] = round(os.getloadavg()[0], 2)
    return out
