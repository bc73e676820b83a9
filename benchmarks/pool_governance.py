"""Pool runs of :mod:`.bench_governance` written with ``--json``.

    python -m benchmarks.pool_governance RUN.json [RUN.json ...]

For each measured call, prints the per-run p95s (their range, and how many runs were
within the issue's goal) and the p50/p95/p99 of all calls of all runs together: a p95
of one run is of ~100-300 calls within a second or so, which one slow second of a
shared box can move, while a service's p95 is read over many minutes.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .percentiles import percentile

__all__ = ["main"]

GOALS_MS = {"trace": 1.0, "export": 5.0, "delete": 5.0}  # issue 4's p95 goals


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="files of bench_governance --json")
    args = parser.parse_args()
    runs = [json.loads(path.read_text(encoding="utf-8")) for path in args.runs]
    runs.sort(key=lambda run: str(run["started"]))
    print(f"{len(runs)} runs, {runs[0]['started']} to {runs[-1]['started']}; {runs[0]['machine']}")
    names = [name for name in runs[0]["ms"] if all(name in run["ms"] for run in runs)]
    for name in names:
        per_run = [percentile(run["ms"][name], 95) for run in runs]
        pooled = [ms for run in runs for ms in run["ms"][name]]
        goal = GOALS_MS.get(name)
        within = f"{sum(p <= goal for p in per_run)}/{len(runs)} ≤ {goal:g}" if goal else "-"
        print(
            f"{name:32} per-run p95 {min(per_run):.2f}-{max(per_run):.2f} ({within}); "
            f"all {len(pooled):,} calls p50 {percentile(pooled, 50):.2f} "
            f"p95 {percentile(pooled, 95):.2f} p99 {percentile(pooled, 99):.2f} ms"
        )


if __name__ == "__main__":
    main()
