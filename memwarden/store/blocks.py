"""SQLite: ids of the per-turn tables handed out in per-user blocks, so that a user's
rows lie together in the table.

SQLite keeps a table in id order.  With ids handed out one after another, a user's turns
are interleaved with everyone else's: reading one user's 1,000 episodes (an export, a
trace's neighbours) meant 1,000 seeks into 1,000 different pages, each full of other
users' turns.  Here ids come in blocks of :data:`BLOCK`: a user's next id is the one
after their newest, while that stays inside the same block; otherwise it is the first
id of a new block above every id in the table.  So every block holds one user's rows
only, one after another in the table's B-tree, and a user's rows are a few runs of
adjacent pages (docs/benchmarks.md, Governance).

A user's ids still grow with time (the code and the runbook rely on "later is larger"
within a user); across users they no longer follow the order of turns.  The allocation
needs the table's write lock to be safe, which SQLite's ``BEGIN IMMEDIATE`` gives every
write transaction.  PostgreSQL keeps its sequences: its heap is in insertion order
whatever the id, so blocks would buy nothing there and cost a global point of contention.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Connection, Table, bindparam, func, select

__all__ = ["BLOCK", "next_id", "next_in_block"]

BLOCK = 256  # ids per block; ~70 pages of 4 KiB of episodes


def next_in_block(user_newest: int | None, table_max: int | None, block: int = BLOCK) -> int:
    """The id after ``user_newest`` if it stays in its block, else the first id of the
    block after ``table_max`` (blocks are ``[k * block + 1, (k + 1) * block]``)."""
    if user_newest is not None and user_newest % block:
        return user_newest + 1
    top = max(table_max or 0, user_newest or 0)
    return -(-top // block) * block + 1


def next_id(conn: Connection, table: Table, user_id: str) -> int | None:
    """The id for ``user_id``'s next row of ``table`` (SQLite; None elsewhere: let the
    database's sequence choose).  Call it inside the write transaction that inserts."""
    if conn.dialect.name != "sqlite":
        return None
    user_newest, table_max = _probes(table)
    newest = conn.execute(user_newest, {"u": user_id}).scalar()
    if newest is not None and newest % BLOCK:
        return int(newest) + 1  # the common case: one probe of the (user_id, id) index
    return next_in_block(newest, conn.execute(table_max).scalar())


@cache
def _probes(table: Table) -> tuple[Any, Any]:
    """The two statements, built once per table (building costs as much as running)."""
    ids = table.c.id
    return (
        select(func.max(ids)).where(table.c.user_id == bindparam("u")),
        select(func.max(ids)),
    )
