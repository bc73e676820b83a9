"""The store: a small typed contract over SQLite (default) and PostgreSQL.

Domain code receives a :class:`sqlalchemy.Connection` inside :meth:`Store.read` or
:meth:`Store.write` and uses dialect-neutral Core expressions; the dialect seams are
full-text search (:attr:`Store.search`) and the per-user write lock (:func:`lock_user`).
Driver errors are translated here into :mod:`memwarden.errors`.

Many writers: a write transaction on one user's memory takes that user's lock as its
first statement (``Store.write(user_id)``), so a user's turns are applied one after the
other in commit order and no two transactions ever wait for each other's rows in
opposite orders (docs/scaling.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, exc, text

from ..errors import (
    ConcurrencyConflict,
    IntegrityError,
    SchemaError,
    StoreError,
    StoreUnavailable,
)
from ..settings import Settings
from .engine import LOCK_SPACE, make_engine, transaction
from .migrate import current_revision, head_revision, upgrade
from .revisions import newer_than_code
from .search import PostgresSearch, SearchBackend, SqliteSearch

__all__ = [
    "RETRYABLE_SQLSTATES",
    "SearchBackend",
    "Store",
    "lock_user",
    "transaction",
    "translate_errors",
]

# PostgreSQL SQLSTATEs after which the whole transaction can simply be run again:
# serialization_failure, deadlock_detected, lock_not_available (lock_timeout expired).
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
# SQLite has no SQLSTATE: its busy and locked errors are known by their message.
_RETRYABLE = ("database is locked", "database is busy", "deadlock", "could not serialize")
_LOCK_USER = text(f"SELECT pg_advisory_xact_lock({LOCK_SPACE}, hashtext(:user_id))")


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn SQLAlchemy/driver errors raised inside the block into memwarden errors."""
    try:
        yield
    except exc.DBAPIError as e:
        raise _translated(e) from e
    except exc.TimeoutError as e:  # the pool had no free connection within pool_timeout_s
        raise StoreUnavailable(
            "no free database connection: every pooled connection is busy "
            "(raise pool_size / max_overflow, or add workers)"
        ) from e


def _translated(error: exc.DBAPIError) -> StoreError:
    message = _first_line(error)
    # PostgreSQL says what happened by SQLSTATE, whatever the server's language.
    if getattr(error.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return ConcurrencyConflict(message)
    if isinstance(error, exc.IntegrityError):
        return IntegrityError(message)
    if isinstance(error, exc.OperationalError):
        if any(marker in message.lower() for marker in _RETRYABLE):
            return ConcurrencyConflict(message)
        return StoreUnavailable(message)
    return StoreError(message)


def lock_user(conn: Connection, user_id: str) -> None:
    """Take ``user_id``'s write lock until the end of ``conn``'s transaction.

    Call it as the transaction's first statement (``Store.write(user_id)`` does).
    PostgreSQL: a transaction-scoped advisory lock on a hash of the user id, so writers
    of one user queue in order while other users' writers run in parallel (two users
    sharing a hash merely queue too).  SQLite: nothing to do, since ``BEGIN IMMEDIATE``
    already made this the only writer of the database.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK_USER, {"user_id": user_id})


def _first_line(error: exc.DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0] if error.orig else str(error)


class Store:
    """A database holding memwarden's tables for any number of users."""

    def __init__(self, engine: Engine, search: SearchBackend) -> None:
        self.engine = engine
        self.search = search

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True, create: bool = True) -> Store:
        """Open the configured database; with ``migrate`` bring it to head first.

        ``create=False``: a SQLite file that is not there is a :class:`StoreUnavailable`
        (commands that only read or change existing memory must not answer from an
        empty database made at a mistyped path)."""
        if not create:
            path = settings.sqlite_path()
            if path is not None and not path.is_file():
                raise StoreUnavailable(f"no database at {path}")
        engine = make_engine(settings)
        store = cls(engine, _search_for(engine))
        if migrate:
            store.upgrade()
        return store

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection in a read transaction (a consistent snapshot)."""
        with translate_errors(), self.engine.connect() as conn, transaction(conn, write=False):
            yield conn

    @contextmanager
    def write(self, user_id: str | None = None) -> Iterator[Connection]:
        """A connection in one write transaction: all of the block is committed, or none.

        With ``user_id``, the transaction first takes that user's lock (:func:`lock_user`):
        pass it whenever the block changes one user's memory.
        """
        with (
            translate_errors(),
            self.engine.connect() as conn,
            transaction(conn, write=True),
        ):
            if user_id is not None:
                lock_user(conn, user_id)
            yield conn

    def upgrade(self) -> None:
        """Apply missing migrations."""
        with translate_errors():
            upgrade(self.engine)

    def revision(self) -> str | None:
        """The migration the database is at (None when blank)."""
        with translate_errors(), self.engine.connect() as conn:
            return current_revision(conn)

    def require_head(self) -> None:
        """Raise :class:`SchemaError` unless migrations are at head."""
        current, head = self.revision(), head_revision()
        newer = newer_than_code(current)
        if newer is not None:
            raise newer
        if current != head:
            raise SchemaError(
                f"database is at migration {current or 'none'}, code expects {head}: "
                "run `memwarden db upgrade`"
            )

    def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the database answers."""
        with self.read() as conn:
            conn.execute(text("SELECT 1"))

    def optimize(self) -> None:
        """Merge full-text index segments and refresh planner statistics.

        Worth running after a bulk import: one merged index answers several times faster
        than the many small segments that bulk inserts leave behind.
        """
        with self.write() as conn:
            self.search.optimize(conn)

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()


def _search_for(engine: Engine) -> SearchBackend:
    if engine.dialect.name == "sqlite":
        return SqliteSearch()
    if engine.dialect.name == "postgresql":
        return PostgresSearch()
    raise StoreError(f"full-text search is not implemented for {engine.dialect.name}")
