"""Statements run on the driver's cursor, for paths that run many small ones.

SQLAlchemy costs ~30 µs a statement around the driver's ~2 (``text()``, measured on the
governance benchmark's box); a delete runs ~15.  Here a ``text()`` statement is compiled
once per dialect, by SQLAlchemy, and run on the connection's driver cursor, in the same
transaction.  Its parameters go to the driver as given, as SQLAlchemy passes a
``text()`` statement's untyped parameters; rows come back as the driver's tuples.  Only
for ``text()`` without expanding parameters (an ``IN`` list is compiled per call).

Driver errors are wrapped as SQLAlchemy wraps them (a lost connection invalidated, as
it does), so that the store's :func:`memwarden.store.translate_errors` turns them into
memwarden's errors; a statement on a connection outside a transaction begins one, as
SQLAlchemy's own ``execute`` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from string import Formatter
from typing import Any, TypeVar

from sqlalchemy import Connection, exc, text
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import TextClause

__all__ = ["AnyOf", "execute", "first", "rows"]

_T = TypeVar("_T")


class AnyOf:
    """A statement with lists of ids, each one parameter, where ``sql`` says ``{name}``:
    SQLite's ``IN (SELECT value FROM json_each(:name))`` with the ids as a JSON array,
    PostgreSQL's ``= ANY(:name)`` with them as an array.  Unlike an expanding ``IN`` list
    its text never changes, so it runs here, compiled once."""

    def __init__(self, sql: str) -> None:
        self.lists = tuple(dict.fromkeys(f for _, f, _, _ in Formatter().parse(sql) if f))
        self.sqlite = text(
            sql.format(**{n: f"IN (SELECT value FROM json_each(:{n}))" for n in self.lists})
        )
        self.postgresql = text(sql.format(**{n: f"= ANY(:{n})" for n in self.lists}))

    def bind(self, conn: Connection, **params: Any) -> tuple[TextClause, dict[str, Any]]:
        """The dialect's statement and its parameters, the lists among them (any
        collections of ids)."""
        on_postgres = conn.dialect.name == "postgresql"
        for name in self.lists:
            listed = sorted(params[name])
            params[name] = listed if on_postgres else json.dumps(listed)
        return (self.postgresql if on_postgres else self.sqlite), params


_Compiled = tuple[str, tuple[str, ...] | None]  # SQL, and the parameters' order if positional
_compiled: dict[tuple[str, str, str, TextClause], _Compiled] = {}


def _compile(dialect: Dialect, statement: TextClause) -> _Compiled:
    key = (dialect.name, str(dialect.driver), str(dialect.paramstyle), statement)
    found = _compiled.get(key)
    if found is None:
        compiled = statement.compile(dialect=dialect)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("an expanding parameter needs SQLAlchemy's execute()")
        if compiled.escaped_bind_names:
            raise ValueError("a parameter name SQLAlchemy escapes needs its execute()")
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        found = _compiled[key] = (compiled.string, order)
    return found


def _run(
    conn: Connection,
    statement: TextClause,
    params: Mapping[str, Any],
    result: Callable[[Any], _T],
) -> _T:
    """Run ``statement`` in ``conn``'s transaction (begun here if none is, as SQLAlchemy
    begins one) and return ``result(cursor)``.  A driver error, raised by the statement
    or while its rows are fetched, is wrapped as SQLAlchemy wraps it; a lost connection
    is invalidated, as SQLAlchemy does."""
    sql, order = _compile(conn.dialect, statement)
    args: Sequence[Any] | Mapping[str, Any] = (
        params if order is None else tuple(params[name] for name in order)
    )
    if not conn.in_transaction():
        conn.begin()
    driver = conn.connection.dbapi_connection
    assert driver is not None
    driver_error = conn.dialect.loaded_dbapi.Error
    cursor = driver.cursor()
    try:
        cursor.execute(sql, args)
        return result(cursor)
    except driver_error as e:
        lost = bool(conn.dialect.is_disconnect(e, driver, cursor))
        wrapped = exc.DBAPIError.instance(
            sql, args, e, driver_error, connection_invalidated=lost, dialect=conn.dialect
        )
        if lost:
            conn.invalidate(wrapped)
        raise wrapped from e
    finally:
        cursor.close()


def rows(
    conn: Connection, statement: TextClause, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """All rows of ``statement``."""
    return _run(conn, statement, params, lambda c: [tuple(r) for r in c.fetchall()])


def first(
    conn: Connection, statement: TextClause, params: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The first row of ``statement``, or None."""

    def one(cursor: Any) -> tuple[Any, ...] | None:
        row = cursor.fetchone()
        return None if row is None else tuple(row)

    return _run(conn, statement, params, one)


def execute(conn: Connection, statement: TextClause, params: Mapping[str, Any]) -> int:
    """Run ``statement``; the rows it changed (0 when the driver does not say)."""
    return _run(conn, statement, params, lambda c: max(0, int(c.rowcount)))
