"""Read-only views of one user's memory, for the web console and the HTTP API.

    browser = MemoryBrowser(store)
    page = browser.episodes("ana", q="Berlin", limit=20)       # newest first
    more = browser.episodes("ana", before=page.next_before)    # the next page
    browser.beliefs("ana")                                     # with history and sources
    browser.tasks("ana", status="open")

Episodes are keyset-paged by id (stable while new turns arrive); a search matches a
substring of what the user said or what memwarden replied, case-insensitively, in
dialect-neutral SQL.  Every query is scoped to the user: another user's rows never
appear, whatever the cursor or the search says.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ..store import Store
from ..store.schema import belief_history, belief_sources, episodes, semantic_beliefs
from .beliefs import HistoryEntry
from .tasks import Task, TaskStatus, list_tasks

__all__ = [
    "MAX_PAGE",
    "BeliefPage",
    "BeliefView",
    "EpisodePage",
    "EpisodeSummary",
    "MemoryBrowser",
    "belief_views",
    "episode_page",
]

MAX_PAGE = 200
MAX_BELIEFS = 1000
MAX_QUERY = 200


@dataclass(frozen=True)
class EpisodeSummary:
    """One turn as a list shows it (the trace has the rest)."""

    id: int
    ts: datetime
    user_input: str
    reply: str
    action: str
    draft_total_score: float
    final_score: float


@dataclass(frozen=True)
class EpisodePage:
    """Episodes, newest first; ``next_before`` is the cursor of the next page (or None)."""

    items: list[EpisodeSummary]
    next_before: int | None


@dataclass(frozen=True)
class BeliefView:
    """A belief with its change history (oldest first) and source episodes."""

    id: int
    key: str
    value: str
    statement: str
    confidence: float
    version: int
    created_at: datetime
    updated_at: datetime
    history: list[HistoryEntry] = field(default_factory=list)
    sources: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class BeliefPage:
    """The user's beliefs, most recently updated first."""

    items: list[BeliefView]
    truncated: bool


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _clean_query(q: str | None) -> str | None:
    if q is None:
        return None
    q = " ".join(q.split())[:MAX_QUERY]
    return q or None


def episode_page(
    conn: Connection,
    user_id: str,
    *,
    q: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> EpisodePage:
    """A page of the user's episodes, newest first, optionally matching ``q``."""
    limit = max(1, min(limit, MAX_PAGE))
    e = episodes.c
    where: list[ColumnElement[bool]] = [e.user_id == user_id]
    if before is not None:
        where.append(e.id < before)
    q = _clean_query(q)
    if q is not None:
        pattern = _like(q)
        where.append(
            or_(e.user_input.ilike(pattern, escape="\\"), e.reply.ilike(pattern, escape="\\"))
        )
    rows = conn.execute(
        select(e.id, e.ts, e.user_input, e.reply, e.action, e.draft_total_score, e.final_score)
        .where(*where)
        .order_by(e.id.desc())
        .limit(limit + 1)
    ).all()
    items = [
        EpisodeSummary(
            int(r.id),
            r.ts,
            r.user_input,
            r.reply,
            r.action,
            float(r.draft_total_score),
            float(r.final_score),
        )
        for r in rows[:limit]
    ]
    return EpisodePage(items, items[-1].id if len(rows) > limit else None)


def belief_views(
    conn: Connection, user_id: str, *, q: str | None = None, limit: int = MAX_BELIEFS
) -> BeliefPage:
    """The user's beliefs with history and sources, in three queries."""
    limit = max(1, min(limit, MAX_BELIEFS))
    b = semantic_beliefs.c
    query = select(semantic_beliefs).where(b.user_id == user_id)
    q = _clean_query(q)
    if q is not None:
        pattern = _like(q)
        query = query.where(
            or_(
                b.key.ilike(pattern, escape="\\"),
                b.value.ilike(pattern, escape="\\"),
                b.statement.ilike(pattern, escape="\\"),
            )
        )
    fetched = conn.execute(query.order_by(b.updated_at.desc(), b.id.desc()).limit(limit + 1)).all()
    rows = fetched[:limit]
    ids = [int(r.id) for r in rows]
    history: dict[int, list[HistoryEntry]] = defaultdict(list)
    sources: dict[int, list[int]] = defaultdict(list)
    if ids:
        h = belief_history.c
        for r in conn.execute(
            select(belief_history)
            .where(h.user_id == user_id, h.belief_id.in_(ids))
            .order_by(h.belief_id, h.id)
        ):
            history[r.belief_id].append(
                HistoryEntry(
                    r.id, r.ts, r.change, r.old_value, r.new_value, r.confidence, r.episode_id
                )
            )
        s = belief_sources.c
        for r in conn.execute(
            select(s.belief_id, s.episode_id)
            .where(s.user_id == user_id, s.belief_id.in_(ids))
            .order_by(s.belief_id, s.episode_id)
        ):
            sources[r.belief_id].append(int(r.episode_id))
    items = [
        BeliefView(
            int(r.id),
            r.key,
            r.value,
            r.statement,
            float(r.confidence),
            int(r.version),
            r.created_at,
            r.updated_at,
            history.get(int(r.id), []),
            sources.get(int(r.id), []),
        )
        for r in rows
    ]
    return BeliefPage(items, truncated=len(fetched) > limit)


class MemoryBrowser:
    """The read-only views over one store, each in one read transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def episodes(
        self, user_id: str, *, q: str | None = None, before: int | None = None, limit: int = 50
    ) -> EpisodePage:
        with self.store.read() as conn:
            return episode_page(conn, user_id, q=q, before=before, limit=limit)

    def beliefs(
        self, user_id: str, *, q: str | None = None, limit: int = MAX_BELIEFS
    ) -> BeliefPage:
        with self.store.read() as conn:
            return belief_views(conn, user_id, q=q, limit=limit)

    def tasks(self, user_id: str, *, status: TaskStatus | None = None) -> list[Task]:
        """The user's tasks, oldest first (of one status, or all)."""
        with self.store.read() as conn:
            return list_tasks(conn, user_id, status.value if status is not None else None)
