"""Rich renderings of the operations reports, for people (machines get JSON)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .health import HealthReport
from .integrity import CheckReport, Violation
from .logsummary import LogSummary
from .review import ReviewReport
from .thresholds import Level

__all__ = ["check_view", "health_view", "log_view", "review_view", "rows_table"]

COLOURS = {
    Level.OK: "green",
    Level.INFO: "cyan",
    Level.WARNING: "yellow",
    Level.CRITICAL: "bold red",
}


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"
    return f"{text}{unit}" if unit == "%" else f"{text} {unit}".strip()


def _status(level: Level) -> Text:
    return Text(level.name, style=COLOURS[level])


def health_view(report: HealthReport) -> RenderableType:
    table = Table(title=f"memwarden health · last {report.window}", title_justify="left")
    for column in ("Metric", "Value", "Target", "Alert If", "Status", "Why"):
        table.add_column(column, overflow="fold")
    for m in report.metrics:
        why = "; ".join(m.matched) or m.note
        samples = f" (n={m.samples})" if m.samples is not None else ""
        table.add_row(
            m.spec.title,
            _fmt(m.value, m.spec.unit) + samples,
            m.spec.target,
            m.spec.alert,
            _status(m.level),
            escape(why),
        )
    verdict: RenderableType
    if report.rollback:
        verdict = Text("ROLLBACK RECOMMENDED: " + "; ".join(report.rollback), style="bold red")
    else:
        verdict = Text(
            f"Overall: {report.level.name} (no rollback criterion met)", style=COLOURS[report.level]
        )
    return Group(table, verdict)


def review_view(report: ReviewReport) -> RenderableType:
    criteria = Table(title=f"memwarden review · last {report.window}", title_justify="left")
    for column in ("Criterion", "Value", "Condition", "Met"):
        criteria.add_column(column, overflow="fold")
    for r in report.criteria:
        met = {
            True: Text("met", "green"),
            False: Text("NOT MET", "bold red"),
            None: Text("—", "cyan"),
        }[r.met]
        c = r.criterion
        condition = "check by hand" if c.manual else f"{c.op} {c.value:g}"
        if r.value is None:
            value = escape(r.note or "—")
        else:  # a figure that is not judged says why (a 30-day item in a 72-hour review)
            value = _fmt(r.value) + (f" ({escape(r.note)})" if r.note else "")
        criteria.add_row(escape(c.title), value, condition, met)
    growth = rows_table(
        "Database growth",
        report.growth,
        ("table", "rows", "added", "per_day", "per_episode", "max_per_episode", "met"),
    )
    days = rows_table(
        "Per day",
        report.days,
        (
            "day",
            "episodes",
            "benign_mean",
            "export_memory_p95_ms",
            "export_memory_calls",
            "trace_p95_ms",
            "trace_calls",
        ),
    )
    verdict = Text(
        "All criteria met." if report.all_met else "Some criteria are NOT MET.",
        style="green" if report.all_met else "bold red",
    )
    return Group(criteria, growth, days, verdict)


def rows_table(title: str, rows: Iterable[dict[str, Any]], columns: Iterable[str]) -> Table:
    names = list(columns)
    table = Table(title=title, title_justify="left")
    for name in names:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(n)) for n in names))
    return table


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    return escape(str(value))


def _violation_table(v: Violation) -> RenderableType:
    head = Text(f"✗ {v.check}: {v.count} — {v.description}", style="bold red")
    hint = Text(f"  repair: {v.repair}", style="dim")
    if not v.rows:
        return Group(head, hint)
    return Group(head, rows_table("", v.rows, v.rows[0].keys()), hint)


def check_view(report: CheckReport) -> RenderableType:
    parts: list[RenderableType] = [
        Text(
            f"memwarden check · {report.dialect} · migration {report.revision} (head {report.head})"
        )
    ]
    if not report.violations:
        parts.append(Text(f"✓ no violations ({len(report.checks_run)} checks)", style="green"))
    parts += [_violation_table(v) for v in report.violations]
    if report.fixed:
        parts.append(Text("Repaired:", style="bold"))
        parts += [Text(f"  • {line}") for line in report.fixed]
    if report.remaining is not None:
        if report.remaining:
            parts.append(Text("Still wrong after --fix:", style="bold red"))
            parts += [Text(f"  ✗ {v.check}: {v.count} ({v.repair})") for v in report.remaining]
        else:
            parts.append(Text("✓ nothing left to repair", style="green"))
    return Group(*parts)


def log_view(summary: LogSummary, expected_errors: float, expected_json: float) -> RenderableType:
    table = Table(
        title=f"memwarden logs · {summary.path} · last {summary.window_end - summary.window_start}",
        title_justify="left",
    )
    for column in ("Pattern", "Count", "Per hour", "Seed expects"):
        table.add_column(column)
    hours = summary.hours
    table.add_row(
        "[ERROR] + [CRITICAL]",
        str(summary.errors),
        f"{summary.per_hour(summary.errors):.2f}",
        f"≤ {expected_errors * hours / 6:.1f} in this window",
    )
    table.add_row(
        "[WARNING] … JSON",
        str(summary.json_warnings),
        f"{summary.per_hour(summary.json_warnings):.2f}",
        f"≤ {expected_json * hours / 6:.1f} in this window",
    )
    table.add_row(
        "[WARNING] (all)", str(summary.warnings), f"{summary.per_hour(summary.warnings):.2f}", ""
    )
    table.add_row(
        "[EPISODE]",
        str(summary.episodes),
        f"{summary.per_hour(summary.episodes):.2f}",
        "~20 per hour",
    )
    for command, n in sorted(summary.governance.items()):
        table.add_row(f"[GOVERNANCE] {escape(command)}", str(n), f"{summary.per_hour(n):.2f}", "")
    parts: list[RenderableType] = [table]
    if not summary.exists:
        parts.append(Text(f"no log file at {summary.path}", style="yellow"))
    elif not summary.covers_window:
        parts.append(
            Text(f"the log only goes back to {summary.first_line} (rotation)", style="yellow")
        )
    for title, lines in (
        ("Recent errors", summary.recent_errors),
        ("Recent JSON warnings", summary.recent_json_warnings),
    ):
        if lines:
            parts.append(Text(title + ":", style="bold"))
            parts += [Text("  " + line) for line in lines]
    return Group(*parts)
