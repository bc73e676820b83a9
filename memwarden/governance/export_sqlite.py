"""The export's sections rendered by SQLite itself.

A user's export is mostly these rows (1,000 episodes are ~1.2 MB of JSON).  Building
each record in Python cost ~1.5 µs a row on top of fetching its columns; here SQLite
builds each record and joins a page of them, so Python fetches one string a page.  The
JSON is the same document as :mod:`.export`'s Python renderer:
equal values, not always equal bytes.  Strings keep non-ASCII characters instead of
``\\uXXXX`` escapes, and a float that SQLite's 15 digits do not round-trip is written
with 17 (``1/3`` as ``0.33333333333333331``, which parses to the same float).
``tests/test_governance_export.py`` checks that both renderers give one document.

Needs SQLite 3.45 (``json_valid(X)`` strict RFC 8259); older libraries use the Python
renderer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import Connection

from ..errors import StoreError
from ..store.engine import sqlite_version
from .records import (
    BELIEF_FIELDS,
    EPISODE_FIELDS,
    EVENT_FIELDS,
    GOVERNANCE_FIELDS,
    HISTORY_FIELDS,
    RISK_FIELDS,
    TASK_FIELDS,
    Field,
    Kind,
)

__all__ = ["BELIEFS", "EPISODES", "GOVERNANCE_LOG", "RISK_LOG", "TASKS", "available", "pages"]


def available(conn: Connection) -> bool:
    """Whether ``conn`` is a UTF-8 SQLite database, in a library new enough for this
    renderer (a UTF-16 one would hand over UTF-16 bytes)."""
    if conn.dialect.name != "sqlite" or sqlite_version() < (3, 45):
        return False
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        return bool(cursor.execute("PRAGMA encoding").fetchone()[0] == "UTF-8")
    finally:
        cursor.close()


def _num(column: str) -> str:
    """A REAL column as a JSON number that parses back to the same float (or null).

    Most scores are 0: a simple ``CASE x WHEN 0`` answers those first (the same test
    as a searched ``WHEN x = 0`` made a page of episodes 0.5 ms slower, measured).
    SQLite's own text has 15 digits; when that does not round-trip, 17 always do."""
    return (
        f"CASE {column} WHEN 0 THEN '0.0' ELSE CASE "
        f"WHEN typeof({column}) NOT IN ('real', 'integer') "
        f"OR abs({column}) > 1.7976931348623157e308 THEN 'null' "
        f"WHEN CAST(CAST({column} AS TEXT) AS REAL) = {column} THEN CAST({column} AS TEXT) "
        f"ELSE printf('%!.17g', {column}) END END"
    )


def _ts(column: str) -> str:
    """A stored timestamp (``YYYY-MM-DD HH:MM:SS.ffffff``) as a JSON string in ISO 8601,
    or null."""
    return f"json_quote(replace({column}, ' ', 'T'))"


def _value(column: str) -> str:
    """An integer or text column as a JSON number or string, or null (``json_quote``
    keeps a stray text value in an integer column a string: the document stays JSON)."""
    return f"json_quote({column})"


def _embed(column: str) -> str:
    """A stored JSON column: verbatim when valid JSON, else as a string.

    For episodes, ``json_valid(meta)`` and ``json_valid(trace)`` are read from the
    timeline index (migration 0007), not computed."""
    return (
        f"CASE WHEN {column} IS NULL THEN 'null' WHEN json_valid({column}) THEN {column} "
        f"ELSE json_quote({column}) END"
    )


def _record(fields: list[tuple[str, str]]) -> str:
    """SQL for one record: each field's name and its JSON fragment (the SQL of
    :func:`_value`, :func:`_ts`, :func:`_num`, :func:`_embed` ...) in one
    ``concat``.  A ``json_object`` of the integers and strings, its closing brace cut
    off, was ~8 % slower a page of episodes or risk_log rows (measured)."""
    parts = []
    for i, (name, expr) in enumerate(fields):
        parts += [f"'{'{' if i == 0 else ','}\"{name}\":'", expr]
    parts.append("'}'")
    return f"concat({', '.join(parts)})"


