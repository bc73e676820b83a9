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
from .records import EPISODE_FIELDS, GOVERNANCE_FIELDS, RISK_FIELDS, Field, Kind

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
    """A stored timestamp (``YYYY-MM-DD HH:MM:SS.ffffff``) as ISO 8601 text, or NULL."""
    return f"replace({column}, ' ', 'T')"


def _embed(column: str) -> str:
    """A stored JSON column: verbatim when valid JSON, else as a string.

    For episodes, ``json_valid(meta)`` and ``json_valid(trace)`` are read from the
    timeline index (migration 0007), not computed."""
    return (
        f"CASE WHEN {column} IS NULL THEN 'null' WHEN json_valid({column}) THEN {column} "
        f"ELSE json_quote({column}) END"
    )


def _record(plain: list[tuple[str, str]], rendered: list[tuple[str, str]]) -> str:
    """SQL for one record: the ``plain`` columns (integers, text) through one
    ``json_object`` (one JSON builder instead of a ``json_quote`` per string: 0.4 ms a
    page), its closing brace cut off (its last value is text or null, never ``}``), then
    the ``rendered`` JSON fragments."""
    pairs = ", ".join(f"'{name}', {expr}" for name, expr in plain)
    parts = [f"rtrim(json_object({pairs}), '}}')"]
    for name, expr in rendered:
        parts += [f"',\"{name}\":'", expr]
    parts.append("'}'")
    return f"concat({', '.join(parts)})"


def _page_query(
    table: str,
    plain: list[tuple[str, str]],
    rendered: list[tuple[str, str]],
    *,
    ids_first: bool = False,
) -> str:
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
    record = _record(plain, rendered)
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


def _from_fields(fields: tuple[Field, ...]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(plain, rendered) pairs of :func:`_record` for a record of :mod:`.records`."""
    plain = [(n, _ts(n) if kind == "ts" else n) for n, kind in fields if kind in _PLAIN]
    rendered = [(n, _RENDERED[kind](n)) for n, kind in fields if kind not in _PLAIN]
    return plain, rendered


_PLAIN = ("int", "text", "ts")
_RENDERED: dict[Kind, Callable[[str], str]] = {
    "num": _num,
    "json": _embed,
    "bool": lambda column: f"CASE WHEN {column} THEN 'true' ELSE 'false' END",
}

# Named, so that SQLite reads the indexed json_valid() values instead of re-parsing
# (it does so only for an index the query names).
EPISODES = _page_query(
    "episodes INDEXED BY ix_episodes_user_timeline", *_from_fields(EPISODE_FIELDS)
)
RISK_LOG = _page_query("risk_log", *_from_fields(RISK_FIELDS))
GOVERNANCE_LOG = _page_query("governance_log", *_from_fields(GOVERNANCE_FIELDS))


def _children(table: str, key: str, parent: str, record: str) -> str:
    """A JSON array of the parent row's children (``c``), in id order; [] when none."""
    return (
        f"coalesce((SELECT json_group_array(json({record}) ORDER BY c.id) FROM {table} AS c "
        f"WHERE c.{key} = {parent}.id AND c.user_id = {parent}.user_id), '[]')"
    )


B = "semantic_beliefs"
BELIEFS = _page_query(
    B,
    [("id", f"{B}.id"), ("key", "key"), ("value", "value"), ("statement", "statement")],
    [
        ("confidence", _num(f"{B}.confidence")),
        ("version", "version"),
        ("created_at", f"json_quote({_ts('created_at')})"),
        ("updated_at", f"json_quote({_ts('updated_at')})"),
        (
            "sources",
            "coalesce((SELECT json_group_array(s.episode_id ORDER BY s.episode_id) "
            f"FROM belief_sources AS s WHERE s.belief_id = {B}.id AND s.user_id = {B}.user_id), "
            "'[]')",
        ),
        (
            "history",
            _children(
                "belief_history",
                "belief_id",
                B,
                _record(
                    [
                        ("id", "c.id"),
                        ("ts", _ts("c.ts")),
                        ("change", "c.change"),
                        ("old_value", "c.old_value"),
                        ("new_value", "c.new_value"),
                    ],
                    [
                        ("confidence", _num("c.confidence")),
                        ("episode_id", "coalesce(c.episode_id, 'null')"),
                    ],
                ),
            ),
        ),
    ],
    ids_first=True,
)

TASKS = _page_query(
    "tasks",
    [
        ("id", "tasks.id"),
        ("title", "title"),
        ("status", "status"),
        ("created_at", _ts("created_at")),
        ("updated_at", _ts("updated_at")),
    ],
    [
        ("source_episode_id", "coalesce(source_episode_id, 'null')"),
        (
            "events",
            _children(
                "task_events",
                "task_id",
                "tasks",
                _record(
                    [("id", "c.id"), ("ts", _ts("c.ts")), ("event", "c.event")],
                    [
                        ("episode_id", "coalesce(c.episode_id, 'null')"),
                        ("detail", _embed("c.detail")),
                    ],
                ),
            ),
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
