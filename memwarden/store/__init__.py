"""The store: a small typed contract over SQLite (default) and PostgreSQL.

Domain code receives a :class:`sqlalchemy.Connection` inside :meth:`Store.read` or
:meth:`Store.write` and uses dialect-neutral Core expressions; the one dialect seam is
full-text search (:attr:`Store.search`).  Driver errors are translated here into
:mod:`memwarden.errors`.
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
from .engine import WRITE, make_engine
from .migrate import current_revision, head_revision, upgrade
from .search import PostgresSearch, SearchBackend, SqliteSearch

__all__ = ["SearchBackend", "Store", "translate_errors"]

_RETRYABLE = ("database is locked", "database is busy", "deadlock", "could not serialize")


@contextmanager
def translate_errors() -> Iterator[None]:
    """Turn SQLAlchemy/driver errors raised inside the block into memwarden errors."""
    try:
        yield
    except exc.IntegrityError as e:
        raise IntegrityError(_first_line(e)) from e
    except exc.OperationalError as e:
        message = _first_line(e)
        if any(marker in message.lower() for marker in _RETRYABLE):
            raise ConcurrencyConflict(message) from e
        raise StoreUnavailable(message) from e
    except exc.DBAPIError as e:
        raise StoreError(_first_line(e)) from e


def _first_line(error: exc.DBAPIError) -> str:
    return str(error.orig).strip().splitlines()[0] if error.orig else str(error)


class Store:
    """A database holding memwarden's tables for any number of users."""

    def __init__(self, engine: Engine, search: SearchBackend) -> None:
        self.engine = engine
        self.search = search

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Store:
        """Open the configured database; with ``migrate`` bring it to head first."""
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
        with translate_errors(), self.engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A connection in one write transaction: all of the block is committed, or none."""
        with (
            translate_errors(),
            self.engine.connect().execution_options(**{WRITE: True}) as conn,
            conn.begin(),
        ):
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
