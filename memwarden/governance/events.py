"""``/task_events [TASK_ID]``: the user's task events (or one task's), newest first."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, text

from ..errors import NotFound
from .results import TaskEventRow, TaskEventsReport
from .trace import iso

__all__ = ["DEFAULT_LIMIT", "list_task_events"]

DEFAULT_LIMIT = 100


def list_task_events(
    conn: Connection, user_id: str, task_id: int | None, limit: int | None = DEFAULT_LIMIT
) -> TaskEventsReport:
    """Newest first, at most ``limit`` (None: all); :class:`NotFound` for a task id the
    user does not own."""
    params: dict[str, Any] = {"u": user_id, "t": task_id}
    where = "ev.user_id = :u"
    if task_id is not None:
        owned = conn.execute(
            text("SELECT 1 FROM tasks WHERE id = :t AND user_id = :u"), params
        ).first()
        if owned is None:
            raise NotFound(f"No task {task_id}.")
        where += " AND ev.task_id = :t"
    total = int(
        conn.execute(
            text(f"SELECT COUNT(*) FROM task_events AS ev WHERE {where}"), params
        ).scalar_one()
    )
    sql = (
        "SELECT ev.id, ev.task_id, t.title, ev.ts, ev.event, ev.episode_id, ev.detail "
        f"FROM task_events AS ev JOIN tasks AS t ON t.id = ev.task_id WHERE {where} "
        "ORDER BY ev.id DESC"
    )
    if limit is not None and limit < total:  # (a limit past the total needs no LIMIT)
        sql += " LIMIT :n"
        params["n"] = limit
    events = [
        TaskEventRow(
            id=int(r[0]),
            task_id=int(r[1]),
            task_title=str(r[2]),
            ts=iso(r[3]),
            event=str(r[4]),
            episode_id=None if r[5] is None else int(r[5]),
            detail=_detail(r[6]),
        )
        for r in conn.execute(text(sql), params)
    ]
    return TaskEventsReport(task_id, events, total, total > len(events))


def _detail(raw: Any) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (TypeError, ValueError, RecursionError):  # nested past the decoder's depth too
        return {"raw": str(raw)}
    return value if isinstance(value, dict) else {"value": value}
