"""Vectors of episodes and beliefs in the ``memory_vectors`` table, and a per-user cache.

A vector is written in the same transaction as its memory and is deleted with it (the
foreign keys cascade).  Dense recall scores every vector of the user with one matrix
product (numpy, brute force): at our sizes this beats an ANN index or sqlite-vec (see
docs/benchmarks.md).  Reading 10,000 vectors out of SQLite costs far more than scoring
them, so the user's vectors are cached in memory, per database and model, up to
:data:`CACHE_BYTES` over all users (least recently used users first out).  The cache is
current exactly when the user's vector count and largest vector id are unchanged (ids are
AUTOINCREMENT, never reused); new vectors are appended, and deleted ones (a deleted
memory's vector goes with it) are found by reading the user's vector ids alone (one
index) and dropped from the cached matrix.

numpy is imported only by the functions that need it: without the ``[embeddings]``
extra this module is never used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select

from ..store.schema import memory_vectors

__all__ = [
    "CACHE_BYTES",
    "UserVectors",
    "clear_cache",
    "store_belief_vectors",
    "store_episode_vectors",
    "user_vectors",
]

# Memory for cached vectors over all users: 384 float32 are 1.5 KiB per memory, so
# 256 MiB hold ~170,000 memories.
CACHE_BYTES = 256 * 1024 * 1024
_ROW_OVERHEAD = 120  # bytes per cached row beyond its vector (id arrays, positions)


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
    episode_rows: Any = None  # int64 array: memory_vectors.id of each episode row
    belief_rows: Any = None
    others: frozenset[int] = frozenset()  # ids of the user's rows not cached (other models)

    def episode_scores(self, query: Any) -> Any:
        """Cosine similarity of ``query`` (a unit vector) to every episode vector."""
        return _dot(self.episodes, query)

    def belief_scores(self, query: Any) -> Any:
        return _dot(self.beliefs, query)

    @property
    def nbytes(self) -> int:
        rows = len(self.episode_ids) + len(self.belief_ids)
        return int(self.episodes.nbytes + self.beliefs.nbytes) + _ROW_OVERHEAD * rows


def _dot(matrix: Any, vector: Any) -> Any:
    # einsum, not ``@``: a matrix-vector product through a multi-threaded BLAS spins a
    # second thread and, on a busy 2-core machine, costs 4x the CPU (10k x 384: 4.3 ms
    # against 1.1 ms, docs/benchmarks.md).
    import numpy as np

    return np.einsum("ij,j->i", matrix, np.asarray(vector, dtype=np.float32))


_KEY = select(func.count(), func.coalesce(func.max(memory_vectors.c.id), 0)).where(
    memory_vectors.c.user_id == bindparam("user_id")
)
_ROWS = (
    select(
        memory_vectors.c.id,
        memory_vectors.c.episode_id,
        memory_vectors.c.belief_id,
        memory_vectors.c.model,
        memory_vectors.c.vector,
    )
    .where(
        memory_vectors.c.user_id == bindparam("user_id"), memory_vectors.c.id > bindparam("after")
    )
    .order_by(memory_vectors.c.id)
)
_IDS = select(memory_vectors.c.id).where(memory_vectors.c.user_id == bindparam("user_id"))

_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str, str], UserVectors] = OrderedDict()
_held = 0  # bytes in _cache


def clear_cache() -> None:
    """Forget every cached user (tests; after a restore)."""
    global _held
    with _lock:
        _cache.clear()
        _held = 0


def user_vectors(conn: Connection, user_id: str, model: str, dim: int) -> UserVectors:
    """The user's current vectors of ``model``, from the cache when it is current."""
    global _held
    cache_key = (conn.engine.url.render_as_string(hide_password=True), user_id, model)
    count, last = conn.execute(_KEY, {"user_id": user_id}).one()
    key = (int(count), int(last))
    with _lock:
        cached = _cache.get(cache_key)
        if cached is not None:
            _cache.move_to_end(cache_key)
    if cached is not None and cached.key == key:
        return cached
    fresh = _load(conn, user_id, model, dim, key, cached)
    with _lock:
        old = _cache.pop(cache_key, None)
        if old is not None:
            _held -= old.nbytes
        _cache[cache_key] = fresh
        _held += fresh.nbytes
        while _held > CACHE_BYTES and len(_cache) > 1:
            _, evicted = _cache.popitem(last=False)
            _held -= evicted.nbytes
    return fresh


