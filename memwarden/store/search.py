"""Full-text search: the dialect seam of the store.

Domain code hands over plain terms (already normalised words); each backend turns them
into its own query language.  Every query is scoped by user twice: in the index (for
speed) and by a join on the owning row (for correctness).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Connection, text

__all__ = ["SearchBackend", "SqliteSearch", "fts5_phrase"]


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


def fts5_phrase(value: str) -> str:
    """Quote ``value`` as an FTS5 string, so no input can be read as query syntax."""
    return '"' + value.replace('"', '""') + '"'


class SqliteSearch:
    """FTS5 with BM25 ranking; the index is kept in sync by triggers (see migrations)."""

    def _search(
        self,
        conn: Connection,
        table: str,
        fts: str,
        column: str,
        user_id: str,
        terms: Sequence[str],
        limit: int,
    ) -> list[tuple[int, float]]:
        words = [t for t in dict.fromkeys(terms) if t.strip()]
        if not words or limit <= 0:
            return []
        body = " OR ".join(map(fts5_phrase, words))
        match = f"user_id : {fts5_phrase(user_id)} AND {column} : ({body})"
        # The index query runs first, materialised: left to itself the planner would walk
        # the user's rows and probe the index once per row.  The join then re-checks the
        # owner, since an FTS phrase on user_id is a fast filter, not an exact one.
        rows = conn.execute(
            text(
                f"WITH hits AS MATERIALIZED ("
                f"SELECT rowid AS id, -bm25({fts}, 0.0, 1.0) AS score FROM {fts} "
                f"WHERE {fts} MATCH :match ORDER BY score DESC LIMIT :fetch) "
                f"SELECT hits.id, hits.score FROM hits JOIN {table} AS t ON t.id = hits.id "
                "WHERE t.user_id = :user_id ORDER BY hits.score DESC LIMIT :limit"
            ),
            {"match": match, "user_id": user_id, "limit": limit, "fetch": limit * 2 + 10},
        )
        return [(int(r[0]), float(r[1])) for r in rows]

    def search_episodes(
        self, conn: Connection, user_id: str, terms: Sequence[str], limit: int
    ) -> list[tuple[int, float]]:
        return self._search(conn, "episodes", "episodes_fts", "user_input", user_id, terms, limit)

    def search_beliefs(
        self, conn: Connection, user_id: str, terms: Sequence[str], limit: int
    ) -> list[tuple[int, float]]:
        return self._search(
            conn, "semantic_beliefs", "semantic_beliefs_fts", "statement", user_id, terms, limit
        )
