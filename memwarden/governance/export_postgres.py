"""The export's two big sections, episodes and risk_log, rendered by PostgreSQL.

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

__all__ = ["EPISODES", "RISK_LOG", "pages"]


def _num(column: str) -> str:
    """A float8 column, with the non-finite values (no JSON number) as NULL."""
    return (
        f"CASE WHEN {column} IN ('Infinity'::float8, '-Infinity'::float8, 'NaN'::float8) "
        f"THEN NULL ELSE {column} END"
    )


def _ts(column: str) -> str:
    """ISO 8601 to the microsecond (PostgreSQL's own JSON drops trailing zeros)."""
    return f"""to_char({column}, 'YYYY-MM-DD"T"HH24:MI:SS.US')"""


def _page_query(table: str, fields: list[tuple[str, str]]) -> TextClause:
    pairs = ", ".join(f"'{name}', {expr}" for name, expr in fields)
    return text(
        f"SELECT id, json_build_object({pairs})::text FROM {table} "
        "WHERE user_id = :u AND id > :last ORDER BY id LIMIT :n"
    )


EPISODES = _page_query(
    "episodes",
    [
        ("id", "id"),
        ("ts", _ts("ts")),
        ("occurred_at", _ts("occurred_at")),
        ("user_input", "user_input"),
        ("draft", "draft"),
        ("reply", "reply"),
        ("action", "action"),
        ("draft_total_score", _num("draft_total_score")),
        ("final_score", _num("final_score")),
        ("meta", "meta::json"),
        ("trace", "trace::json"),
    ],
)

RISK_LOG = _page_query(
    "risk_log",
    [
        ("id", "id"),
        ("episode_id", "episode_id"),
        ("ts", _ts("ts")),
        ("draft_total_score", _num("draft_total_score")),
        ("final_score", _num("final_score")),
        ("action", "action"),
        ("scores", "scores::json"),
        ("details", "details::json"),
    ],
)


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
