"""Episodes: every conversation turn, as it was said and answered."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select

from ..store.blocks import with_next_id
from ..store.schema import episodes

__all__ = [
    "Episode",
    "count_episodes",
    "get_episode",
    "get_episodes",
    "insert_episode",
    "iter_episodes",
]


@dataclass(frozen=True)
class Episode:
    """One stored turn."""

    id: int
    user_id: str
    ts: datetime
    user_input: str
    draft: str
    reply: str
    action: str
    draft_total_score: float
    final_score: float
    occurred_at: datetime | None
    meta: dict[str, Any]
    trace: str | None  # raw JSON; /trace parses it defensively

    @property
    def when(self) -> datetime:
        """When the turn happened (its source time for imports)."""
        return self.occurred_at or self.ts


def _row(row: Any) -> Episode:
    meta: dict[str, Any] = {}
    if row.meta:
        try:
            loaded = json.loads(row.meta)
            meta = loaded if isinstance(loaded, dict) else {}
        except (ValueError, RecursionError):  # nested past the decoder's depth too
            meta = {}
    return Episode(
        id=row.id,
        user_id=row.user_id,
        ts=row.ts,
        user_input=row.user_input,
        draft=row.draft,
        reply=row.reply,
        action=row.action,
        draft_total_score=row.draft_total_score,
        final_score=row.final_score,
        occurred_at=row.occurred_at,
        meta=meta,
        trace=row.trace,
    )


def insert_episode(
    conn: Connection,
    *,
    user_id: str,
    ts: datetime,
    user_input: str,
    draft: str,
    reply: str,
    action: str,
    draft_total_score: float,
    final_score: float,
    occurred_at: datetime | None = None,
    meta: Mapping[str, Any] | None = None,
    trace: Mapping[str, Any] | None = None,
) -> int:
    """Insert one episode (its full-text entry follows in the same transaction).

    On SQLite its id comes from the user's block (:mod:`memwarden.store.blocks`)."""
    row = {
        "user_id": user_id,
        "ts": ts,
        "user_input": user_input,
        "draft": draft,
        "reply": reply,
        "action": action,
        "draft_total_score": draft_total_score,
        "final_score": final_score,
        "occurred_at": occurred_at,
        "meta": json.dumps(dict(meta)) if meta else None,
        "trace": json.dumps(dict(trace)) if trace is not None else None,
    }
    result = conn.execute(_INSERT, with_next_id(conn, episodes, user_id, row))
    return int(result.scalar_one())


# Built once: every turn inserts an episode, and building the statement anew (values,
# its cache key) cost as much as executing it.
_INSERT = insert(episodes).returning(episodes.c.id)


def get_episode(conn: Connection, user_id: str, episode_id: int) -> Episode | None:
    """The user's episode, or None (another user's id is None too)."""
    row = conn.execute(
        select(episodes).where(episodes.c.id == episode_id, episodes.c.user_id == user_id)
    ).first()
    return _row(row) if row else None


def get_episodes(conn: Connection, user_id: str, ids: Sequence[int]) -> dict[int, Episode]:
    """The user's episodes among ``ids``, keyed by id."""
    if not ids:
        return {}
    rows = conn.execute(
        select(episodes).where(episodes.c.user_id == user_id, episodes.c.id.in_(list(ids)))
    )
    return {row.id: _row(row) for row in rows}


def iter_episodes(
    conn: Connection, user_id: str, *, batch: int = 500, newest_first: bool = False
) -> Iterator[Episode]:
    """Every episode of the user, fetched in keyset-paged batches (bounded memory)."""
    last: int | None = None
    while True:
        query = select(episodes).where(episodes.c.user_id == user_id)
        if last is not None:
            query = query.where(episodes.c.id < last if newest_first else episodes.c.id > last)
        order = episodes.c.id.desc() if newest_first else episodes.c.id
        rows = conn.execute(query.order_by(order).limit(batch)).all()
        if not rows:
            return
        for row in rows:
            yield _row(row)
        last = rows[-1].id


def count_episodes(conn: Connection, user_id: str | None = None) -> int:
    """How many episodes the user (or everyone, with None) has."""
    query = select(func.count()).select_from(episodes)
    if user_id is not None:
        query = query.where(episodes.c.user_id == user_id)
    return int(conn.execute(query).scalar_one())
