"""SQLite: ids of the per-turn tables handed out in per-user blocks, so that a user's
rows lie together in the table.

SQLite keeps a table in id order.  With ids handed out one after another, a user's turns
are interleaved with everyone else's: reading one user's 1,000 episodes (an export, a
trace's neighbours) meant 1,000 seeks into 1,000 different pages, each full of other
users' turns.  Here ids come in blocks of :data:`BLOCK`: a user's next id is the one
after their newest, while that stays inside the same block and is free; otherwise it is
the first id of a new block above every id in the table.  So a block holds one user's
rows, one after another in the table's B-tree, and a user's rows are a few runs of
adjacent pages (docs/benchmarks.md, Governance).

- **Free, always.**  "The one after their newest" is taken only when no row holds it: rows
  written before blocks (ids interleaved by user), by an older release or by hand never
  collide; such a user simply moves to a new block.
- **Never again to the same user.**  An episode id is a handle the user acts on
  (``/delete_episode 45``, ``/trace 45``).  Deleting a user's newest episode records its
  id (``episode_id_marks``), and the user's next id is above it: a retried delete can
  never remove a newer turn that took the deleted one's id.  (``risk_log`` ids are no
  handles and need no mark.)
- A user's ids grow with time (the code and the runbook rely on "later is larger" within
  a user); across users they no longer follow the order of turns.

The allocation needs the table's write lock to be safe, which SQLite's ``BEGIN
IMMEDIATE`` gives every write transaction.  PostgreSQL keeps its sequences (which never
hand an id out twice): its heap is in insertion order whatever the id, so blocks would
buy nothing there and cost a global point of contention.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, text

from . import driver

__all__ = ["BLOCK", "next_id", "next_in_block", "remember_deleted", "with_next_id"]

BLOCK = 256  # ids per block; ~70 pages of 4 KiB of episodes


def next_in_block(user_newest: int | None, table_max: int | None, block: int = BLOCK) -> int:
    """The id after ``user_newest`` if it stays in its block, else the first id of the
    block after ``table_max`` (blocks are ``[k * block + 1, (k + 1) * block]``).  The
    caller checks that the id after ``user_newest`` is free."""
    if user_newest is not None and user_newest % block:
        return user_newest + 1
    top = max(table_max or 0, user_newest or 0)
    return -(-top // block) * block + 1


def next_id(conn: Connection, table: Table, user_id: str) -> int | None:
    """The id for ``user_id``'s next row of ``table`` (SQLite; None elsewhere: let the
    database's sequence choose).  Call it inside the write transaction that inserts."""
    if conn.dialect.name != "sqlite":
        return None
    probe, top = _statements(table.name)
    newest, taken = conn.execute(probe, {"u": user_id}).one()
    if newest and newest % BLOCK and not taken:
        return int(newest) + 1  # the common case: one statement
    return next_in_block(None, max(int(newest or 0), int(conn.execute(top).scalar() or 0)))


def with_next_id(
    conn: Connection, table: Table, user_id: str, row: dict[str, Any]
) -> dict[str, Any]:
    """``row`` to insert into ``table``, with the id :func:`next_id` hands out, if any."""
    new_id = next_id(conn, table, user_id)
    return row if new_id is None else {"id": new_id, **row}


def remember_deleted(conn: Connection, user_id: str, episode_id: int) -> None:
    """Record that the user's episode ``episode_id`` was deleted, so that the user's next
    episode gets a larger id (SQLite; PostgreSQL's sequences never reuse one).  Call it
    after the row is gone.

    Only the user's newest is recorded: an older one lies below a newer id of theirs,
    which is either still there or recorded when it is deleted in turn, so the largest
    id a user (or the table) ever had is always a row or a mark.  Most deletes then
    write nothing here (the mark's page and its index page were two of the ~28 pages a
    delete wrote)."""
    if conn.dialect.name != "sqlite":
        return
    params = {"u": user_id, "e": episode_id}
    # Two statements: one INSERT ... SELECT ... WHERE NOT EXISTS cost 0.3 ms after the
    # delete's other writes, the probe and a VALUES insert 0.02 (measured).
    if driver.first(conn, _NEWER, params) is None:
        driver.execute(conn, _REMEMBER, params)


# Built once (a fresh upsert construct cost 0.3 ms to compile on every delete).
_NEWER = text("SELECT 1 FROM episodes WHERE user_id = :u AND id > :e LIMIT 1")
_REMEMBER = text(
    "INSERT INTO episode_id_marks (user_id, last_id) VALUES (:u, :e) "
    "ON CONFLICT (user_id) DO UPDATE SET last_id = excluded.last_id "
    "WHERE excluded.last_id > episode_id_marks.last_id"
)


@cache
def _statements(table: str) -> tuple[Any, Any]:
    """Built once per table: (the user's newest id and whether the one after it is
    taken, the table's largest id).  The names are the schema's own, never input."""
    newest = f"(SELECT max(id) FROM {table} WHERE user_id = :u)"
    top = f"(SELECT max(id) FROM {table})"
    if table == "episodes":
        # Deleted ids count as used: the user's own, and (for a new block) everyone's,
        # so that no one is handed an id a delete freed at the top of the table.
        mark = "(SELECT last_id FROM episode_id_marks WHERE user_id = :u)"
        newest = f"max(coalesce({newest}, 0), coalesce({mark}, 0))"
        top = f"max(coalesce({top}, 0), coalesce((SELECT max(last_id) FROM episode_id_marks), 0))"
    probe = text(
        f"SELECT n, EXISTS (SELECT 1 FROM {table} WHERE id = n + 1) FROM (SELECT {newest} AS n)"
    )
    return probe, text(f"SELECT {top}")
