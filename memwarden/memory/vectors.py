"""Vectors of episodes and beliefs in the ``memory_vectors`` table, and a per-user cache.

A vector is written in the same transaction as its memory and is deleted with it (the
foreign keys cascade).  Dense recall scores every vector of the user with one matrix
product (numpy, brute force): at our sizes this beats an ANN index or sqlite-vec (see
docs/benchmarks.md).  Reading 10,000 vectors out of SQLite costs far more than scoring
them, so the user's vectors are cached in memory, per database and model.  The cache is
current exactly when the user's vector count and largest vector id are unchanged (ids are
AUTOINCREMENT, never reused); new vectors are appended, anything else reloads.

numpy is imported only by the functions that need it: without the ``[embeddings]``
extra this module is never used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from ..store.schema import memory_vectors

__all__ = [
    "UserVectors",
    "clear_cache",
    "store_belief_vectors",
    "store_episode_vectors",
    "user_vectors",
]

CACHE_USERS = 16


def _blob(vector: Any) -> bytes:
    import numpy as np

    return bytes(np.asarray(vector, dtype="<f4").tobytes())


def store_episode_vectors(
    conn: Connection, user_id: str, model: str, items: Sequence[tuple[int, Any]]
) -> None:
    """Store ``(episode id, vector)`` pairs (inside the caller's transaction)."""
    if items:
        conn.execute(
            insert(memory_vectors),
            [
                {"user_id": user_id, "episode_id": i, "model": model, "vector": _blob(v)}
                for i, v in items
            ],
        )


def store_belief_vectors(
    conn: Connection, user_id: str, model: str, items: Sequence[tuple[int, Any]]
) -> None:
    """Store (replace) ``(belief id, vector)`` pairs, inside the caller's transaction."""
    if not items:
        return
    ids = [i for i, _ in items]
    conn.execute(delete(memory_vectors).where(memory_vectors.c.belief_id.in_(ids)))
    conn.execute(
        insert(memory_vectors),
        [
            {"user_id": user_id, "belief_id": i, "model": model, "vector": _blob(v)}
            for i, v in items
        ],
    )


@dataclass(frozen=True)
class UserVectors:
    """One user's vectors of one model: row ``k`` of ``episodes`` is ``episode_ids[k]``."""

    key: tuple[int, int]  # (row count, largest id) of the user's vectors, any model
    last_id: int
    episode_ids: Any  # int64 array
    episodes: Any  # float32 matrix, unit rows
    belief_ids: Any
    beliefs: Any
    positions: dict[int, int]  # episode id -> row

    def episode_scores(self, query: Any) -> Any:
        """Cosine similarity of ``query`` (a unit vector) to every episode vector."""
        return _dot(self.episodes, query)

    def belief_scores(self, query: Any) -> Any:
        return _dot(self.beliefs, query)


def _dot(matrix: Any, vector: Any) -> Any:
    # einsum, not ``@``: a matrix-vector product through a multi-threaded BLAS spins a
    # second thread and, on a busy 2-core machine, costs 4x the CPU (10k x 384: 4.3 ms
    # against 1.1 ms, docs/benchmarks.md).
    import numpy as np

    return np.einsum("ij,j->i", matrix, np.asarray(vector, dtype=np.float32))


_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str, str], UserVectors] = OrderedDict()


def clear_cache() -> None:
    """Forget every cached user (tests; after a restore)."""
    with _lock:
        _cache.clear()


def user_vectors(conn: Connection, user_id: str, model: str, dim: int) -> UserVectors:
    """The user's current vectors of ``model``, from the cache when it is current."""
    cache_key = (conn.engine.url.render_as_string(hide_password=True), user_id, model)
    count, last = conn.execute(
        select(func.count(), func.coalesce(func.max(memory_vectors.c.id), 0)).where(
            memory_vectors.c.user_id == user_id
        )
    ).one()
    key = (int(count), int(last))
    with _lock:
        cached = _cache.get(cache_key)
        if cached is not None:
            _cache.move_to_end(cache_key)
    if cached is not None and cached.key == key:
        return cached
    fresh = _load(conn, user_id, model, dim, key, cached)
    with _lock:
        _cache[cache_key] = fresh
        _cache.move_to_end(cache_key)
        while len(_cache) > CACHE_USERS:
            _cache.popitem(last=False)
    return fresh


def _rows(conn: Connection, user_id: str, model: str, after: int) -> list[Any]:
    return list(
        conn.execute(
            select(
                memory_vectors.c.id,
                memory_vectors.c.episode_id,
                memory_vectors.c.belief_id,
                memory_vectors.c.model,
                memory_vectors.c.vector,
            )
            .where(memory_vectors.c.user_id == user_id, memory_vectors.c.id > after)
            .order_by(memory_vectors.c.id)
        )
    )


def _load(
    conn: Connection,
    user_id: str,
    model: str,
    dim: int,
    key: tuple[int, int],
    previous: UserVectors | None,
) -> UserVectors:
    import numpy as np

    rows: list[Any] = []
    appended = False
    if previous is not None and key[1] > previous.key[1]:
        rows = _rows(conn, user_id, model, previous.last_id)
        # Only appended rows (nothing deleted meanwhile): extend the cached arrays.
        appended = previous.key[0] + len(rows) == key[0]
    if not appended:
        previous = None
        rows = _rows(conn, user_id, model, 0)
    width = dim * 4
    episode_rows = [
        r for r in rows if r.model == model and r.episode_id is not None and len(r.vector) == width
    ]
    belief_rows = [
        r for r in rows if r.model == model and r.belief_id is not None and len(r.vector) == width
    ]

    def matrix(found: list[Any]) -> Any:
        if not found:
            return np.zeros((0, dim), dtype=np.float32)
        return np.frombuffer(b"".join(r.vector for r in found), dtype="<f4").reshape(
            len(found), dim
        )

    episode_ids = np.array([r.episode_id for r in episode_rows], dtype=np.int64)
    episodes = matrix(episode_rows)
    belief_ids = np.array([r.belief_id for r in belief_rows], dtype=np.int64)
    beliefs = matrix(belief_rows)
    if previous is not None:
        episode_ids = np.concatenate([previous.episode_ids, episode_ids])
        episodes = np.concatenate([previous.episodes, episodes])
        belief_ids = np.concatenate([previous.belief_ids, belief_ids])
        beliefs = np.concatenate([previous.beliefs, beliefs])
    episodes = np.ascontiguousarray(episodes, dtype=np.float32)
    return UserVectors(
        key=key,
        last_id=int(rows[-1].id) if rows else (previous.last_id if previous else 0),
        episode_ids=episode_ids,
        episodes=episodes,
        belief_ids=belief_ids,
        beliefs=np.ascontiguousarray(beliefs, dtype=np.float32),
        positions={int(i): k for k, i in enumerate(episode_ids.tolist())},
    )
