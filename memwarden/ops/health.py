"""`memwarden health`: the seed's dashboard, computed from the database and the log.

Each metric is judged against its rules in the thresholds file; the "Decision Criteria
for Rollback" turn matching metrics CRITICAL and produce ``ROLLBACK RECOMMENDED``.

Benign traffic is every turn whose final action is not in ``[benign].exclude_actions``
(default: everything but BLOCK); see ``thresholds.toml`` for why.  Exceptions and JSON
warnings are not rows in the database: they are counted in the structured log
(``[ERROR]``/``[CRITICAL]`` lines, and ``[WARNING]`` lines that mention JSON).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from ..clock import utcnow
from ..store import Store
from ..store.schema import episodes, tasks
from .figures import count_between, fast_reads, governance_stats, latency_percentiles, risk_stats
from .logsummary import LogSummary, summarize_log
from .orphans import ORPHANS, count_orphans_on
from .thresholds import Level, MetricSpec, Thresholds

__all__ = ["HealthReport", "MetricResult", "collect_health", "judge"]

NO_LOG = "no log file configured (--log-file or MEMWARDEN_LOG_FILE)"

#: Connections that count orphans while the windowed figures and the log are read.
ORPHAN_WORKERS = 2


@dataclass
class MetricResult:
    """One dashboard row, judged."""

    spec: MetricSpec
    value: float | None
    samples: int | None
    level: Level = Level.OK
    matched: list[str] = field(default_factory=list)
    note: str = ""
    judged: bool = True  # False: no data, or fewer samples than the metric needs

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.spec.id,
            "title": self.spec.title,
            "value": None if self.value is None else round(self.value, 4),
            "unit": self.spec.unit,
            "samples": self.samples,
            "target": self.spec.target,
            "alert": self.spec.alert,
            "status": self.level.name,
            "matched": self.matched,
            "note": self.note,
        }


@dataclass
class HealthReport:
    """Every metric over one window, and the rollback decision."""

    window: timedelta
    start: datetime
    end: datetime
    database: str
    log_file: str | None
    thresholds: str
    metrics: list[MetricResult]
    rollback: list[str]
    context: dict[str, Any]

    @property
    def level(self) -> Level:
        return max((m.level for m in self.metrics), default=Level.OK)

    @property
    def exit_code(self) -> int:
        return self.level.exit_code

    def metric(self, metric_id: str) -> MetricResult:
        return next(m for m in self.metrics if m.spec.id == metric_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_seconds": self.window.total_seconds(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "database": self.database,
            "log_file": self.log_file,
            "thresholds": self.thresholds,
            "status": self.level.name,
            "exit_code": self.exit_code,
            "rollback_recommended": bool(self.rollback),
            "rollback_reasons": self.rollback,
            "metrics": [m.to_dict() for m in self.metrics],
            "context": self.context,
        }


def judge(
    spec: MetricSpec, value: float | None, samples: int | None, note: str = ""
) -> MetricResult:
    """The metric's level: the highest matching rule, INFO when it cannot be judged."""
    result = MetricResult(spec, value, samples, note=note)
    if value is None:
        result.level, result.judged = Level.INFO, False
        result.note = note or "no data in the window"
        return result
    if samples is not None and samples < spec.min_samples:
        result.level, result.judged = Level.INFO, False
        result.note = f"not judged: {samples} samples < {spec.min_samples}" + (
            f"; {note}" if note else ""
        )
        return result
    for rule in spec.rules:
        if rule.matches(value):
            result.matched.append(
                f"{rule.describe()} ({rule.source})" if rule.source else rule.describe()
            )
            result.level = max(result.level, rule.level)
    return result


def _per(count: float, denominator: float, scale: float) -> float | None:
    return count * scale / denominator if denominator else None


def _db_figures(
    conn: Connection, thresholds: Thresholds, start: datetime, end: datetime, hours: float
) -> tuple[dict[str, tuple[float | None, int | None, str]], dict[str, Any]]:
    risk = risk_stats(conn, start, end, thresholds.benign_exclude_actions)
    episode_count = count_between(conn, episodes, "ts", start, end)
    task_count = count_between(conn, tasks, "created_at", start, end)
    gov = governance_stats(conn, start, end)
    excluded = f"{risk.excluded} turns excluded as not benign" if risk.excluded else ""
    figures: dict[str, tuple[float | None, int | None, str]] = {
        "risk_gate_benign_mean_score": (risk.mean, risk.benign, excluded),
        "risk_gate_benign_max_score": (risk.max, risk.benign, excluded),
        "governance_success_percent": (gov.success_percent, gov.calls, ""),
        "episodes_per_hour": (episode_count / hours, episode_count, ""),
        "tasks_per_hour": (task_count / hours, task_count, ""),
    }
    for command, prefix in (("/export_memory", "export_memory"), ("/trace", "trace")):
        n, values = latency_percentiles(conn, start, end, (0.5, 0.95), command)
        empty = "" if n else f"no {command} calls in the window"
        figures[f"{prefix}_latency_p95_ms"] = (values[0.95], n, empty)
        figures[f"{prefix}_latency_p50_ms"] = (values[0.5], n, empty)
    context = {
        "episodes": episode_count,
        "tasks_created": task_count,
        "benign_turns": risk.benign,
        "excluded_turns": risk.excluded,
        "benign_high_risk_count": risk.high_risk,
        "governance_calls": gov.by_command,
    }
    return figures, context


