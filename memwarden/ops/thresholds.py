"""Alert levels and the thresholds file: what each health figure is judged against.

The defaults ship as ``thresholds.toml`` beside this module (the seed runbook's values);
an operator's file is merged over them, so it only needs what it changes.
"""

from __future__ import annotations

import operator
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError

__all__ = [
    "MAX_WINDOW",
    "Criterion",
    "Level",
    "MetricSpec",
    "RollbackRule",
    "Rule",
    "Thresholds",
    "compare",
    "load_thresholds",
    "parse_duration",
    "parse_window",
]


class Level(IntEnum):
    """How bad a figure is; the worst one decides the exit code."""

    OK = 0
    INFO = 1
    WARNING = 2
    CRITICAL = 3

    @property
    def exit_code(self) -> int:
        """0 for OK and INFO, 1 for WARNING, 2 for CRITICAL (for cron and CI)."""
        return {Level.OK: 0, Level.INFO: 0, Level.WARNING: 1, Level.CRITICAL: 2}[self]


_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def compare(value: float, op: str, limit: float) -> bool:
    """``value op limit``, e.g. ``compare(0.6, ">", 0.5)``."""
    return _OPS[op](value, limit)


@dataclass(frozen=True)
class Rule:
    """``level`` applies when ``value op limit``; ``source`` says which seed table."""

    level: Level
    op: str
    value: float
    source: str = ""

    def matches(self, value: float) -> bool:
        return compare(value, self.op, self.value)

    def describe(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass(frozen=True)
class MetricSpec:
    """One dashboard row: title, target and alert columns, and its rules."""

    id: str
    title: str
    target: str
    alert: str
    unit: str
    min_samples: int
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class RollbackRule:
    """A "Decision Criteria for Rollback" line."""

    metric: str
    op: str
    value: float
    reason: str

    def matches(self, value: float) -> bool:
        return compare(value, self.op, self.value)


@dataclass(frozen=True)
class Criterion:
    """A success criterion or 30-day review item: ``figure op value``, or manual."""

    id: str
    title: str
    figure: str = ""
    op: str = ">="
    value: float = 0.0
    manual: str = ""
    # Judged only in a review window at least this many days long (the 30-day items).
    min_days: float = 0.0


@dataclass(frozen=True)
class Thresholds:
    """Everything the thresholds file says."""

    benign_exclude_actions: tuple[str, ...]
    metrics: Mapping[str, MetricSpec]
    rollback: tuple[RollbackRule, ...]
    criteria: tuple[Criterion, ...]
    growth_per_episode_max: Mapping[str, float]
    risk_baseline_hours: float
    log_errors_per_6h: float
    log_json_warnings_per_6h: float
    source: str
    orphan_skip_tables: tuple[str, ...] = ()

    def metric(self, metric_id: str) -> MetricSpec:
        try:
            return self.metrics[metric_id]
        except KeyError:
            raise ConfigError(f"thresholds file has no [metrics.{metric_id}]") from None


def _default_text() -> str:
    return resources.files(__package__).joinpath("thresholds.toml").read_text("utf-8")


def load_thresholds(path: Path | str | None = None) -> Thresholds:
    """The packaged defaults, with the file at ``path`` (if any) merged over them."""
    data = tomllib.loads(_default_text())
    source = "defaults"
    if path is not None and str(path):
        file = Path(path).expanduser()
        try:
            override = tomllib.loads(file.read_text("utf-8"))
        except OSError as e:
            raise ConfigError(f"cannot read thresholds file {file}: {e.strerror}") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"thresholds file {file} is not valid TOML: {e}") from e
        unknown = _unknown_key(override, data)
        if unknown is not None:  # a misspelled key would silently keep the default
            raise ConfigError(f"thresholds file {file}: unknown key {unknown!r}")
        data = _merge(data, override)
        source = str(file)
    try:
        return _build(data, source)
    except (AttributeError, KeyError, TypeError, ValueError) as e:  # a table given as a value
        raise ConfigError(f"invalid thresholds ({source}): {e}") from e


# What a [metrics.X] table may hold (not every default sets them all).
_METRIC_FIELDS = frozenset(
    {"title", "target", "alert", "unit", "min_samples", "rules", "skip_tables"}
)
# Tables whose keys are names of their own (database tables), not fields.
_OPEN_TABLES = frozenset({"review.growth_per_episode_max"})