def _page_query(table: str, fields: list[tuple[str, str]], *, ids_first: bool = False) -> str:
    """One page of the user's records in id order (driver SQL, for the raw cursor), as
    one row: (the records comma-joined as a UTF-8 BLOB, how many, the last id).

    One row a page, not one a record: the driver then makes one bytes object a page
    instead of a thousand, and Python joins nothing (0.2-0.6 ms less per 1,000 episodes,
    measured).  ``group_concat`` takes the rows in the order the subquery yields them:
    SQLite runs the subquery as a coroutine (it does not flatten a subquery with LIMIT,
    or one whose ORDER BY an order-sensitive aggregate reads, into the aggregate), so
    in its ORDER BY order.  SQLite's documentation leaves that order "arbitrary" without
    an ORDER BY argument, so this is relied on, not promised: an ORDER BY inside the
    aggregate would sort the rendered records again (2.6 times slower), and
    ``tests/test_governance_export.py`` compares multi-page sections, record by record,
    with the Python renderer's.

    ``ids_first``: for a table without a ``(user_id, id)`` index, where SQLite would sort
    the user's rows by id after rendering every one of them, the page's ids are chosen
    first and only those rows rendered."""
    record = _record(fields)
    if ids_first:
        rows = (
            f"SELECT id, {record} AS r FROM {table} WHERE id IN (SELECT id FROM {table} "
            "WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?) ORDER BY id"
        )
    else:
        rows = (
            f"SELECT id, {record} AS r FROM {table} "
            "WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?"
        )
    return f"SELECT CAST(group_concat(r, ',') AS BLOB), count(*), max(id) FROM ({rows})"


def _from_fields(fields: tuple[Field, ...], prefix: str = "") -> list[tuple[str, str]]:
    """:func:`_record`'s fields for a record of :mod:`.records` (columns named with
    ``prefix``, a table's or alias's ``name.``)."""
    return [(name, _FRAGMENT[kind](prefix + name)) for name, kind in fields]


_FRAGMENT: dict[Kind, Callable[[str], str]] = {
    "int": _value,
    "text": _value,
    "ts": _ts,
    "num": _num,
    "json": _embed,
    "bool": lambda column: f"CASE WHEN {column} THEN 'true' ELSE 'false' END",
}

# Named, so that SQLite reads the indexed json_valid() values instead of re-parsing
# (it does so only for an index the query names).
EPISODES = _page_query(
    "episodes INDEXED BY ix_episodes_user_timeline", _from_fields(EPISODE_FIELDS)
)
RISK_LOG = _page_query("risk_log", _from_fields(RISK_FIELDS))
GOVERNANCE_LOG = _page_query("governance_log", _from_fields(GOVERNANCE_FIELDS))


def _children(table: str, key: str, parent: str, record: str) -> str:
    """A JSON array of the parent row's children (``c``), in id order; [] when none."""
    return (
        f"coalesce((SELECT json_group_array(json({record}) ORDER BY c.id) FROM {table} AS c "
        f"WHERE c.{key} = {parent}.id AND c.user_id = {parent}.user_id), '[]')"
    )


B = "semantic_beliefs"
BELIEFS = _page_query(
    B,
    [
        *_from_fields(BELIEF_FIELDS, f"{B}."),
        (
            "sources",
            "coalesce((SELECT json_group_array(s.episode_id ORDER BY s.episode_id) "
            f"FROM belief_sources AS s WHERE s.belief_id = {B}.id AND s.user_id = {B}.user_id), "
            "'[]')",
        ),
        (
            "history",
            _children(
                "belief_history", "belief_id", B, _record(_from_fields(HISTORY_FIELDS, "c."))
            ),
        ),
    ],
    ids_first=True,
)

TASKS = _page_query(
    "tasks",
    [
        *_from_fields(TASK_FIELDS, "tasks."),
        (
            "events",
            _children("task_events", "task_id", "tasks", _record(_from_fields(EVENT_FIELDS, "c."))),
        ),
    ],
    ids_first=True,
)


def pages(conn: Connection, query: str, user_id: str, page: int) -> Iterator[tuple[bytes, int]]:
    """The user's records as (comma-joined page in UTF-8, records in it), in id order.

    On the driver's cursor, in ``conn``'s transaction: SQLAlchemy's result rows cost
    0.5 ms a page here (when a page was one row a record)."""
    driver_error = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        last = -1
        while True:
            try:
                joined, count, last_id = cursor.execute(query, (user_id, last, page)).fetchone()
            except driver_error as e:  # the store boundary, for this raw cursor
                raise StoreError(f"cannot read the export: {e}") from e
            if not count:
                return
            if not joined.isascii():  # stored text must be UTF-8 to be exported as such
                try:
                    joined.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise StoreError(f"cannot decode a stored row as UTF-8: {e.reason}") from e
            yield joined, count
            if count < page:
                return
            last = int(last_id)
    finally:
        cursor.close()
