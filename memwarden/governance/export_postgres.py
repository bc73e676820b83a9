"""The export's sections rendered by PostgreSQL.

Each record is one text built by concatenation on the server, so Python receives one
string a row.  (``json_build_object`` over ``::json`` casts took ~6 µs a row in the
server, re-parsing every stored JSON text; this takes ~3.)

A stored JSON column is embedded verbatim when its generated ``<column>_is_json`` flag
(migration 0010, computed when the row was written) says it is JSON, and as a JSON
string when it is not: a hand-edited row never breaks the document, and nothing is
re-parsed at export time.  A task event's ``detail``, which has no flag, is tested by
migration 0010's ``memwarden_is_json()`` when exported (a user has few events).
Beliefs and tasks carry their children (sources, history, events) as arrays built by a
subquery each, so a page of them is one statement.

The document is the one :mod:`.export`'s Python renderer writes, in value: numbers may be
written differently (``1`` for ``1.0``), a non-finite float is ``null`` either way.
``tests/test_governance_export.py`` checks both renderers give one document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from psycopg.types.string import ByteaBinaryLoader
from sqlalchemy import Connection

from ..errors import StoreError
from .records import (
    BELIEF_FIELDS,
    EPISODE_FIELDS,
    EVENT_FIELDS,
    GOVERNANCE_FIELDS,
    HISTORY_FIELDS,
    JSON_FLAGS,
    RISK_FIELDS,
    TASK_FIELDS,
    Field,
    Kind,
)

Part = tuple[str, str]  # a record's field: its name, and the SQL of its JSON text

__all__ = ["BELIEFS", "EPISODES", "GOVERNANCE_LOG", "RISK_LOG", "TASKS", "pages"]


def _num(column: str) -> str:
    """A float8 column as a JSON number; the non-finite values (no JSON number) as null."""
    return (
        f"CASE WHEN {column} IS NULL OR {column} IN "
        "('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8) "
        f"THEN 'null' ELSE {column}::text END"
    )


def _ts(column: str) -> str:
    """ISO 8601 to the microsecond, quoted (PostgreSQL's own JSON drops trailing zeros)."""
    return f"""coalesce('"' || to_char({column}, 'YYYY-MM-DD"T"HH24:MI:SS.US') || '"', 'null')"""


def _json(column: str, flag: str) -> str:
    """Verbatim where ``flag`` says it is JSON, else as a string."""
    return f"coalesce(CASE WHEN {flag} THEN {column} ELSE to_json({column})::text END, 'null')"


def _expression(column: str, kind: Kind, flags: bool) -> str:
    """A column as JSON text.  ``flags``: the table has generated ``<column>_is_json``
    flags (:data:`.records.JSON_FLAGS`); else validity is tested at export time, by
    migration 0010's ``memwarden_is_json()`` (for the few rows of task events)."""
    if kind == "json":
        return _json(column, f"{column}_is_json" if flags else f"memwarden_is_json({column})")
    if kind == "ts":
        return _ts(column)
    if kind == "num":
        return _num(column)
    if kind == "text":
        return f"coalesce(to_json({column})::text, 'null')"
    return f"coalesce({column}::text, 'null')"  # int, and bool (true or false)


def _fields(fields: tuple[Field, ...], prefix: str = "", *, flags: bool = True) -> list[Part]:
    """:func:`_record`'s parts for a record of :mod:`.records` (columns named with
    ``prefix``, an alias's ``name.``)."""
    return [(name, _expression(prefix + name, kind, flags)) for name, kind in fields]


def _record(parts: list[Part]) -> str:
    """SQL building one record's JSON text: ``'{"id":' || ... || '}'``."""
    sql = []
    for i, (name, expression) in enumerate(parts):
        key = ("{" if i == 0 else ",") + json.dumps(name) + ":"  # our names: no quote in them
        sql += [f"'{key}'", expression]
    sql.append("'}'")
    return " || ".join(sql)


def _children(table: str, key: str, parent: str, fields: tuple[Field, ...]) -> str:
    """A JSON array of the parent row's children (``c``) in id order: ``[]`` when none."""
    record = _record(_fields(fields, "c.", flags=table in JSON_FLAGS))
    return (
        f"'[' || coalesce((SELECT string_agg({record}, ',' ORDER BY c.id) FROM {table} AS c "
        f"WHERE c.{key} = {parent}.id AND c.user_id = {parent}.user_id), '') || ']'"
    )


def _page_query(table: str, parts: list[Part]) -> str:
    # Driver SQL (psycopg's placeholders), for the raw cursor.  A row a record:
    # ``string_agg`` over the page cost more (1.6 ms for 1,000 episodes, copying ~1 MB as
    # it grows) than Python's join.
    return (
        f"SELECT id, {_record(parts)} FROM {table} "
        "WHERE user_id = %s AND id > %s ORDER BY id LIMIT %s"
    )


EPISODES = _page_query("episodes", _fields(EPISODE_FIELDS))
RISK_LOG = _page_query("risk_log", _fields(RISK_FIELDS))
GOVERNANCE_LOG = _page_query("governance_log", _fields(GOVERNANCE_FIELDS))
B = "semantic_beliefs"
BELIEFS = _page_query(
    B,
    [
        *_fields(BELIEF_FIELDS, f"{B}."),
        (
            "sources",
            "'[' || coalesce((SELECT string_agg(s.episode_id::text, ',' ORDER BY s.episode_id) "
            f"FROM belief_sources AS s WHERE s.belief_id = {B}.id AND s.user_id = {B}.user_id), "
            "'') || ']'",
        ),
        ("history", _children("belief_history", "belief_id", B, HISTORY_FIELDS)),
    ],
)
TASKS = _page_query(
    "tasks",
    [
        *_fields(TASK_FIELDS, "tasks."),
        ("events", _children("task_events", "task_id", "tasks", EVENT_FIELDS)),
    ],
)


def pages(
    conn: Connection, query: str, user_id: str, page: int
) -> Iterator[tuple[str | bytes, int]]:
    """The user's records as (comma-joined page, records in it), in id order.

    On the driver's cursor, in ``conn``'s transaction.  Results come in binary format,
    where a ``text`` value is the bytes the server sent: over a UTF-8 connection they are
    kept as bytes (psycopg's own C loader), so a page goes to a UTF-8 file as it came,
    where decoding ~1 MB into a ``str`` only to encode it again cost ~0.5 ms per 1,000
    episodes (as for SQLite's pages, :class:`.export._Writer`).

    Each statement asks for one row more than a page: a section whose rows fill its
    last page (a user of exactly 1,000 episodes) then needs no statement that finds
    nothing (0.3 ms a section, measured).  The extra row is read again with the next
    page."""
    page = max(1, page)
    driver_error = conn.dialect.loaded_dbapi.Error
    driver = conn.connection.dbapi_connection
    cursor = driver.cursor(binary=True)  # type: ignore[union-attr]
    utf8 = driver.info.encoding == "utf-8"  # type: ignore[union-attr]
    if utf8:
        cursor.adapters.register_loader("text", ByteaBinaryLoader)
    comma: str | bytes = b"," if utf8 else ","
    try:
        last = -1
        while True:
            try:
                rows = cursor.execute(query, (user_id, last, page + 1)).fetchall()
            except driver_error as e:  # the store boundary, for this raw cursor
                raise StoreError(f"cannot read the export: {e}") from e
            more = len(rows) > page
            if more:
                del rows[page:]
            if rows:
                yield comma.join([r[1] for r in rows]), len(rows)
            if not more:
                return
            last = int(rows[-1][0])
    finally:
        cursor.close()
