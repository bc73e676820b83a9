"""`memwarden health --review 72h|30d`: the seed's Success Criteria and 30-Day Ops Review.

Figures over the whole window, per-day series (benign risk mean, governance latency),
and database growth per table; each criterion of the thresholds file is then met, not
met, or (for what memwarden cannot see, such as support tickets) left to a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from ..clock import utcnow
from ..store import Store
from ..store.schema import episodes
from .figures import (
    GROWTH_TABLES,
    active_users,
    count_between,
    fast_reads,
    governance_stats,
    governance_users,
    latency_percentiles,
    risk_stats,
    table_rows,
)
from .logsummary import summarize_log
from .orphans import count_orphans
from .thresholds import Criterion, Thresholds, compare

__all__ = ["CriterionResult", "ReviewReport", "collect_review"]

DAY = timedelta(days=1)


@dataclass(frozen=True)
class CriterionResult:
    """A criterion with its figure: met (True), not met (False) or not decided (None)."""

    criterion: Criterion
    value: float | None
    met: bool | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        c = self.criterion
        return {
            "id": c.id,
            "title": c.title,
            "figure": c.figure or None,
            "value": None if self.value is None else round(self.value, 4),
            "condition": None if c.manual else f"{c.op} {c.value:g}",
            "met": self.met,
            "note": self.note or c.manual,
        }


@dataclass
class ReviewReport:
    """The review of one window."""

    window: timedelta
    start: datetime
    end: datetime
    figures: dict[str, float | None]
    criteria: list[CriterionResult]
    growth: list[dict[str, Any]]
    days: list[dict[str, Any]]
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def all_met(self) -> bool:
        return all(r.met is not False for r in self.criteria)

    @property
    def exit_code(self) -> int:
        """0 when no criterion is unmet, else 1."""
        return 0 if self.all_met else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_seconds": self.window.total_seconds(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "all_met": self.all_met,
            "exit_code": self.exit_code,
            "criteria": [c.to_dict() for c in self.criteria],
            "figures": {k: None if v is None else round(v, 4) for k, v in self.figures.items()},
            "growth": self.growth,
            "days": self.days,
            "context": self.context,
        }


def _days(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    buckets = []
    cursor = start
    while cursor < end:
        buckets.append((cursor, min(cursor + DAY, end)))
        cursor += DAY
    return buckets


def _daily(
    conn: Connection, thresholds: Thresholds, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    rows = []
    for lo, hi in _days(start, end):
        risk = risk_stats(conn, lo, hi, thresholds.benign_exclude_actions)
        row: dict[str, Any] = {
            "day": lo.isoformat(sep=" ", timespec="minutes"),
            "episodes": count_between(conn, episodes, "ts", lo, hi),
            "benign_mean": risk.mean,
        }
        for command, key in (
            ("/export_memory", "export_memory_p95_ms"),
            ("/trace", "trace_p95_ms"),
        ):
            n, values = latency_percentiles(conn, lo, hi, (0.95,), command)
            row[key] = values[0.95]
            row[key.replace("p95_ms", "calls")] = n
        rows.append(row)
    return rows


def _growth(
    conn: Connection, thresholds: Thresholds, start: datetime, end: datetime, new_episodes: int
) -> list[dict[str, Any]]:
    days = max((end - start) / DAY, 1e-9)
    rows = []
    for table, column in GROWTH_TABLES:
        added = count_between(conn, table, column, start, end)
        limit = thresholds.growth_per_episode_max.get(table.name)
        per_episode = added / new_episodes if new_episodes else None
        rows.append(
            {
                "table": table.name,
                "rows": table_rows(conn, table),
                "added": added,
                "per_day": round(added / days, 2),
                "per_episode": None if per_episode is None else round(per_episode, 4),
                "max_per_episode": limit,
                "met": None if limit is None or per_episode is None else per_episode <= limit,
            }
        )
    return rows


def _max_or_none(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def collect_review(
    store: Store,
    thresholds: Thresholds,
    window: timedelta,
    log_file: Path | None,
    *,
    now: datetime | None = None,
) -> ReviewReport:
    """Compute the review figures over the last ``window`` and judge every criterion."""
    end = now or utcnow()
    start = end - window
    baseline_end = min(start + timedelta(hours=thresholds.risk_baseline_hours), end)
    with store.read() as conn:
        fast_reads(conn)
        risk = risk_stats(conn, start, end, thresholds.benign_exclude_actions)
        baseline = risk_stats(conn, start, baseline_end, thresholds.benign_exclude_actions)
        gov = governance_stats(conn, start, end)
        _, all_latency = latency_percentiles(conn, start, end, (0.95,))
        new_episodes = count_between(conn, episodes, "ts", start, end)
        active = active_users(conn, start, end)
        adopters = governance_users(conn, start, end)
        orphans = count_orphans(conn)
        days = _daily(conn, thresholds, start, end)
        growth = _growth(conn, thresholds, start, end, new_episodes)
    log = summarize_log(log_file, window) if log_file is not None else None
    drifts = [
        abs(d["benign_mean"] - baseline.mean)
        for d in days
        if d["benign_mean"] is not None and baseline.mean is not None
    ]
    figures: dict[str, float | None] = {
        "risk_gate_benign_mean": risk.mean,
        "risk_gate_benign_mean_abs": None if risk.mean is None else abs(risk.mean),
        "risk_gate_baseline_mean": baseline.mean,
        "risk_gate_daily_drift": max(drifts) if drifts else None,
        "governance_success_percent": gov.success_percent,
        "governance_latency_p95_ms": all_latency[0.95],
        "exceptions_per_10k_episodes": (
            log.errors * 10_000 / new_episodes if log is not None and new_episodes else None
        ),
        "json_warnings_per_100k_episodes": (
            log.json_warnings * 100_000 / new_episodes if log is not None and new_episodes else None
        ),
        "orphaned_entries": float(sum(orphans.values())),
        "governance_adoption_percent": 100.0 * adopters / active if active else None,
        "export_memory_worst_day_p95_ms": _max_or_none([d["export_memory_p95_ms"] for d in days]),
        "trace_worst_day_p95_ms": _max_or_none([d["trace_p95_ms"] for d in days]),
    }
    for row in growth:
        figures[f"growth_per_episode.{row['table']}"] = row["per_episode"]
    criteria = [_judge(c, figures, log is None, window) for c in thresholds.criteria]
    criteria += [
        _judge(
            Criterion(
                id=f"growth_{row['table']}",
                title=f"Database growth: {row['table']} ≤ {row['max_per_episode']:g} new rows per episode",
                figure=f"growth_per_episode.{row['table']}",
                op="<=",
                value=float(row["max_per_episode"]),
            ),
            figures,
            log is None,
            window,
        )
        for row in growth
        if row["max_per_episode"] is not None
    ]
    context: dict[str, Any] = {
        "episodes": new_episodes,
        "active_users": active,
        "governance_users": adopters,
        "governance_calls": gov.by_command,
        "benign_turns": risk.benign,
        "orphans": orphans,
    }
    if log is not None:
        context["log"] = {k: v for k, v in log.to_dict().items() if not k.startswith("recent")}
    return ReviewReport(window, start, end, figures, criteria, growth, days, context)


_LOG_FIGURES = ("exceptions_per_10k_episodes", "json_warnings_per_100k_episodes")


def _judge(
    criterion: Criterion, figures: dict[str, float | None], no_log: bool, window: timedelta
) -> CriterionResult:
    if criterion.manual:
        return CriterionResult(criterion, None, None, criterion.manual)
    if window < timedelta(days=criterion.min_days):
        # A 30-day expectation (adoption of 20-40 %) is no failure after 72 hours.
        why = f"judged in a review of {criterion.min_days:g} days or more"
        return CriterionResult(criterion, figures.get(criterion.figure), None, why)
    if criterion.figure not in figures:
        return CriterionResult(criterion, None, None, f"unknown figure {criterion.figure!r}")
    value = figures[criterion.figure]
    if value is None:
        why = "no log file configured" if no_log and criterion.figure in _LOG_FIGURES else "no data"
        return CriterionResult(criterion, None, None, why)
    return CriterionResult(criterion, value, compare(value, criterion.op, criterion.value))
