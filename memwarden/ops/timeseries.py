"""The dashboard's figures over time: the health figures, computed per time bucket.

    series = collect_series(store, load_thresholds(), timedelta(hours=24), buckets=24)
    [p.gate_mean for p in series.points]

Each bucket runs the same queries as ``memwarden health`` (:mod:`.figures`) over its own
``[start, end)``, so a chart and the health report never disagree.  Every query is
bounded by an indexed time column; 24 buckets cost about a hundred small queries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..clock import utcnow
from ..errors import InputError
from ..store import Store
from ..store.schema import episodes
from .figures import count_between, latency_percentiles, risk_stats
from .thresholds import Thresholds

__all__ = ["MAX_BUCKETS", "SeriesPoint", "TimeSeries", "collect_series"]

MAX_BUCKETS = 96

#: chart -> the health metrics whose rules are drawn on it as alert lines
CHART_METRICS: dict[str, tuple[str, ...]] = {
    "gate_score": ("risk_gate_benign_mean_score", "risk_gate_benign_max_score"),
    "episode_rate": ("episodes_per_hour",),
    "governance_latency": ("export_memory_latency_p95_ms", "trace_latency_p95_ms"),
}


@dataclass(frozen=True)
class SeriesPoint:
    """One bucket: ``[start, start + bucket)``."""

    start: datetime
    benign_turns: int
    gate_mean: float | None
    gate_max: float | None
    episodes: int
    episodes_per_hour: float
    governance_calls: int
    governance_p50_ms: float | None
    governance_p95_ms: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "benign_turns": self.benign_turns,
            "gate_mean": _round(self.gate_mean),
            "gate_max": _round(self.gate_max),
            "episodes": self.episodes,
            "episodes_per_hour": _round(self.episodes_per_hour),
            "governance_calls": self.governance_calls,
            "governance_p50_ms": _round(self.governance_p50_ms),
            "governance_p95_ms": _round(self.governance_p95_ms),
        }


@dataclass(frozen=True)
class TimeSeries:
    """Points oldest first, and the alert lines of each chart from the thresholds."""

    start: datetime
    end: datetime
    bucket: timedelta
    points: list[SeriesPoint]
    alerts: dict[str, list[dict[str, Any]]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "bucket_seconds": self.bucket.total_seconds(),
            "points": [p.to_dict() for p in self.points],
            "alerts": self.alerts,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _alerts(thresholds: Thresholds) -> dict[str, list[dict[str, Any]]]:
    lines: dict[str, list[dict[str, Any]]] = {}
    for chart, metric_ids in CHART_METRICS.items():
        lines[chart] = [
            {"metric": m, "level": rule.level.name, "op": rule.op, "value": rule.value}
            for m in metric_ids
            if m in thresholds.metrics
            for rule in thresholds.metrics[m].rules
        ]
    return lines


def collect_series(
    store: Store,
    thresholds: Thresholds,
    window: timedelta,
    *,
    buckets: int = 24,
    now: datetime | None = None,
) -> TimeSeries:
    """Gate score, episode rate and governance latency per bucket over ``window``."""
    if not 1 <= buckets <= MAX_BUCKETS:
        raise InputError(f"buckets must be between 1 and {MAX_BUCKETS}")
    end = now or utcnow()
    start = end - window
    size = window / buckets
    hours = size.total_seconds() / 3600
    points: list[SeriesPoint] = []
    with store.read() as conn:
        for i in range(buckets):
            lo = start + size * i
            hi = end if i == buckets - 1 else start + size * (i + 1)
            risk = risk_stats(conn, lo, hi, thresholds.benign_exclude_actions)
            count = count_between(conn, episodes, "ts", lo, hi)
            calls, latency = latency_percentiles(conn, lo, hi, (0.5, 0.95))
            points.append(
                SeriesPoint(
                    start=lo,
                    benign_turns=risk.benign,
                    gate_mean=risk.mean,
                    gate_max=risk.max,
                    episodes=count,
                    episodes_per_hour=count / hours if hours else 0.0,
                    governance_calls=calls,
                    governance_p50_ms=latency[0.5],
                    governance_p95_ms=latency[0.95],
                )
            )
    return TimeSeries(start, end, size, points, _alerts(thresholds))
