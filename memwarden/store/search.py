"""Full-text search: the dialect seam of the store.

Domain code hands over plain terms (already normalised words); each backend turns them
into its own query language.  Every query is scoped by user twice: in the index (for
speed) and by the owning row (for correctness), or, for the term-by-term episode search,
by the set of the user's ids the caller has just read (``owned``).
"""

from __future__ import annotations

import json
from collections.abc import Container, Iterator, Sequence
from contextlib import contextmanager
from typing import Protocol

from sqlalchemy import Connection, text

from .textindex import query_tokens, tokens

__all__ = ["PostgresSearch", "SearchBackend", "SqliteSearch", "fts5_phrase"]


class SearchBackend(Protocol):
    """What recall needs from a dialect."""

    def search_episodes(
        self, conn: Connection, user_id: str, terms: Sequence[str], limit: int
    ) -> list[tuple[int, float]]:
        """(episode id, score) pairs, best first; higher score is better."""
        ...

    def search_beliefs(
        self, conn: Connection, user_id: str, terms: Sequence[str], limit: int
    ) -> list[tuple[int, float]]:
        """(belief id, score) pairs, best first; higher score is better."""
        ...

    def search_episode_terms(
        self,
        conn: Connection,
        user_id: str,
        terms: Sequence[str],
        limit: int,
        owned: Container[int] | None = None,
    ) -> list[list[tuple[int, float]]]:
        """For each term (a word, or a phrase of words), the user's episodes matching it
        as (episode id, score), best first: one list per term, in the order given.

        ``owned``, if given, holds the ids of the user's episodes as the caller knows
        them (recall's timeline cache, checked in this transaction against the user's
        count, largest id and sum of ids); a backend may check each hit's owner against
        it instead of against the table.  Recall re-reads every text it returns with the
        user in the query, so a stale set could sway a ranking, never show a text.
        """
        ...

    def optimize(self, conn: Connection) -> None:
        """Compact the full-text indexes (after bulk loads)."""
        ...


def fts5_phrase(value: str) -> str:
    """Quote ``value`` as an FTS5 string, so no input can be read as query syntax."""
    return '"' + value.replace('"', '""') + '"'


