"""The export's flat sections (episodes, risk_log, governance_log) rendered by PostgreSQL.

Each record is one text built by concatenation on the server, so Python receives one
string a row.  (``json_build_object`` over ``::json`` casts took ~6 µs a row in the
server, re-parsing every stored JSON text; this takes ~3.)

A stored JSON column is embedded verbatim when its generated ``<column>_is_json`` flag
(migration 0010, computed when the row was written) says it is JSON, and as a JSON
string when it is not: a hand-edited row never breaks the document, and nothing is
re-parsed at export time.

The document is the one :mod:`.export`'s Python renderer writes, in value: numbers may be
written differently (``1`` for ``1.0``), a non-finite float is ``null`` either way.
``tests/test_governance_export.py`` checks both renderers give one document.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

from psycopg.abc import Buffer
from psycopg.adapt import Loader
from sqlalchemy import Connection

from ..errors import StoreError
from .records import EPISODE_FIELDS, GOVERNANCE_FIELDS, RISK_FIELDS, Field, Kind

__all__ = ["EPISODES", "GOVERNANCE_LOG", "RISK_LOG", "pages"]


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


def _json(column: str) -> str:
    """Verbatim where the row's generated flag says it is JSON, else as a string."""
    return (
        f"coalesce(CASE WHEN {column}_is_json THEN {column} "
        f"ELSE to_json({column})::text END, 'null')"
    )


_EXPRESSIONS: dict[Kind, Callable[[str], str]] = {
    "int": lambda column: f"coalesce({column}::text, 'null')",
    "text": lambda column: f"coalesce(to_json({column})::text, 'null')",
    "ts": _ts,
    "num": _num,
    "json": _json,
    "bool": lambda column: f"coalesce({column}::text, 'null')",  # true or false
}


def _record(fields: tuple[Field, ...]) -> str:
    """SQL building one record's JSON text: ``'{"id":' || ... || '}'``."""
    parts = []
    for i, (name, kind) in enumerate(fields):
        key = ("{" if i == 0 else ",") + json.dumps(name) + ":"  # our names: no quote in them
        parts.append(f"'{key}'")
        parts.append(_EXPRESSIONS[kind](name))
    parts.append("'}'")
    return " || ".join(parts)


def _page_query(table: str, fields: tuple[Field, ...]) -> str:
    # Driver SQL (psycopg's placeholders), for the raw cursor.  A row a record:
    # ``string_agg`` over the page cost more (1.6 ms for 1,000 episodes, copying ~1 MB as
    # it grows) than Python's join.
    return (
        f"SELECT id, {_record(fields)} FROM {table} "
        "WHERE user_id = %s AND id > %s ORDER BY id LIMIT %s"
    )


EPISODES = _page_query("episodes", EPISODE_FIELDS)
RISK_LOG = _page_query("risk_log", RISK_FIELDS)
GOVERNANCE_LOG = _page_query("governance_log", GOVERNANCE_FIELDS)


class _Bytes(Loader):
    """A ``text`` value as the server's UTF-8 bytes, not decoded into a ``str``."""

    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def pages(
    conn: Connection, query: str, user_id: str, page: int
) -> Iterator[tuple[str | bytes, int]]:
    """The user's records as (comma-joined page, records in it), in id order.

    On the driver's cursor, in ``conn``'s transaction.  Over a UTF-8 connection, ``text``
    is loaded as bytes: a page goes to a UTF-8 file as the server sent it, where decoding
    ~1 MB into a ``str`` only to encode it again cost ~0.5 ms per 1,000 episodes (as for
    SQLite's pages, :class:`.export._Writer`)."""
    driver_error = conn.dialect.loaded_dbapi.Error
    driver = conn.connection.dbapi_connection
    cursor = driver.cursor()  # type: ignore[union-attr]
    utf8 = driver.info.encoding == "utf-8"  # type: ignore[union-attr]
    if utf8:
        cursor.adapters.register_loader("text", _Bytes)
    comma: str | bytes = b"," if utf8 else ","
    try:
        last = -1
        while True:
            try:
                rows = cursor.execute(query, (user_id, last, page)).fetchall()
            except driver_error as e:  # the store boundary, for this raw cursor
                raise StoreError(f"cannot read the export: {e}") from e
            if not rows:
                return
            yield comma.join([r[1] for r in rows]), len(rows)
            if len(rows) < page:
                return
            last = int(rows[-1][0])
    finally:
        cursor.close()
