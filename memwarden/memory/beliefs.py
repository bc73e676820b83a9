"""Semantic beliefs: facts about the user, with sources, confidence and history.

A new fact with the key of an existing belief supersedes it in place: the belief keeps
its id, takes the new value, and the old value stays in its history.  Each update bumps
``version`` with a compare-and-set, so two writers never lose one another's update: the
agent's writers queue on the user's lock (``Store.write(user_id)``) and each reads what
the one before wrote; a writer that took no lock and read a stale version gets
:class:`ConcurrencyConflict` and retries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from ..errors import ConcurrencyConflict
from ..store.schema import belief_history, belief_sources, memory_vectors, semantic_beliefs
from .facts import Fact

__all__ = [
    "Belief",
    "BeliefChange",
    "HistoryEntry",
    "apply_facts",
    "beliefs_by_key",
    "get_beliefs",
    "history",
    "list_beliefs",
    "sources",
]


@dataclass(frozen=True)
class Belief:
    """What memwarden currently believes about the user on one key."""

    id: int
    user_id: str
    key: str
    value: str
    statement: str
    confidence: float
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class BeliefChange:
    """What one turn did to one belief."""

    belief_id: int
    key: str
    change: str  # "created", "updated" (superseded) or "confirmed"
    old_value: str | None
    new_value: str
    statement: str


@dataclass(frozen=True)
class HistoryEntry:
    """One change in a belief's life."""

    id: int
    ts: datetime
    change: str
    old_value: str | None
    new_value: str
    confidence: float
    episode_id: int | None


def _belief(row: Any) -> Belief:
    return Belief(
        id=row.id,
        user_id=row.user_id,
        key=row.key,
        value=row.value,
        statement=row.statement,
        confidence=row.confidence,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# The reads every turn makes, built once (statement building cost as much as the query).
_MINE = semantic_beliefs.c.user_id == bindparam("user_id")
_LIST = (
    select(semantic_beliefs)
    .where(_MINE)
    .order_by(semantic_beliefs.c.updated_at.desc(), semantic_beliefs.c.id.desc())
)
_BY_ID = select(semantic_beliefs).where(
    _MINE, semantic_beliefs.c.id.in_(bindparam("ids", expanding=True))
)
_BY_KEY = select(semantic_beliefs).where(
    _MINE, semantic_beliefs.c.key.in_(bindparam("keys", expanding=True))
)


def list_beliefs(conn: Connection, user_id: str) -> list[Belief]:
    """All the user's beliefs, most recently updated first."""
    return [_belief(r) for r in conn.execute(_LIST, {"user_id": user_id})]


def get_beliefs(conn: Connection, user_id: str, ids: Sequence[int]) -> dict[int, Belief]:
    """The user's beliefs among ``ids``, keyed by id."""
    if not ids:
        return {}
    rows = conn.execute(_BY_ID, {"user_id": user_id, "ids": list(ids)})
    return {r.id: _belief(r) for r in rows}


def beliefs_by_key(conn: Connection, user_id: str, keys: Iterable[str]) -> dict[str, Belief]:
    """The user's beliefs on ``keys``, keyed by key."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    rows = conn.execute(_BY_KEY, {"user_id": user_id, "keys": wanted})
    return {r.key: _belief(r) for r in rows}


def history(conn: Connection, user_id: str, belief_id: int) -> list[HistoryEntry]:
    """The belief's changes, oldest first."""
    rows = conn.execute(
        select(belief_history)
        .where(belief_history.c.user_id == user_id, belief_history.c.belief_id == belief_id)
        .order_by(belief_history.c.id)
    )
    return [
        HistoryEntry(r.id, r.ts, r.change, r.old_value, r.new_value, r.confidence, r.episode_id)
        for r in rows
    ]


def sources(conn: Connection, user_id: str, belief_id: int) -> list[int]:
    """Ids of the episodes a belief was distilled from."""
    rows = conn.execute(
        select(belief_sources.c.episode_id)
        .where(belief_sources.c.user_id == user_id, belief_sources.c.belief_id == belief_id)
        .order_by(belief_sources.c.episode_id)
    )
    return [int(r[0]) for r in rows]


def apply_facts(
    conn: Connection, user_id: str, episode_id: int, facts: Sequence[Fact], now: datetime
) -> list[BeliefChange]:
    """Create, supersede or confirm beliefs from ``facts`` stated in ``episode_id``."""
    existing = beliefs_by_key(conn, user_id, (f.key for f in facts))
    changes: list[BeliefChange] = []
    for fact in facts:
        current = existing.get(fact.key)
        if current is None:
            belief_id = int(
                conn.execute(
                    insert(semantic_beliefs)
                    .values(
                        user_id=user_id,
                        key=fact.key,
                        value=fact.value,
                        statement=fact.statement,
                        confidence=fact.confidence,
                        version=1,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(semantic_beliefs.c.id)
                ).scalar_one()
            )
            change = BeliefChange(belief_id, fact.key, "created", None, fact.value, fact.statement)
        else:
            belief_id = current.id
            same = current.value.casefold() == fact.value.casefold()
            confidence = min(1.0, current.confidence + 0.05) if same else fact.confidence
            result = conn.execute(
                update(semantic_beliefs)
                .where(
                    semantic_beliefs.c.user_id == user_id,
                    semantic_beliefs.c.id == current.id,
                    semantic_beliefs.c.version == current.version,
                )
                .values(
                    value=fact.value,
                    statement=fact.statement,
                    confidence=confidence,
                    version=current.version + 1,
                    updated_at=now,
                )
            )
            if result.rowcount != 1:
                # Another writer changed the belief since we read it: retry the turn.
                raise ConcurrencyConflict(f"belief {current.id} changed concurrently")
            if fact.statement != current.statement and conn.dialect.name != "sqlite":
                # The sentence vector was of the old statement.  SQLite's trigger
                # (migration 0002) drops it in the UPDATE; elsewhere this does.
                conn.execute(
                    delete(memory_vectors).where(
                        memory_vectors.c.user_id == user_id,
                        memory_vectors.c.belief_id == current.id,
                    )
                )
            change = BeliefChange(
                belief_id,
                fact.key,
                "confirmed" if same else "updated",
                current.value,
                fact.value,
                fact.statement,
            )
        conn.execute(
            insert(belief_history).values(
                user_id=user_id,
                belief_id=belief_id,
                episode_id=episode_id,
                ts=now,
                change=change.change,
                old_value=change.old_value,
                new_value=change.new_value,
                confidence=fact.confidence,
            )
        )
        _add_source(conn, user_id, belief_id, episode_id, now)
        changes.append(change)
    return changes


def _add_source(
    conn: Connection, user_id: str, belief_id: int, episode_id: int, now: datetime
) -> None:
    known = conn.execute(
        select(belief_sources.c.belief_id).where(
            belief_sources.c.user_id == user_id,
            belief_sources.c.belief_id == belief_id,
            belief_sources.c.episode_id == episode_id,
        )
    ).first()
    if known is None:
        conn.execute(
            insert(belief_sources).values(
                belief_id=belief_id, episode_id=episode_id, user_id=user_id, ts=now
            )
        )
