"""Which memories each turn recalled (``episode_recalls``): written with the turn, read
by deletes to find the later turns that may quote what they delete."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import Connection, bindparam, delete, insert, text

from ..store.schema import episode_recalls

__all__ = ["BELIEF", "EPISODE", "forget_references", "recalling_episodes", "record_recalls"]

EPISODE, BELIEF = "episode", "belief"

_INSERT = insert(episode_recalls)
_FORGET = delete(episode_recalls).where(
    episode_recalls.c.user_id == bindparam("u"),
    episode_recalls.c.kind == bindparam("k"),
    episode_recalls.c.ref_id.in_(bindparam("ids", expanding=True)),
)


def record_recalls(
    conn: Connection, user_id: str, episode_id: int, recalled: Iterable[tuple[str, int]]
) -> None:
    """Record that ``episode_id``'s turn recalled each ``(kind, id)``."""
    rows = [
        {"episode_id": episode_id, "user_id": user_id, "kind": kind, "ref_id": ref}
        for kind, ref in dict.fromkeys(recalled)
    ]
    if rows:
        conn.execute(_INSERT, rows)


def recalling_episodes(
    conn: Connection,
    user_id: str,
    after: int,
    *,
    episode: int | None = None,
    beliefs: Collection[int] = (),
) -> list[int]:
    """The user's episodes after ``after`` whose turn recalled ``episode`` or one of
    ``beliefs``, in order."""
    if episode is None and not beliefs:
        return []
    if not beliefs:
        rows = conn.execute(_RECALLING, {"u": user_id, "a": after, "e": episode})
    else:
        statement = _RECALLING_BELIEFS if episode is None else _RECALLING_WITH_BELIEFS
        params = {"u": user_id, "a": after, "e": episode, "b": sorted(beliefs)}
        rows = conn.execute(statement, params)
    return [int(i) for i in rows.scalars()]


# Built once: every delete runs one (building the statement cost as much as running it).
_RECALLING = text(
    "SELECT DISTINCT episode_id FROM episode_recalls WHERE user_id = :u "
    "AND kind = 'episode' AND ref_id = :e AND episode_id > :a ORDER BY episode_id"
)
_RECALLING_WITH_BELIEFS = text(
    "SELECT DISTINCT episode_id FROM episode_recalls WHERE user_id = :u AND episode_id > :a "
    "AND ((kind = 'episode' AND ref_id = :e) OR (kind = 'belief' AND ref_id IN :b)) "
    "ORDER BY episode_id"
).bindparams(bindparam("b", expanding=True))
_RECALLING_BELIEFS = text(
    "SELECT DISTINCT episode_id FROM episode_recalls WHERE user_id = :u AND episode_id > :a "
    "AND kind = 'belief' AND ref_id IN :b ORDER BY episode_id"
).bindparams(bindparam("b", expanding=True))


def forget_references(conn: Connection, user_id: str, kind: str, ids: Collection[int]) -> None:
    """Drop the rows that point at deleted memories (their turns were scrubbed)."""
    if ids:
        conn.execute(_FORGET, {"u": user_id, "k": kind, "ids": sorted(ids)})
