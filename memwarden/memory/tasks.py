"""Tasks: only what the user explicitly asks for, with an event for every change."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from ..errors import InputError, NotFound
from ..store.schema import task_events, tasks

__all__ = [
    "Task",
    "TaskEvent",
    "TaskStatus",
    "create_task",
    "get_task",
    "list_events",
    "list_tasks",
    "parse_task_request",
    "set_status",
]


class TaskStatus(StrEnum):
    """Where a task stands."""

    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Task:
    """A task the user asked for."""

    id: int
    user_id: str
    title: str
    status: str
    created_at: datetime
    updated_at: datetime
    source_episode_id: int | None


@dataclass(frozen=True)
class TaskEvent:
    """One change of one task."""

    id: int
    task_id: int
    ts: datetime
    event: str
    episode_id: int | None
    detail: dict[str, Any]


# Explicit requests only.  "My passport expires soon" is a fact, not a request.
_REQUESTS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"^\s*/task\s+add\s+(?P<title>.+)$",
        r"\bremind me (?:to|that|about) (?P<title>[^?]+?)\s*[.!]*$",
        r"\b(?:please )?(?:add|create|make|set up|open) (?:a |an |one )?(?:new )?"
        r"(?:task|to-?do|reminder)(?: item)?(?: for me)?(?:\s*(?::|to|for|that)\s*|\s+)"
        r"(?P<title>[^?]+?)\s*[.!]*$",
        r"\b(?:add|put) (?P<title>[^?]+?) (?:to|on) my (?:task|to-?do|todo)(?: list)?\s*[.!]*$",
    )
]
_NOT_A_REQUEST = re.compile(
    r"\b(?:don't|do not|never|no need to|shouldn't|should i|should you|did you|do you)\s+"
    r"(?:remind|add|create|make|put)\b",
    re.IGNORECASE,
)

_POLITE = re.compile(
    r"^\s*(?:can|could|would|will) you (?:please )?(?=remind|add|create|make|put|set)", re.I
)


def parse_task_request(text: str) -> str | None:
    """The title of the task the user explicitly asks for in ``text``, or None."""
    stripped = text.strip()
    # A polite question is still a request: "Could you remind me to call Ana?"
    polite = _POLITE.match(stripped)
    if polite:
        stripped = stripped[polite.end() :].rstrip("?").strip()
    if not stripped or _NOT_A_REQUEST.search(stripped):
        return None
    for pattern in _REQUESTS:
        match = pattern.search(stripped)
        if match:
            title = normalise_title(match["title"])
            if 2 <= len(title) <= 500:
                return title
    return None


def normalise_title(raw: str) -> str:
    """One line, no trailing punctuation, a capital first letter."""
    title = re.sub(r"\s+", " ", raw).strip(" .!,;:")
    return title[:1].upper() + title[1:]


def _task(row: Any) -> Task:
    return Task(
        row.id,
        row.user_id,
        row.title,
        row.status,
        row.created_at,
        row.updated_at,
        row.source_episode_id,
    )


def _event(row: Any) -> TaskEvent:
    detail: dict[str, Any] = {}
    if row.detail:
        try:
            loaded = json.loads(row.detail)
            detail = loaded if isinstance(loaded, dict) else {}
        except (ValueError, RecursionError):  # nested past the decoder's depth too
            detail = {}
    return TaskEvent(row.id, row.task_id, row.ts, row.event, row.episode_id, detail)


def _record(
    conn: Connection,
    user_id: str,
    task_id: int,
    event: str,
    now: datetime,
    episode_id: int | None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(task_events).values(
            user_id=user_id,
            task_id=task_id,
            ts=now,
            event=event,
            episode_id=episode_id,
            detail=json.dumps(dict(detail)) if detail else None,
        )
    )


def create_task(
    conn: Connection, user_id: str, title: str, now: datetime, episode_id: int | None = None
) -> Task:
    """Create an open task and its ``created`` event."""
    title = normalise_title(title)
    if not title:
        raise InputError("a task needs a title")
    if len(title) > 500:
        raise InputError("a task title is at most 500 characters")
    task_id = int(
        conn.execute(
            insert(tasks)
            .values(
                user_id=user_id,
                title=title,
                status=TaskStatus.OPEN.value,
                created_at=now,
                updated_at=now,
                source_episode_id=episode_id,
            )
            .returning(tasks.c.id)
        ).scalar_one()
    )
    _record(conn, user_id, task_id, "created", now, episode_id, {"title": title})
    return Task(task_id, user_id, title, TaskStatus.OPEN.value, now, now, episode_id)


def get_task(conn: Connection, user_id: str, task_id: int) -> Task | None:
    """The user's task, or None (another user's id is None too, and so is an id no
    database integer can hold)."""
    if not 0 < task_id <= _MAX_ROW_ID:
        return None
    row = conn.execute(
        select(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id)
    ).first()
    return _task(row) if row else None


def list_tasks(conn: Connection, user_id: str, status: str | None = None) -> list[Task]:
    """The user's tasks, oldest first, optionally of one status."""
    if status is None:
        rows = conn.execute(_ALL, {"user_id": user_id})
    else:
        rows = conn.execute(_OF_STATUS, {"user_id": user_id, "status": status})
    return [_task(r) for r in rows]


# Built once: every turn lists the user's open tasks.
_MAX_ROW_ID = 2**63 - 1  # the largest id SQLite and PostgreSQL's BIGINT hold
_ALL = select(tasks).where(tasks.c.user_id == bindparam("user_id")).order_by(tasks.c.id)
_OF_STATUS = _ALL.where(tasks.c.status == bindparam("status"))


def set_status(
    conn: Connection,
    user_id: str,
    task_id: int,
    status: TaskStatus,
    now: datetime,
    episode_id: int | None = None,
) -> Task:
    """Complete or cancel (or reopen) a task, writing its event."""
    task = get_task(conn, user_id, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    if task.status == status.value:
        raise InputError(f"task {task_id} is already {status.value}")
    conn.execute(
        update(tasks)
        .where(tasks.c.id == task_id, tasks.c.user_id == user_id)
        .values(status=status.value, updated_at=now)
    )
    event = {"done": "completed", "cancelled": "cancelled", "open": "updated"}[status.value]
    _record(
        conn, user_id, task_id, event, now, episode_id, {"from": task.status, "to": status.value}
    )
    return Task(
        task.id, user_id, task.title, status.value, task.created_at, now, task.source_episode_id
    )


def list_events(
    conn: Connection, user_id: str, task_id: int | None = None, limit: int | None = None
) -> list[TaskEvent]:
    """The user's task events (or one task's), newest first."""
    query = select(task_events).where(task_events.c.user_id == user_id)
    if task_id is not None:
        query = query.where(task_events.c.task_id == task_id)
    query = query.order_by(task_events.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return [_event(r) for r in conn.execute(query)]
