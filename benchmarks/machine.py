"""What every benchmark prints first: the machine it ran on."""

from __future__ import annotations

import os
import platform
import time

from memwarden.store.engine import sqlite_module

from .percentiles import percentile


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


def steadiness(runs: int = 300, iterations: int = 20_000) -> str:
    """How steady the CPU is right now: the same ~1 ms of Python work ``runs`` times,
    back to back, as p50 / p95 and their ratio (~1.02 on an idle dedicated core; a
    shared VM's neighbours show as a higher ratio, which the measured p95s share)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        total = 0
        for i in range(iterations):
            total += i
        samples.append((time.perf_counter() - start) * 1000)
    p50, p95 = percentile(samples, 50), percentile(samples, 95)
    return (
        f"CPU steadiness: a fixed {iterations:,}-step loop p50 {p50:.3f} ms, "
        f"p95 {p95:.3f} ms (p95/p50 {p95 / p50:.2f})"
    )