def _load(
    conn: Connection,
    user_id: str,
    model: str,
    dim: int,
    key: tuple[int, int],
    previous: UserVectors | None,
) -> UserVectors:
    import numpy as np

    if previous is not None and previous.episode_rows is not None:
        rows = conn.execute(_ROWS, {"user_id": user_id, "after": previous.last_id}).all()
        cached = len(previous.episode_ids) + len(previous.belief_ids) + len(previous.others)
        if cached + len(rows) != key[0]:
            # Some were deleted: keep the cached rows that are still there.
            present = np.fromiter(conn.execute(_IDS, {"user_id": user_id}).scalars(), np.int64)
            kept = _without_deleted(previous, present)
            if kept is None or kept.key[0] + len(rows) != key[0]:
                kept = None
            previous = kept
    if previous is None or previous.episode_rows is None:
        previous = None
        rows = conn.execute(_ROWS, {"user_id": user_id, "after": 0}).all()
    width = dim * 4
    mine = [r for r in rows if r.model == model and len(r.vector) == width]
    episode_rows = [r for r in mine if r.episode_id is not None]
    belief_rows = [r for r in mine if r.belief_id is not None]
    others = frozenset(int(r.id) for r in rows if r.model != model or len(r.vector) != width)

    def matrix(found: list[Any]) -> Any:
        if not found:
            return np.zeros((0, dim), dtype=np.float32)
        return np.frombuffer(b"".join(r.vector for r in found), dtype="<f4").reshape(
            len(found), dim
        )

    def ids(found: list[Any], column: str) -> Any:
        return np.array([getattr(r, column) for r in found], dtype=np.int64)

    parts = {
        "episode_ids": ids(episode_rows, "episode_id"),
        "episodes": matrix(episode_rows),
        "episode_rows": ids(episode_rows, "id"),
        "belief_ids": ids(belief_rows, "belief_id"),
        "beliefs": matrix(belief_rows),
        "belief_rows": ids(belief_rows, "id"),
    }
    if previous is not None:
        parts = {k: np.concatenate([getattr(previous, k), v]) for k, v in parts.items()}
        others |= previous.others
    episode_ids = parts["episode_ids"]
    return UserVectors(
        key=key,
        last_id=int(rows[-1].id) if rows else (previous.last_id if previous else 0),
        episode_ids=episode_ids,
        episodes=np.ascontiguousarray(parts["episodes"], dtype=np.float32),
        belief_ids=parts["belief_ids"],
        beliefs=np.ascontiguousarray(parts["beliefs"], dtype=np.float32),
        positions={int(i): k for k, i in enumerate(episode_ids.tolist())},
        episode_rows=parts["episode_rows"],
        belief_rows=parts["belief_rows"],
        others=others,
    )


def _without_deleted(previous: UserVectors, present: Any) -> UserVectors | None:
    """``previous`` without the rows whose ids are not in ``present``."""
    import numpy as np

    keep_e = np.isin(previous.episode_rows, present)
    keep_b = np.isin(previous.belief_rows, present)
    others = previous.others & frozenset(present.tolist())
    episode_ids = previous.episode_ids[keep_e]
    count = int(keep_e.sum() + keep_b.sum()) + len(others)
    return UserVectors(
        key=(count, previous.key[1]),
        last_id=previous.last_id,
        episode_ids=episode_ids,
        episodes=previous.episodes[keep_e],
        belief_ids=previous.belief_ids[keep_b],
        beliefs=previous.beliefs[keep_b],
        positions={int(i): k for k, i in enumerate(episode_ids.tolist())},
        episode_rows=previous.episode_rows[keep_e],
        belief_rows=previous.belief_rows[keep_b],
        others=others,
    )