class SqliteSearch:
    """FTS5 with BM25 ranking over per-user tagged stems (see :mod:`.textindex`)."""

    def _search(
        self,
        conn: Connection,
        table: str,
        fts: str,
        user_id: str,
        terms: Sequence[str],
        limit: int,
    ) -> list[tuple[int, float]]:
        wanted = query_tokens(user_id, terms)
        if not wanted or limit <= 0:
            return []
        match = " OR ".join(map(fts5_phrase, wanted))
        # The tag scopes the index to the user; the join re-checks the owner, since a
        # tag is a fast filter, not a proof.  The index query is materialised first so
        # the planner cannot turn it into one index probe per row of the user.
        rows = conn.execute(
            text(
                f"WITH hits AS MATERIALIZED ("
                f"SELECT rowid AS id, -bm25({fts}) AS score FROM {fts} "
                f"WHERE {fts} MATCH :match ORDER BY score DESC LIMIT :fetch) "
                f"SELECT hits.id, hits.score FROM hits JOIN {table} AS t ON t.id = hits.id "
                "WHERE t.user_id = :user_id ORDER BY hits.score DESC LIMIT :limit"
            ),
            {"match": match, "user_id": user_id, "limit": limit, "fetch": limit + 10},
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    _TERM_SQL = (
        "SELECT rowid, -bm25(episodes_fts) AS score FROM episodes_fts "
        "WHERE episodes_fts MATCH ? ORDER BY score DESC LIMIT ?"
    )
    # Which of the hits (a JSON array of ids) are the user's: one probe each of the
    # (user_id, id) index, whose pages for one user are few and stay cached.  CROSS JOIN
    # fixes the order: left to itself the planner scanned the user's index entries and
    # re-read the JSON array for each (3.7 ms instead of 0.06 ms for 400 episodes).
    _OWNED_SQL = (
        "SELECT e.id FROM json_each(?) AS j CROSS JOIN episodes AS e "
        "INDEXED BY ix_episodes_user_id_id ON e.user_id = ? AND e.id = j.value"
    )

    def search_episode_terms(
        self,
        conn: Connection,
        user_id: str,
        terms: Sequence[str],
        limit: int,
        owned: Container[int] | None = None,
    ) -> list[list[tuple[int, float]]]:
        # One query per term, straight on the driver's cursor (in the connection's
        # transaction): recall runs several per turn, and SQLAlchemy's statement and row
        # handling cost as much as the index lookups (docs/benchmarks.md, ## Recall).
        # The tag scopes each term's query to the user's postings; the owner of every
        # hit is then checked once for all terms, instead of a join per term (a third
        # of each term's cost): against ``owned`` if the caller read the user's ids,
        # else against the table.
        found: list[list[tuple[int, float]]] = []
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            for term in terms:
                # A term of several words is one FTS5 phrase: its tokens, adjacent, in order.
                phrase = " ".join(query_tokens(user_id, [term]))
                if not phrase or limit <= 0:
                    found.append([])
                    continue
                rows = cursor.execute(self._TERM_SQL, (fts5_phrase(phrase), limit + 10))
                found.append([(int(r[0]), float(r[1])) for r in rows])
            if owned is None:
                hits = sorted({i for rows in found for i, _ in rows})
                owned = (
                    {r[0] for r in cursor.execute(self._OWNED_SQL, (json.dumps(hits), user_id))}
                    if hits
                    else set()
                )
        finally:
            cursor.close()
        return [[(i, score) for i, score in rows if i in owned][:limit] for rows in found]

    def optimize(self, conn: Connection) -> None:
        for fts in ("episodes_fts", "semantic_beliefs_fts"):
            conn.execute(text(f"INSERT INTO {fts}({fts}) VALUES ('optimize')"))
        conn.execute(text("PRAGMA optimize"))

    def search_episodes(
        self, conn: Connection, user_id: str, terms: Sequence[str], limit: int
    ) -> list[tuple[int, float]]:
        return self._search(conn, "episodes", "episodes_fts", user_id, terms, limit)

    def search_beliefs(
        self, conn: Connection, user_id: str, terms: Sequence[str], limit: int
    ) -> list[tuple[int, float]]:
        return self._search(conn, "semantic_beliefs", "semantic_beliefs_fts", user_id, terms, limit)


class PostgresSearch:
    """``tsvector`` columns (generated, GIN-indexed) ranked with ``ts_rank_cd``.

    The vectors are generated columns, so they change in the same statement (and the
    same transaction) as the rows they index.

    Searches are planned for their values, never as prepared statements: the best plan
    depends on how many rows the user has and how common the words are (the user's few
    rows by ``(user_id, id)``, or the word's GIN postings for a user with 100,000).  Once
    psycopg has prepared a search (after five runs on a connection) and PostgreSQL has
    planned it five more times, the server may settle on one generic plan for all: after
    a VACUUM of the 1,000,000-episode benchmark database, it scanned every user's
    postings of a city name, and recall went from 3 to 35 ms p50.
    """

    def _search(
        self,
        conn: Connection,
        table: str,
        user_id: str,
        terms: Sequence[str],
        limit: int,
    ) -> list[tuple[int, float]]:
        # Only letters and digits reach to_tsquery, so no input is read as query syntax.
        words = list(dict.fromkeys(w for term in terms for w in tokens(term)))
        if not words or limit <= 0:
            return []
        return _ranked(conn, table, user_id, " | ".join(words), limit)

    def search_episode_terms(
        self,
        conn: Connection,
        user_id: str,
        terms: Sequence[str],
        limit: int,
        owned: Container[int] | None = None,
    ) -> list[list[tuple[int, float]]]:
        # Each query filters by the owner itself (the row's user_id), so ``owned`` adds
        # nothing here.
        out: list[list[tuple[int, float]]] = []
        for term in terms:
            words = tokens(term)
            if not words or limit <= 0:
                out.append([])
                continue
            out.append(_ranked(conn, "episodes", user_id, " <-> ".join(words), limit))
        return out

    def optimize(self, conn: Connection) -> None:
        # Every table, not only the searched ones: without statistics (a bulk copy, a
        # server with autovacuum off) the planner scans a word's GIN postings across all
        # users instead of reading the user's few rows first.
        conn.execute(text("ANALYZE"))

    def search_episodes(
        self, conn: Connection, user_id: str, terms: Sequence[str], limit: int
    ) -> list[tuple[int, float]]:
        return self._search(conn, "episodes", user_id, terms, limit)

    def search_beliefs(
        self, conn: Connection, user_id: str, terms: Sequence[str], limit: int
    ) -> list[tuple[int, float]]:
        return self._search(conn, "semantic_beliefs", user_id, terms, limit)


def _ranked(
    conn: Connection, table: str, user_id: str, query: str, limit: int
) -> list[tuple[int, float]]:
    """The user's rows of ``table`` matching the ``to_tsquery`` text ``query``, best first."""
    with _custom_plans(conn):
        rows = conn.execute(
            text(
                f"SELECT t.id, ts_rank_cd(t.search_vector, q) AS score "
                f"FROM {table} AS t, to_tsquery('english', :query) AS q "
                "WHERE t.user_id = :user_id AND t.search_vector @@ q "
                "ORDER BY score DESC, t.id DESC LIMIT :limit"
            ),
            {"query": query, "user_id": user_id, "limit": limit},
        ).all()
    return [(int(r[0]), float(r[1])) for r in rows]


@contextmanager
def _custom_plans(conn: Connection) -> Iterator[None]:
    """Statements in the block are not prepared by psycopg (so planned for their values:
    see :class:`PostgresSearch`); a client-side switch, no round trip."""
    driver = conn.connection.dbapi_connection
    threshold = driver.prepare_threshold  # type: ignore[union-attr]
    driver.prepare_threshold = None  # type: ignore[union-attr]
    try:
        yield
    finally:
        driver.prepare_threshold = threshold  # type: ignore[union-attr]