def _unknown_key(over: Mapping[str, Any], base: Mapping[str, Any], path: str = "") -> str | None:
    """The first dotted key of ``over`` the shipped thresholds do not know, or None."""
    if path in _OPEN_TABLES:
        return None
    for key, value in over.items():
        dotted = f"{path}.{key}" if path else key
        if path.startswith("metrics.") and path.count(".") == 1:
            if key not in _METRIC_FIELDS:
                return dotted
            continue
        if key not in base:
            return dotted
        if isinstance(value, Mapping) and isinstance(base[key], Mapping):
            found = _unknown_key(value, base[key], dotted)
            if found is not None:
                return found
    return None


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _days(raw: Any) -> float:
    """A criterion's ``min_days``: 0 to 366 (a review window is at most a year)."""
    days = float(raw)
    if not 0 <= days <= MAX_WINDOW.days:
        raise ValueError(f"min_days must lie in 0-{MAX_WINDOW.days}, not {raw!r}")
    return days


def _op(raw: Any) -> str:
    if raw not in _OPS:
        raise ValueError(f"op must be one of {', '.join(_OPS)}, not {raw!r}")
    return str(raw)


def _build(data: Mapping[str, Any], source: str) -> Thresholds:
    metrics: dict[str, MetricSpec] = {}
    for metric_id, spec in data["metrics"].items():
        rules = tuple(
            Rule(
                Level[str(r["level"]).upper()],
                _op(r["op"]),
                float(r["value"]),
                str(r.get("source", "")),
            )
            for r in spec.get("rules", [])
        )
        metrics[metric_id] = MetricSpec(
            id=metric_id,
            title=str(spec.get("title", metric_id)),
            target=str(spec.get("target", "")),
            alert=str(spec.get("alert", "")),
            unit=str(spec.get("unit", "")),
            min_samples=int(spec.get("min_samples", 0)),
            rules=rules,
        )
    rollback = tuple(
        RollbackRule(str(r["metric"]), _op(r["op"]), float(r["value"]), str(r["reason"]))
        for r in data.get("rollback", [])
    )
    for rule in rollback:
        if rule.metric not in metrics:
            raise ValueError(f"rollback rule names unknown metric {rule.metric!r}")
    review = data.get("review", {})
    criteria = tuple(
        Criterion(
            id=str(c["id"]),
            title=str(c["title"]),
            figure=str(c.get("figure", "")),
            op=_op(c.get("op", ">=")),
            value=float(c.get("value", 0.0)),
            manual=str(c.get("manual", "")),
            min_days=_days(c.get("min_days", 0.0)),
        )
        for c in review.get("criteria", [])
    )
    logs = data.get("logs", {})
    return Thresholds(
        benign_exclude_actions=tuple(str(a).upper() for a in data["benign"]["exclude_actions"]),
        metrics=metrics,
        rollback=rollback,
        criteria=criteria,
        growth_per_episode_max={
            str(k): float(v) for k, v in review.get("growth_per_episode_max", {}).items()
        },
        risk_baseline_hours=float(review.get("risk_baseline_hours", 72)),
        log_errors_per_6h=float(logs.get("errors_per_6h", 2)),
        log_json_warnings_per_6h=float(logs.get("json_warnings_per_6h", 3)),
        source=source,
        orphan_skip_tables=tuple(
            str(t) for t in data["metrics"].get("orphaned_entries", {}).get("skip_tables", [])
        ),
    )


_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``"6h"``, ``"30d"``, ``"90m"``, ``"1h30m"`` -> a positive :class:`timedelta`."""
    raw = text.strip().lower().replace(" ", "")
    parts = _DURATION.findall(raw)
    if not raw or "".join(n + u for n, u in parts) != raw:
        raise InputError(f"not a duration: {text!r} (use e.g. 6h, 30d, 90m, 1h30m)")
    seconds = sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    if seconds <= 0:
        raise InputError(f"a duration must be positive: {text!r}")
    return timedelta(seconds=seconds)


MAX_WINDOW = timedelta(days=366)


def parse_window(text: str) -> timedelta:
    """A window to look back over (health, review, log summary): a duration of at most
    a year (a longer one would reach before any deployment, or past the calendar)."""
    try:
        window = parse_duration(text)
    except OverflowError:
        window = MAX_WINDOW + MAX_WINDOW
    if window > MAX_WINDOW:
        raise InputError(f"a window is at most {MAX_WINDOW.days} days: {text!r}")
    return window