def _orphan_figure(orphans: dict[str, int]) -> tuple[float | None, int | None, str]:
    return (
        float(sum(orphans.values())),
        None,
        ", ".join(f"{k}: {v}" for k, v in orphans.items() if v),
    )


def _log_figures(
    log: LogSummary | None, episode_count: int
) -> dict[str, tuple[float | None, int | None, str]]:
    if log is None:
        return {
            key: (None, None, NO_LOG)
            for key in (
                "json_warnings_per_1k_episodes",
                "json_warnings_per_hour",
                "exceptions_per_1k_episodes",
                "exceptions_per_hour",
            )
        }
    note = "" if log.covers_window else f"log only covers since {log.first_line}"
    if not log.exists:
        note = f"log file {log.path} does not exist yet"
    return {
        "json_warnings_per_1k_episodes": (
            _per(log.json_warnings, episode_count, 1000),
            episode_count,
            note,
        ),
        "json_warnings_per_hour": (log.per_hour(log.json_warnings), None, note),
        "exceptions_per_1k_episodes": (_per(log.errors, episode_count, 1000), episode_count, note),
        "exceptions_per_hour": (log.per_hour(log.errors), None, note),
    }


ORDER = (
    "risk_gate_benign_mean_score",
    "risk_gate_benign_max_score",
    "export_memory_latency_p95_ms",
    "export_memory_latency_p50_ms",
    "trace_latency_p95_ms",
    "trace_latency_p50_ms",
    "json_warnings_per_1k_episodes",
    "json_warnings_per_hour",
    "governance_success_percent",
    "episodes_per_hour",
    "tasks_per_hour",
    "orphaned_entries",
    "exceptions_per_1k_episodes",
    "exceptions_per_hour",
)


def collect_health(
    store: Store,
    thresholds: Thresholds,
    window: timedelta,
    log_file: Path | None,
    *,
    now: datetime | None = None,
) -> HealthReport:
    """Compute and judge every dashboard metric over the last ``window``.

    ``now`` (naive UTC, like the database) is for tests; the log is read in local time.
    """
    end = now or utcnow()
    start = end - window
    hours = window.total_seconds() / 3600
    kinds = [k for k in ORPHANS if k.table.name not in thresholds.orphan_skip_tables]
    # The orphan counts read every referencing row (~90 % of the work): they run on
    # connections of their own while this thread reads the windowed figures and the log.
    with ThreadPoolExecutor(ORPHAN_WORKERS, thread_name_prefix="orphans") as pool:
        counting = count_orphans_on(pool, store, kinds)
        with store.read() as conn:
            fast_reads(conn)
            figures, context = _db_figures(conn, thresholds, start, end, hours)
        log = summarize_log(log_file, window) if log_file is not None else None
        orphans = {name: count.result() for name, count in counting.items()}
    figures["orphaned_entries"] = _orphan_figure(orphans)
    context["orphans"] = orphans
    figures.update(_log_figures(log, context["episodes"]))
    if log is not None:
        context["log"] = {k: v for k, v in log.to_dict().items() if not k.startswith("recent")}
    results = [judge(thresholds.metric(m), *figures[m]) for m in ORDER]
    by_id = {r.spec.id: r for r in results}
    reasons: list[str] = []
    for rule in thresholds.rollback:
        result = by_id.get(rule.metric)
        if result is None or not result.judged or result.value is None:
            continue
        if rule.matches(result.value):
            reasons.append(rule.reason)
            result.level = Level.CRITICAL
            result.matched.append(f"rollback: {rule.reason}")
    return HealthReport(
        window=window,
        start=start,
        end=end,
        database=_safe_url(store),
        log_file=str(log_file) if log_file else None,
        thresholds=thresholds.source,
        metrics=results,
        rollback=reasons,
        context=context,
    )


def _safe_url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=True)
