"""Database figures for health and review, in dialect-neutral Core SQL.

Every query is bounded by an indexed time column (``risk_log.ts``, ``episodes.ts``,
``tasks.created_at``, ``governance_log.ts``), except the orphan counts, which must look
at every row.  Percentiles are nearest-rank, computed in the database with
``ORDER BY ... LIMIT 1 OFFSET k`` so that no latency list travels to Python.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Connection, Table, case, distinct, func, select, true
from sqlalchemy.sql.elements import ColumnElement

from ..store.schema import (
    belief_history,
    belief_sources,
    episodes,
    governance_log,
    risk_log,
    semantic_beliefs,
    task_events,
    tasks,
)

__all__ = [
    "GROWTH_TABLES",
    "GovernanceStats",
    "RiskStats",
    "active_users",
    "count_between",
    "fast_reads",
    "governance_stats",
    "governance_users",
    "latency_percentiles",
    "risk_stats",
    "table_rows",
]

#: Tables with the column that says when a row was created (database growth).
GROWTH_TABLES: tuple[tuple[Table, str], ...] = (
    (episodes, "ts"),
    (risk_log, "ts"),
    (semantic_beliefs, "created_at"),
    (belief_sources, "ts"),
    (belief_history, "ts"),
    (tasks, "created_at"),
    (task_events, "ts"),
    (governance_log, "ts"),
)


def fast_reads(conn: Connection) -> None:
    """Let SQLite read up to 1 GiB of the file through mmap on this connection, unless
    mapping is turned off (``Settings.sqlite_mmap_mb = 0``).

    The orphan counts read every referencing row and probe or merge with its parent's
    key; with mmap a page costs a memory access instead of a read() call (health's
    counts on a million episodes: 325 instead of 388 ms of CPU, docs/benchmarks.md).
    """
    if conn.dialect.name != "sqlite":
        return
    current = int(conn.exec_driver_sql("PRAGMA mmap_size").scalar_one())
    # 0 is the operator's ``sqlite_mmap_mb = 0`` (mapping off): keep it so.  The wider
    # mapping stays with the pooled connection, which is harmless.
    if 0 < current < MMAP_BYTES:
        conn.exec_driver_sql(f"PRAGMA mmap_size = {MMAP_BYTES}")


MMAP_BYTES = 1 << 30


@dataclass(frozen=True)
class RiskStats:
    """The risk gate's first-draft scores on benign turns in a window."""

    benign: int
    mean: float | None
    max: float | None
    excluded: int  # turns whose action marks them as not benign (e.g. BLOCK)
    high_risk: int  # benign turns scoring > 1 (the seed's Check 1 "high_risk_count")


def _between(column: Column[datetime], start: datetime, end: datetime) -> ColumnElement[bool]:
    return (column >= start) & (column < end)


def risk_stats(
    conn: Connection, start: datetime, end: datetime, exclude_actions: Sequence[str]
) -> RiskStats:
    r = risk_log.c
    benign = ~r.action.in_(list(exclude_actions)) if exclude_actions else true()
    row = conn.execute(
        select(
            func.count(case((benign, 1))),
            func.avg(case((benign, r.draft_total_score))),
            func.max(case((benign, r.draft_total_score))),
            func.count(case((~benign, 1))),
            func.count(case((benign & (r.draft_total_score > 1.0), 1))),
        ).where(_between(r.ts, start, end))
    ).one()
    return RiskStats(
        benign=int(row[0]),
        mean=None if row[1] is None else float(row[1]),
        max=None if row[2] is None else float(row[2]),
        excluded=int(row[3]),
        high_risk=int(row[4]),
    )


def count_between(
    conn: Connection, table: Table, column: str, start: datetime, end: datetime
) -> int:
    """Rows of ``table`` whose ``column`` falls in ``[start, end)``."""
    query = select(func.count()).select_from(table).where(_between(table.c[column], start, end))
    return int(conn.execute(query).scalar_one())


def table_rows(conn: Connection, table: Table) -> int:
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def command_names(command: str) -> list[str]:
    """A command as governance_log may spell it: ``/trace`` and ``trace``."""
    bare = command.lstrip("/")
    return [f"/{bare}", bare]


@dataclass(frozen=True)
class GovernanceStats:
    """Governance commands in a window."""

    calls: int
    succeeded: int
    by_command: dict[str, int]

    @property
    def success_percent(self) -> float | None:
        return 100.0 * self.succeeded / self.calls if self.calls else None


def governance_stats(conn: Connection, start: datetime, end: datetime) -> GovernanceStats:
    g = governance_log.c
    rows = conn.execute(
        select(g.command, func.count(), func.count(case((g.success.is_(True), 1))))
        .where(_between(g.ts, start, end))
        .group_by(g.command)
    ).all()
    by_command = {str(r[0]): int(r[1]) for r in rows}
    return GovernanceStats(
        calls=sum(by_command.values()),
        succeeded=sum(int(r[2]) for r in rows),
        by_command=by_command,
    )


def latency_percentiles(
    conn: Connection,
    start: datetime,
    end: datetime,
    quantiles: Sequence[float],
    command: str | None = None,
) -> tuple[int, dict[float, float | None]]:
    """(call count, nearest-rank percentile of ``latency_ms`` per quantile)."""
    g = governance_log.c
    where = _between(g.ts, start, end)
    if command is not None:
        where = where & g.command.in_(command_names(command))
    n = int(
        conn.execute(select(func.count()).select_from(governance_log).where(where)).scalar_one()
    )
    values: dict[float, float | None] = {}
    for q in quantiles:
        if n == 0:
            values[q] = None
            continue
        offset = max(math.ceil(q * n) - 1, 0)
        value = conn.execute(
            select(g.latency_ms).where(where).order_by(g.latency_ms).limit(1).offset(offset)
        ).scalar_one()
        values[q] = float(value)
    return n, values


def active_users(conn: Connection, start: datetime, end: datetime) -> int:
    """Users with at least one episode in the window."""
    query = select(func.count(distinct(episodes.c.user_id))).where(
        _between(episodes.c.ts, start, end)
    )
    return int(conn.execute(query).scalar_one())


def governance_users(conn: Connection, start: datetime, end: datetime) -> int:
    """Active users (episodes in the window) who also ran a governance command in it.

    Callers with no episodes, such as ``memwarden smoke``'s own user, are not counted.
    """
    g = governance_log.c
    active = select(episodes.c.user_id).where(_between(episodes.c.ts, start, end))
    query = select(func.count(distinct(g.user_id))).where(
        _between(g.ts, start, end), g.user_id.in_(active)
    )
    return int(conn.execute(query).scalar_one())
