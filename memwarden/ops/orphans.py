"""Orphaned rows: references that point at nothing, found and repaired with Core SQL.

With foreign keys on (every memwarden connection turns them on), none can appear; they
come from a connection that wrote with them off, a hand-made fix or an old copy.  There
is one kind per foreign key of ``store/schema.py``, and each repairs itself the way its
foreign key would have: a CASCADE reference deletes the row, a SET NULL reference clears
the column (a reference without an ON DELETE rule is reported, not repaired).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    Select,
    Table,
    delete,
    except_,
    exists,
    func,
    literal_column,
    select,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from ..store import Store
from ..store.schema import belief_sources, metadata, semantic_beliefs
from .figures import fast_reads

__all__ = [
    "BELIEFS_WITHOUT_SOURCE",
    "ORPHANS",
    "OrphanKind",
    "RowCheck",
    "SourcelessBeliefs",
    "count_orphans",
    "count_orphans_on",
    "orphan_kinds",
]


class RowCheck(Protocol):
    """A kind of bad row that ``check`` counts and lists."""

    @property
    def name(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def repair(self) -> str: ...
    @property
    def fixable(self) -> bool: ...
    @property
    def tables(self) -> set[str]: ...
    def count(self, conn: Connection) -> int: ...
    def rows(self, conn: Connection, limit: int) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class OrphanKind:
    """Rows of ``table`` whose ``column`` names a missing ``target`` row."""

    table: Table
    column: Column[Any]
    target: Column[Any]  # the referenced column, e.g. episodes.id
    on_delete: str  # "CASCADE" deletes the row, "SET NULL" clears the column

    @property
    def name(self) -> str:
        return f"orphan_{self.table.name}.{self.column.name}"

    @property
    def parent(self) -> Table:
        return self.target.table

    @property
    def description(self) -> str:
        return f"{self.table.name}.{self.column.name} points at a missing {self.parent.name} row"

    @property
    def fixable(self) -> bool:
        return self.on_delete in ("CASCADE", "SET NULL")

    @property
    def tables(self) -> set[str]:
        return {self.table.name, self.parent.name}

    @property
    def repair(self) -> str:
        if self.on_delete == "SET NULL":
            return f"set {self.table.name}.{self.column.name} to NULL"
        if self.on_delete == "CASCADE":
            return f"delete the {self.table.name} rows"
        return "none automatic: the foreign key has no ON DELETE rule to follow"

    def _where(self) -> ColumnElement[bool]:
        """For repairs: NOT EXISTS (which PostgreSQL also plans as an anti-join)."""
        return self.column.is_not(None) & ~exists().where(self.target == self.column)

    def _anti_join(self, *columns: Any) -> Select[Any]:
        """For reading: a LEFT JOIN anti-join, about twice as fast as NOT EXISTS on SQLite
        (one index scan of the child, one primary-key probe of the parent per row)."""
        parent = self.parent.alias("parent")
        target = parent.c[self.target.name]
        joined = self.table.outerjoin(parent, target == self.column)
        return (
            select(*columns).select_from(joined).where(self.column.is_not(None), target.is_(None))
        )

    def count(self, conn: Connection) -> int:
        if _merge_pays(conn, self.table, self.parent) and self._none_missing(conn):
            return 0
        return int(conn.execute(self._anti_join(func.count())).scalar_one())

    def _none_missing(self, conn: Connection) -> bool:
        """Whether every reference has its row: ``references EXCEPT keys``, both sides
        read in key order from their indexes and merged, is empty.  It only tells
        whether there is an orphan; when there is, the anti-join counts the rows.
        """
        refs = select(self.column).where(self.column.is_not(None))
        first = except_(refs, select(self.target)).order_by(literal_column("1")).limit(1)
        return conn.execute(first).first() is None

    def rows(self, conn: Connection, limit: int) -> list[dict[str, Any]]:
        keys = list(self.table.primary_key.columns)
        shown = [*keys, *(c for c in (self.table.c.get("user_id"), self.column) if c is not None)]
        query = self._anti_join(*dict.fromkeys(shown)).order_by(*keys).limit(limit)
        return [dict(r._mapping) for r in conn.execute(query)]

    def fix(self, conn: Connection) -> int:
        if self.on_delete == "SET NULL":
            result = conn.execute(
                update(self.table).where(self._where()).values({self.column.name: None})
            )
        elif self.on_delete == "CASCADE":
            result = conn.execute(delete(self.table).where(self._where()))
        else:
            return 0
        return int(result.rowcount or 0)


def _merge_pays(conn: Connection, child: Table, parent: Table) -> bool:
    """Whether to prove "no orphans" with a merge instead of a probe per row.

    SQLite has no merge join: its anti-join probes the parent's key once per child row
    (0.25-0.6 µs each, measured on a million episodes), while a compound ``EXCEPT ...
    ORDER BY`` merges two key-ordered index scans (the child's index on the column and,
    for episodes, ``ix_episodes_id`` of migration 0004) at ~0.07 µs per row of either
    side.  The merge wins once the child has at least half as many rows as the parent
    (docs/benchmarks.md, Operations).  Counting both costs a few milliseconds.
    PostgreSQL plans its own hash or merge anti-join, so it always gets the anti-join.
    """
    if conn.dialect.name != "sqlite":
        return False
    rows = {
        t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
        for t in (child, parent)
    }
    return rows[child.name] * 2 >= rows[parent.name] > 0


def orphan_kinds(schema: MetaData = metadata) -> tuple[OrphanKind, ...]:
    """One kind per foreign key of the schema: new tables are checked with no change here."""
    return tuple(
        OrphanKind(table, fk.parent, fk.column, (fk.ondelete or "").upper())
        for table in schema.sorted_tables
        for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name)
    )


ORPHANS: tuple[OrphanKind, ...] = orphan_kinds()


def count_orphans(conn: Connection, kinds: Sequence[OrphanKind] = ORPHANS) -> dict[str, int]:
    """How many orphaned rows of each kind (the health dashboard's "orphaned entries")."""
    return {kind.name: kind.count(conn) for kind in kinds}


def count_orphans_on(
    pool: Executor, store: Store, kinds: Sequence[OrphanKind] = ORPHANS
) -> dict[str, Future[int]]:
    """Start counting each kind on ``pool``, each in a read transaction of its own.

    The kinds are independent queries, and the drivers release the GIL while one runs,
    so two workers count on two cores at once while the caller does other work.  Each
    count is exact in its own snapshot; with foreign keys on, no snapshot has orphans.
    """
    return {kind.name: pool.submit(_count_alone, store, kind) for kind in kinds}


def _count_alone(store: Store, kind: OrphanKind) -> int:
    with store.read() as conn:
        fast_reads(conn)
        return kind.count(conn)


@dataclass(frozen=True)
class SourcelessBeliefs:
    """Beliefs with no ``belief_sources`` row: memory nobody can trace to a turn.

    Not repaired automatically: a belief is its user's data.  The user (or an operator
    acting for them) removes it with ``/delete_belief N`` after looking at it.
    """

    name: str = "beliefs_without_source"
    description: str = "semantic_beliefs row with no belief_sources row"
    repair: str = "none automatic: review, then /delete_belief N as its user"
    fixable: bool = False

    @property
    def tables(self) -> set[str]:
        return {semantic_beliefs.name, belief_sources.name}

    def _where(self) -> ColumnElement[bool]:
        return ~exists().where(belief_sources.c.belief_id == semantic_beliefs.c.id)

    def count(self, conn: Connection) -> int:
        query = select(func.count()).select_from(semantic_beliefs).where(self._where())
        return int(conn.execute(query).scalar_one())

    def rows(self, conn: Connection, limit: int) -> list[dict[str, Any]]:
        b = semantic_beliefs.c
        query = select(b.id, b.user_id, b.key).where(self._where()).order_by(b.id).limit(limit)
        return [dict(r._mapping) for r in conn.execute(query)]


BELIEFS_WITHOUT_SOURCE = SourcelessBeliefs()
