"""A test's database on either engine, read and written the way an operator would.

:class:`TestDatabase` talks to the database through the driver, not through memwarden,
so that tests can look at (and break) rows behind the code's back: with foreign keys
off, as a hand-run ``sqlite3`` shell or ``psql`` session with
``session_replication_role = replica`` would.  SQL is written once with ``?``
placeholders (SQLite's style) and runs on both engines.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from memwarden.store import textindex
from memwarden.store.engine import sqlite_module

__all__ = ["SQLITE_STATE_TABLES", "STATE_TABLES", "TestDatabase"]

# Tables whose rows a refused or failed call must leave exactly as they were.
STATE_TABLES = (
    "episodes",
    "risk_log",
    "semantic_beliefs",
    "belief_sources",
    "belief_history",
    "tasks",
    "task_events",
)
# On SQLite the FTS5 shadow tables too: a half-done delete would show there first.
SQLITE_STATE_TABLES = (
    *STATE_TABLES,
    "episodes_fts_data",
    "episodes_fts_idx",
    "episodes_fts_docsize",
    "semantic_beliefs_fts_data",
    "semantic_beliefs_fts_idx",
    "semantic_beliefs_fts_docsize",
)


@dataclass(frozen=True)
class TestDatabase:
    """The database a test's settings point at: ``url`` is what ``--db`` takes."""

    __test__ = False  # not a test class, whatever its name

    url: str
    exports_dir: Path  # where /export_memory writes by default for this database

    @property
    def dialect(self) -> str:
        return "sqlite" if "://" not in self.url else make_url(self.url).get_backend_name()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def path(self) -> Path:
        """The SQLite file (SQLite only)."""
        assert self.is_sqlite, "only a SQLite database is a file"
        return Path(self.url)

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A driver connection in one transaction, committed at the end; foreign keys off."""
        if self.is_sqlite:
            conn = sqlite_module().connect(self.url)
            textindex.register(conn)  # the full-text triggers call mw_fts()
        else:
            import psycopg

            libpq = make_url(self.url).set(drivername="postgresql")
            conn = psycopg.connect(libpq.render_as_string(hide_password=False))
            conn.execute("SET session_replication_role = replica")
        try:
            yield conn
            conn.commit()
        finally:
            conn.close()

    def _sql(self, sql: str, params: tuple[Any, ...]) -> str:
        if self.is_sqlite:
            return sql
        return sql.replace("%", "%%").replace("?", "%s")

    def execute(self, *statements: str) -> None:
        """Run statements (no parameters) in one transaction, foreign keys off."""
        with self.connect() as conn:
            for statement in statements:
                conn.execute(statement)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """The rows of one statement (none for a statement that returns none)."""
        with self.connect() as conn:
            cursor = conn.execute(self._sql(sql, params), params)
            return [] if cursor.description is None else [tuple(r) for r in cursor.fetchall()]

    def run(self, sql: str, *params: Any) -> None:
        """One statement with parameters, committed, foreign keys off."""
        self.rows(sql, *params)

    def tables(self) -> list[str]:
        """memwarden's tables (not SQLite's FTS5 tables and their shadows)."""
        sql = (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%fts%'"
            if self.is_sqlite
            else "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        return sorted(r[0] for r in self.rows(sql))

    def count(self, table: str, where: str = "TRUE", *params: Any) -> int:
        return int(self.rows(f"SELECT COUNT(*) FROM {table} WHERE {where}", *params)[0][0])

    def state(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table a governance call could change."""
        tables = SQLITE_STATE_TABLES if self.is_sqlite else STATE_TABLES
        with self.connect() as conn:
            return {
                t: sorted((tuple(r) for r in conn.execute(f"SELECT * FROM {t}")), key=repr)
                for t in tables
            }

    def audit(self) -> list[tuple[Any, ...]]:
        """governance_log as (user_id, command, args, success, error) tuples, oldest first."""
        return self.rows(
            "SELECT user_id, command, args, success, error FROM governance_log ORDER BY id"
        )

    def disk_bytes(self) -> bytes:
        """The SQLite file and its WAL, as a copy taken now would hold them."""
        data = self.path.read_bytes()
        wal = self.path.with_name(self.path.name + "-wal")
        return data + (wal.read_bytes() if wal.exists() else b"")
