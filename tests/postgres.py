"""The local PostgreSQL for tests: fresh databases, and one shared database per session.

Outside CI an unreachable server skips the PostgreSQL tests with the reason; in CI
(``CI=true``) it fails them, because CI promises a running server.

Creating and migrating a database costs about 0.7 s, so a session migrates one
*template* once and clones it (``CREATE DATABASE ... TEMPLATE``, about 0.2 s) for the
shared test database and for any fresh one.  Before each test the shared database is
emptied (every row deleted, every sequence restarted: about 30 ms; ``TRUNCATE`` takes
0.3 s here), and recloned if a test changed its schema.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = [
    "ADMIN_URL",
    "SharedDatabase",
    "create_database",
    "drop_database",
    "fresh_database",
    "libpq_url",
    "require_pg_programs",
    "sqlalchemy_url",
]

ADMIN_URL = os.environ.get("MEMWARDEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
PREFIX = "memwarden_test_"


def _unreachable(reason: str) -> None:
    __tracebackhide__ = True
    message = f"PostgreSQL at {ADMIN_URL} is not reachable: {reason}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def require_pg_programs() -> None:
    """Skip (fail in CI) unless pg_dump and pg_restore are installed."""
    __tracebackhide__ = True
    missing = [p for p in ("pg_dump", "pg_restore") if shutil.which(p) is None]
    if missing:
        message = f"{' and '.join(missing)} not installed: run scripts/install-system-deps"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)


def _admin() -> Any:
    """An autocommit connection to the admin database (skips or fails when unreachable)."""
    try:
        import psycopg
    except ImportError as e:  # pragma: no cover - psycopg is a dependency
        reason = f"psycopg is not installed ({e})"
    else:
        try:
            return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
        except psycopg.OperationalError as e:
            reason = str(e).strip().splitlines()[0]
    _unreachable(reason)  # outside the except block: the message, not a traceback chain
    raise AssertionError("unreachable")  # pragma: no cover - _unreachable raises


def libpq_url(name: str) -> str:
    """``postgresql://...`` of database ``name`` on the test server (for psycopg)."""
    return f"{ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def sqlalchemy_url(name: str) -> str:
    """The SQLAlchemy URL of database ``name`` (psycopg 3)."""
    return libpq_url(name).replace("postgresql://", "postgresql+psycopg://", 1)


def create_database(template: str | None = None) -> str:
    """A new uniquely named database (a clone of ``template`` if given): its name."""
    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    clone = f' TEMPLATE "{template}" STRATEGY WAL_LOG' if template else ""
    with _admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"{clone}')
    return name


def drop_database(name: str) -> None:
    """Drop ``name`` and what restores left beside it (``NAME_pre_restore_*``, ...)."""
    like = name.replace("_", "\\_")
    with _admin() as admin:
        found = admin.execute(
            "SELECT datname FROM pg_database WHERE datname = %s "
            "OR datname LIKE %s OR datname LIKE %s",
            (name, f"{like}\\_pre\\_restore\\_%", f"{like}\\_restore\\_%"),
        ).fetchall()
        for (database,) in found:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def fresh_database(template: str | None = None) -> Iterator[str]:
    """Create a uniquely named database, yield its SQLAlchemy URL, then drop it."""
    name = create_database(template)
    try:
        yield sqlalchemy_url(name)
    finally:
        drop_database(name)


_SCHEMA_SQL = """
SELECT md5(string_agg(x, ';' ORDER BY x)) FROM (
  SELECT format('%s %s.%s %s %s', c.relkind, c.relname, a.attname,
                format_type(a.atttypid, a.atttypmod), a.attnotnull) AS x
    FROM pg_class c LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
     AND NOT a.attisdropped
   WHERE c.relnamespace = 'public'::regnamespace
  UNION ALL SELECT 't ' || tgname FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT 'f ' || proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'v ' || version_num FROM alembic_version
) AS parts
"""


class SharedDatabase:
    """A migrated template, one clone of it that every test of a session shares, and
    the other databases the session made, all dropped when it ends.

    Dropping a database makes PostgreSQL checkpoint (0.1 to 3 s on a busy server), so
    nothing is dropped before the end: :meth:`reset` empties the shared clone before a
    test, and a test that changed its schema (dropped a column, added a trigger) has it
    renamed aside and recloned.
    """

    def __init__(self) -> None:
        from memwarden.settings import Settings
        from memwarden.store import Store

        self.made: list[str] = []
        self.template = self.blank()
        store = Store.open(Settings(db=sqlalchemy_url(self.template)))  # migrate once
        store.close()  # no connection may stay on a template
        self.name = self.clone()
        self.fingerprint = self._fingerprint()

    @property
    def url(self) -> str:
        return sqlalchemy_url(self.name)

    def blank(self) -> str:
        """A new empty database (no tables), dropped at the end of the session."""
        self.made.append(create_database())
        return self.made[-1]

    def clone(self) -> str:
        """A new migrated, empty database, dropped at the end of the session."""
        self.made.append(create_database(self.template))
        return self.made[-1]

    def unique_name(self) -> str:
        """A free database name; whatever gets that name is dropped at the end."""
        self.made.append(f"{PREFIX}{uuid.uuid4().hex[:12]}")
        return self.made[-1]

    def _connect(self) -> Any:
        import psycopg

        return psycopg.connect(libpq_url(self.name), connect_timeout=3)

    def _fingerprint(self, conn: Any = None) -> str:
        if conn is None:
            with self._connect() as conn:
                return self._fingerprint(conn)
        return str(conn.execute(_SCHEMA_SQL).fetchone()[0])

    def reset(self) -> None:
        """Every row gone and every id restarting at 1; the schema as migrated."""
        with self._connect() as conn:
            if self._fingerprint(conn) == self.fingerprint:
                self._empty(conn)
                return
        aside = self.unique_name()
        with _admin() as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (self.name,),
            )
            admin.execute(f'ALTER DATABASE "{self.name}" RENAME TO "{aside}"')
            admin.execute(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"')

    @staticmethod
    def _empty(conn: Any) -> None:
        conn.execute("SET lock_timeout = '10s'")  # a leaked transaction fails, not hangs
        conn.execute("SET session_replication_role = replica")  # no FK order needed
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        ).fetchall()
        for (table,) in tables:
            conn.execute(f'DELETE FROM "{table}"')
        sequences = conn.execute(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"
        ).fetchall()
        for (sequence,) in sequences:
            conn.execute(f'ALTER SEQUENCE "{sequence}" RESTART')

    def close(self) -> None:
        for name in reversed(self.made):  # clones before their template
            drop_database(name)
