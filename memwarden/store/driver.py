"""Statements run on the driver's cursor, for paths that run many small ones.

SQLAlchemy costs ~30 µs a statement around the driver's ~2 (``text()``, measured on the
governance benchmark's box); a delete runs ~15.  Here a ``text()`` statement is compiled
once per dialect, by SQLAlchemy, and run on the connection's driver cursor, in the same
transaction.  Its parameters go to the driver as given, as SQLAlchemy passes a
``text()`` statement's untyped parameters; rows come back as the driver's tuples.  Only
for ``text()`` without expanding parameters (an ``IN`` list is compiled per call).

Driver errors are wrapped as SQLAlchemy would wrap them, so that the store's
:func:`memwarden.store.translate_errors` turns them into memwarden's errors.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, exc, text
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import TextClause

__all__ = ["AnyOf", "execute", "first", "rows"]


class AnyOf:
    """A statement with a list of ids as one parameter, where ``sql`` says ``{ids}``:
    SQLite's ``IN (SELECT value FROM json_each(:ids))`` with the ids as a JSON array,
    PostgreSQL's ``= ANY(:ids)`` with them as an array.  Unlike an expanding ``IN`` list
    its text never changes, so it runs here, compiled once."""

    def __init__(self, sql: str) -> None:
        self.sqlite = text(sql.format(ids="IN (SELECT value FROM json_each(:ids))"))
        self.postgresql = text(sql.format(ids="= ANY(:ids)"))

    def bind(
        self, conn: Connection, ids: Collection[int], **params: Any
    ) -> tuple[TextClause, dict[str, Any]]:
        """The dialect's statement and its parameters, ``ids`` among them."""
        listed = sorted(ids)
        if conn.dialect.name == "postgresql":
            return self.postgresql, {**params, "ids": listed}
        return self.sqlite, {**params, "ids": json.dumps(listed)}


_Compiled = tuple[str, tuple[str, ...] | None]  # SQL, and the parameters' order if positional
_compiled: dict[tuple[str, TextClause], _Compiled] = {}


def _compile(dialect: Dialect, statement: TextClause) -> _Compiled:
    key = (dialect.name, statement)
    found = _compiled.get(key)
    if found is None:
        compiled = statement.compile(dialect=dialect)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("an expanding parameter needs SQLAlchemy's execute()")
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        found = _compiled[key] = (compiled.string, order)
    return found


def _run(conn: Connection, statement: TextClause, params: Mapping[str, Any]) -> Any:
    sql, order = _compile(conn.dialect, statement)
    args: Sequence[Any] | Mapping[str, Any] = (
        params if order is None else tuple(params[name] for name in order)
    )
    driver = conn.connection.dbapi_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        cursor.execute(sql, args)
    except conn.dialect.loaded_dbapi.Error as e:
        cursor.close()
        raise exc.DBAPIError.instance(
            sql, args, e, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
        ) from e
    return cursor


def rows(
    conn: Connection, statement: TextClause, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """All rows of ``statement``."""
    cursor = _run(conn, statement, params)
    try:
        return [tuple(r) for r in cursor.fetchall()]
    finally:
        cursor.close()


def first(
    conn: Connection, statement: TextClause, params: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The first row of ``statement``, or None."""
    cursor = _run(conn, statement, params)
    try:
        row = cursor.fetchone()
        return None if row is None else tuple(row)
    finally:
        cursor.close()


def execute(conn: Connection, statement: TextClause, params: Mapping[str, Any]) -> int:
    """Run ``statement``; the rows it changed (0 when the driver does not say)."""
    cursor = _run(conn, statement, params)
    try:
        return max(0, int(cursor.rowcount))
    finally:
        cursor.close()
