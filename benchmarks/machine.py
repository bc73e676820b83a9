"""What every benchmark prints first: the machine it ran on."""

from __future__ import annotations

import os
import platform

from memwarden.store.engine import sqlite_module


def describe() -> str:
    """One line: CPU model, cores, memory, Python and SQLite versions."""
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kb = int(f.readline().split()[1])
            mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"machine: {cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}; "
        f"SQLite {sqlite_module().sqlite_version}"
    )
