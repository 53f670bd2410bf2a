"""What /proc/cpuinfo says (Linux; elsewhere nothing): read by the environment block and by
blas, which compares the CPU's vector width with the OpenBLAS kernels in use."""
from __future__ import annotations

from pathlib import Path


def cpuinfo_value(key: str) -> str | None:
    """The value of the first /proc/cpuinfo line for `key` (None where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
