"""Vectors for a live turn: computed before its transaction, written inside it.

The agent embeds the user's text once: that vector is both the recall query and the
new episode's vector.  It is computed on the embedding thread (:func:`embed_turn_later`)
while recall reads the full-text index, which needs no vector.  Beliefs the turn creates or restates get a vector of their
statement; a belief whose statement changes lost its old vector by trigger (migration
0002), in the same transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, select

from ..store.schema import memory_vectors
from .beliefs import BeliefChange
from .embeddings import Embedder, submit

__all__ = ["TurnVectors", "embed_turn", "embed_turn_later", "store_turn_vectors"]


@dataclass(frozen=True)
class TurnVectors:
    """The vectors of one turn's text and of the belief statements it may write."""

    model: str
    text: Any
    statements: dict[str, Any] = field(default_factory=dict)
    ms: float = 0.0  # how long the embedding took


def embed_turn(
    embedder: Embedder | None, text: str, statements: Sequence[str]
) -> TurnVectors | None:
    """Embed ``text`` and ``statements`` in one batch (None without an embedder)."""
    return _embedded(embedder, text, statements) if embedder is not None else None


def embed_turn_later(
    embedder: Embedder | None, text: str, statements: Sequence[str]
) -> Future[TurnVectors] | None:
    """:func:`embed_turn` on the embedding thread (None without an embedder)."""
    if embedder is None:
        return None
    wanted = list(statements)
    return submit(lambda: _embedded(embedder, text, wanted))


def _embedded(embedder: Embedder, text: str, statements: Sequence[str]) -> TurnVectors:
    start = time.perf_counter()
    wanted = list(dict.fromkeys(statements))
    vectors = embedder.embed([text, *wanted])
    return TurnVectors(
        embedder.model,
        vectors[0],
        dict(zip(wanted, vectors[1:], strict=True)),
        ms=round((time.perf_counter() - start) * 1000, 3),
    )


def store_turn_vectors(
    conn: Connection,
    user_id: str,
    episode_id: int,
    changes: Sequence[BeliefChange],
    vectors: TurnVectors | None,
) -> None:
    """Write the episode's vector and those of created or changed beliefs."""
    if vectors is None:
        return
    from .vectors import store_belief_vectors, store_episode_vectors

    store_episode_vectors(conn, user_id, vectors.model, [(episode_id, vectors.text)])
    wanted = [c for c in changes if c.statement in vectors.statements]
    # A confirmed belief keeps its vector, unless the statement's wording changed (the
    # trigger then dropped it) or it predates embeddings.
    confirmed = [c.belief_id for c in wanted if c.change == "confirmed"]
    have = (
        set(
            conn.execute(
                select(memory_vectors.c.belief_id).where(memory_vectors.c.belief_id.in_(confirmed))
            ).scalars()
        )
        if confirmed
        else set()
    )
    beliefs = [
        (c.belief_id, vectors.statements[c.statement]) for c in wanted if c.belief_id not in have
    ]
    store_belief_vectors(conn, user_id, vectors.model, beliefs)
