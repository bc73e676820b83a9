"""Engines: how a URL becomes a configured SQLAlchemy engine, per dialect."""

from __future__ import annotations

import importlib
import select
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DisconnectionError

from ..errors import ConfigError
from ..settings import Settings
from . import textindex
from .sqlite_library import quiet_memory_stats

__all__ = ["LOCK_SPACE", "WRITE", "make_engine", "sqlite_module", "sqlite_version", "transaction"]

# Execution option a write transaction sets, so SQLite takes its write lock at BEGIN
# (BEGIN IMMEDIATE) instead of failing half-way when a reader upgrades to a writer.
WRITE = "memwarden_write"

# First key of memwarden's two-key PostgreSQL advisory locks ("mw"), so that they cannot
# collide with another application's locks on the same database.  Second key: a hash of
# the user id for a user's write lock (store/__init__.py), 0 for migrations (migrate.py).
LOCK_SPACE = 0x6D77


def sqlite_module() -> ModuleType:
    """The DB-API module for SQLite: a bundled current SQLite if installed, else stdlib."""
    try:
        return importlib.import_module("pysqlite3.dbapi2")
    except ImportError:  # pragma: no cover - depends on the platform's wheels
        return importlib.import_module("sqlite3")


def sqlite_version() -> tuple[int, ...]:
    """Version of the SQLite library memwarden talks to."""
    return tuple(int(p) for p in sqlite_module().sqlite_version.split("."))


def make_engine(settings: Settings) -> Engine:
    """Create the engine for ``settings.database_url()`` with the dialect's pragmas."""
    url = make_url(settings.database_url())
    backend = url.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url.database or "", settings)
    if backend == "postgresql":
        if url.drivername == "postgresql":  # plain postgresql:// means psycopg 3 here
            url = url.set(drivername="postgresql+psycopg")
        return _postgres_engine(url, settings)
    raise ConfigError(
        f"unsupported database {backend!r}: use a SQLite path or postgresql+psycopg://"
    )


def _postgres_engine(url: URL, settings: Settings) -> Engine:
    # lock_timeout bounds every wait for a lock (a user's write lock, a row): past it
    # the statement fails with 55P03, which the store reports as ConcurrencyConflict
    # and the agent retries, as SQLite's busy timeout does.
    # extra_float_digits=1 (the default since PostgreSQL 12, set in case a server or role
    # changed it): floats leave the server in their shortest exact form, as the export's
    # server-side rendering needs (governance/export_postgres.py).
    options = f"-c lock_timeout={int(settings.busy_timeout_ms)} -c extra_float_digits=1"
    given = url.query.get("options")
    if isinstance(given, str):  # options=... in the URL: keep them, add ours
        options = f"{given} {options}"
    engine = create_engine(
        url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        pool_recycle=settings.pool_recycle_s,
        pool_pre_ping=settings.pool_pre_ping,
        connect_args={"options": options},
    )
    if not settings.pool_pre_ping:
        driver_error = engine.dialect.loaded_dbapi.Error

        @event.listens_for(engine, "checkout")
        def _on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
            _closed_by_server(dbapi_conn, driver_error)

    return engine


def _closed_by_server(dbapi_conn: Any, driver_error: type[Exception]) -> None:
    """Discard a pooled PostgreSQL connection whose socket has something to read.

    An idle connection receives nothing unless the server is ending it (a restart,
    ``pg_terminate_backend``, an idle timeout: a FATAL message, then EOF), so this
    catches what pre-ping's ``SELECT 1`` catches there, without its round trip (0.1-0.2
    ms of every call on loopback, measured).  A connection lost silently (a network
    cut) still fails its next statement, as with any pool.  Raising
    DisconnectionError makes the pool replace the connection and retry the checkout."""
    try:
        socket = dbapi_conn.fileno()  # fails once psycopg knows the connection is closed
    except driver_error as e:
        raise DisconnectionError("this pooled connection is closed") from e
    if hasattr(select, "poll"):  # any fd number (select() stops at 1024)
        poller = select.poll()
        poller.register(socket, select.POLLIN | select.POLLERR | select.POLLHUP)
        readable = bool(poller.poll(0))
    else:  # Windows, where select() takes sockets
        ready, _, failed = select.select([socket], [], [socket], 0)
        readable = bool(ready or failed)
    if readable:
        raise DisconnectionError("the server closed this pooled connection")


def _sqlite_engine(database: str, settings: Settings) -> Engine:
    if database and database != ":memory:":
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"module": sqlite_module()}
    if database in ("", ":memory:"):
        raise ConfigError("memwarden needs a SQLite file, not an in-memory database")
    if not settings.sqlite_memory_stats:
        quiet_memory_stats(kwargs["module"])
    # Pooled connections: closing the last connection to a WAL database checkpoints and
    # removes the WAL, which would cost milliseconds on every turn.  Store.close()
    # disposes of the pool (restore does so before swapping the file).
    engine = create_engine(
        f"sqlite:///{database}",
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        # The connection returned last is handed out first: its page cache is still good
        # unless another connection wrote since (an export, which uses three, 0.3 ms less).
        pool_use_lifo=True,
        **kwargs,
    )
    busy = settings.busy_timeout_ms
    mmap_bytes = settings.sqlite_mmap_mb * 1024 * 1024

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Hand transaction control to SQLAlchemy's "begin" event below, so that DDL is
        # transactional too (the driver would otherwise autocommit it).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute(f"PRAGMA busy_timeout = {int(busy)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        # Deleted content is overwritten with zeros on disk, not just unlinked.
        cur.execute("PRAGMA secure_delete = ON")
        # Pages read through the mapping skip a copy into SQLite's page cache.
        cur.execute(f"PRAGMA mmap_size = {int(mmap_bytes)}")
        cur.close()
        # The full-text triggers call this function (see textindex.py).
        textindex.register(dbapi_conn)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def transaction(conn: Connection, *, write: bool) -> Iterator[Connection]:
    """``conn`` in a new transaction: a write, or a read that sees one snapshot.

    A write takes SQLite's write lock at BEGIN (``BEGIN IMMEDIATE``) and keeps
    PostgreSQL's READ COMMITTED, so that a writer which waited for a user's lock reads
    what the previous one committed.  A read's statements all see one snapshot, as an
    export's sections must: SQLite's read transactions always do; PostgreSQL's run in
    REPEATABLE READ (a read-only one never fails to serialize).  Both settings are
    client-side, applied at BEGIN: no round trip."""
    conn.execution_options(**{WRITE: write})
    if conn.dialect.name == "postgresql":
        level = conn.default_isolation_level if write else "REPEATABLE READ"
        conn.execution_options(isolation_level=level)
    with conn.begin():
        yield conn
