"""`memwarden smoke --db PATH`: the seed's Step 4, safe against a production database.

Only read-only governance calls run: ``export_memory`` (into memory, never to a file
beside the database), ``task_events`` and ``trace`` of the user's latest episode.  The
database is neither created nor migrated.  The user tables (episodes, risk_log, beliefs,
tasks and their events) are counted before and after, and the smoke test fails if any
count changed.

What it does write, by design: one ``governance_log`` audit row per call, and a
``[GOVERNANCE]`` log line, exactly as a user's call would.  That is the audit trail
working, not user data.  The calls run as a dedicated user (``memwarden-smoke`` unless
``--user`` says otherwise), so the rows are easy to tell apart; health's adoption figure
only counts users with episodes, so the smoke user never inflates it.  With ``--user``
the real user's data is read, and only sizes and timings are printed, never content.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from ..governance import Governance
from ..settings import Settings
from ..store import Store
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
from .database import open_existing

__all__ = ["SMOKE_USER", "SmokeReport", "run_smoke"]

SMOKE_USER = "memwarden-smoke"
USER_TABLES = (
    episodes,
    risk_log,
    semantic_beliefs,
    belief_sources,
    belief_history,
    tasks,
    task_events,
)


@dataclass(frozen=True)
class SmokeCall:
    command: str
    ok: bool
    latency_ms: float
    detail: str


@dataclass
class SmokeReport:
    database: str
    user: str
    calls: list[SmokeCall] = field(default_factory=list)
    changed: dict[str, tuple[int, int]] = field(default_factory=dict)
    audit_rows: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.calls) and all(c.ok for c in self.calls) and not self.changed

    @property
    def verdict(self) -> str:
        if self.ok:
            return "✓ Smoke test passed"
        problems = [f"{c.command} failed ({c.detail})" for c in self.calls if not c.ok]
        problems += [f"{t} changed {a} -> {b}" for t, (a, b) in self.changed.items()]
        return "✗ Smoke test FAILED: " + "; ".join(problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verdict": self.verdict,
            "database": self.database,
            "user": self.user,
            "calls": [vars(c) for c in self.calls],
            "user_data_changed": {t: list(v) for t, v in self.changed.items()},
            "audit_rows_written": self.audit_rows,
        }


def _counts(store: Store, user: str) -> dict[str, int]:
    """The user's rows per table (other users' traffic may go on meanwhile)."""
    with store.read() as conn:
        return {
            t.name: int(
                conn.execute(
                    select(func.count()).select_from(t).where(t.c.user_id == user)
                ).scalar_one()
            )
            for t in (*USER_TABLES, governance_log)
        }


def run_smoke(settings: Settings, user: str = SMOKE_USER) -> SmokeReport:
    """Run the read-only governance calls against the configured (existing) database."""
    store = open_existing(settings)
    try:
        report = SmokeReport(store.engine.url.render_as_string(hide_password=True), user)
        before = _counts(store, user)
        gov = Governance(store, settings)
        sink = io.StringIO()
        export = gov.export_memory(user, out=sink)
        report.calls.append(
            SmokeCall(
                "/export_memory",
                export.ok,
                export.latency_ms,
                export.error or f"{len(sink.getvalue()):,} bytes",
            )
        )
        events = gov.task_events(user)
        report.calls.append(
            SmokeCall("/task_events", events.ok, events.latency_ms, events.error or "listed")
        )
        with store.read() as conn:
            latest = conn.execute(
                select(func.max(episodes.c.id)).where(episodes.c.user_id == user)
            ).scalar()
        if latest is not None:
            trace = gov.trace(user, int(latest))
            report.calls.append(
                SmokeCall("/trace", trace.ok, trace.latency_ms, trace.error or f"episode {latest}")
            )
        after = _counts(store, user)
        report.audit_rows = after.pop("governance_log") - before.pop("governance_log")
        report.changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
        return report
    finally:
        store.close()
