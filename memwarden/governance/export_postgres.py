"""The export's flat sections (episodes, risk_log, governance_log) rendered by PostgreSQL.

``json_build_object`` builds each record on the server, so Python receives one string a
row instead of a dozen values to format (and each stored JSON text to parse in Python,
PostgreSQL 15 having no JSON validity test).  Stored JSON columns are embedded with a
``::json`` cast, kept verbatim; text that is not JSON (a hand edit) makes the cast, and
the page's statement, fail: that page and the rest of the section are then rendered in
Python, which embeds such text as a string.  A savepoint keeps the failed attempt from
aborting the export's transaction.

The document is the one :mod:`.export`'s Python renderer writes, in value: numbers may be
written differently (``1`` for ``1.0``), a non-finite float is ``null`` either way.
``tests/test_governance_export.py`` checks both renderers give one document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from sqlalchemy import Connection, TextClause, text
from sqlalchemy.exc import DataError

from .records import EPISODE_FIELDS, GOVERNANCE_FIELDS, RISK_FIELDS, Field, Kind

__all__ = ["EPISODES", "GOVERNANCE_LOG", "RISK_LOG", "pages"]


def _num(column: str) -> str:
    """A float8 column, with the non-finite values (no JSON number) as NULL."""
    return (
        f"CASE WHEN {column} IN ('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8) "
        f"THEN NULL ELSE {column} END"
    )


def _ts(column: str) -> str:
    """ISO 8601 to the microsecond (PostgreSQL's own JSON drops trailing zeros)."""
    return f"""to_char({column}, 'YYYY-MM-DD"T"HH24:MI:SS.US')"""


_EXPRESSIONS: dict[Kind, Callable[[str], str]] = {
    "int": lambda column: column,
    "text": lambda column: column,
    "ts": _ts,
    "num": _num,
    "json": lambda column: f"{column}::json",  # verbatim; fails on text that is not JSON
    "bool": lambda column: column,  # NOT NULL: true or false
}


def _page_query(table: str, fields: tuple[Field, ...]) -> TextClause:
    pairs = ", ".join(f"'{name}', {_EXPRESSIONS[kind](name)}" for name, kind in fields)
    return text(
        f"SELECT id, json_build_object({pairs})::text FROM {table} "
        "WHERE user_id = :u AND id > :last ORDER BY id LIMIT :n"
    )


EPISODES = _page_query("episodes", EPISODE_FIELDS)
RISK_LOG = _page_query("risk_log", RISK_FIELDS)
GOVERNANCE_LOG = _page_query("governance_log", GOVERNANCE_FIELDS)


def pages(
    conn: Connection,
    query: TextClause,
    in_python: Callable[[int], Iterator[tuple[str, int]]],
    user_id: str,
    page: int,
) -> Iterator[tuple[str, int]]:
    """The user's records as (comma-joined page, records in it), in id order;
    ``in_python(last)`` renders the rest of the section after id ``last`` when a page
    holds stored text that is not JSON."""
    last = -1
    while True:
        try:
            with conn.begin_nested():  # released, or rolled back on any error
                rows = conn.execute(query, {"u": user_id, "last": last, "n": page}).all()
        except DataError:  # a ::json cast refused a stored text: Python quotes it
            yield from in_python(last)
            return
        if not rows:
            return
        yield ",".join([r[1] for r in rows]), len(rows)
        if len(rows) < page:
            return
        last = int(rows[-1][0])
