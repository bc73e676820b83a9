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
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, select

from ..store.schema import memory_vectors

__all__ = [
    "CACHE_BYTES",
    "UserVectors",
    "clear_cache",
    "forget_user",
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
    # The buffers the three episode arrays above are the first rows of (see _Grown).
    grown: Any = field(default=None, compare=False, repr=False)

    def episode_scores(self, query: Any) -> Any:
        """Cosine similarity of ``query`` (a unit vector) to every episode vector."""
        return _dot(self.episodes, query)

    def belief_scores(self, query: Any) -> Any:
        return _dot(self.beliefs, query)

    @property
    def nbytes(self) -> int:
        """Memory held, spare rows of the buffers included."""
        held = self.grown.nbytes if self.grown is not None else self.episodes.nbytes
        rows = len(self.episode_ids) + len(self.belief_ids)
        return int(held + self.beliefs.nbytes) + _ROW_OVERHEAD * rows


class _Grown:
    """Arrays with spare rows at the end, shared by the snapshots cut from them.

    A snapshot reads only its first rows, and rows are only ever written past the
    longest snapshot, so a user's new vectors are appended in place instead of copying
    the whole matrix on every turn (1.5 MiB per 1,000 episodes)."""

    def __init__(self, arrays: dict[str, Any], filled: int) -> None:
        self.arrays = arrays
        self.filled = filled

    @property
    def capacity(self) -> int:
        return len(self.arrays["ids"])

    @property
    def nbytes(self) -> int:
        return sum(int(a.nbytes) for a in self.arrays.values())

    def head(self, name: str, n: int) -> Any:
        return self.arrays[name][:n]


_grow_lock = threading.Lock()


def _grow(grown: _Grown | None, n: int, new: dict[str, Any]) -> _Grown:
    """``grown``'s first ``n`` rows followed by ``new``, in place when there is room."""
    import numpy as np

    k = len(new["ids"])
    with _grow_lock:
        if grown is not None and grown.filled == n and n + k <= grown.capacity:
            for name, rows in new.items():
                grown.arrays[name][n : n + k] = rows
            grown.filled = n + k
            return grown
    capacity = n + k + max(64, (n + k) // 4)
    arrays = {}
    for name, rows in new.items():
        buffer = np.empty((capacity, *rows.shape[1:]), dtype=rows.dtype)
        if grown is not None:
            buffer[:n] = grown.arrays[name][:n]
        buffer[n : n + k] = rows
        arrays[name] = buffer
    return _Grown(arrays, n + k)


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


def forget_user(conn: Connection, user_id: str) -> None:
    """Drop the user's cached vectors of every model (see ``recall.forget_cached``)."""
    global _held
    url = conn.engine.url.render_as_string(hide_password=True)
    with _lock:
        for cache_key in [k for k in _cache if k[0] == url and k[1] == user_id]:
            _held -= _cache.pop(cache_key).nbytes


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
            previous = kept if kept.key[0] + len(rows) == key[0] else None
    if previous is None or previous.episode_rows is None:
        previous = None
        rows = conn.execute(_ROWS, {"user_id": user_id, "after": 0}).all()
    width = dim * 4
    # (row id, owner id, vector) of the model's episode and belief vectors; the ids of
    # any other rows (another model) only count towards the key.
    episode_rows: list[tuple[int, int, bytes]] = []
    belief_rows: list[tuple[int, int, bytes]] = []
    other_ids: list[int] = []
    for row_id, episode_id, belief_id, row_model, vector in rows:
        if row_model != model or len(vector) != width:
            other_ids.append(int(row_id))
        elif episode_id is not None:
            episode_rows.append((row_id, episode_id, vector))
        elif belief_id is not None:
            belief_rows.append((row_id, belief_id, vector))
    others = frozenset(other_ids)

    def matrix(found: list[tuple[int, int, bytes]]) -> Any:
        if not found:
            return np.zeros((0, dim), dtype=np.float32)
        return np.frombuffer(b"".join(r[2] for r in found), dtype="<f4").reshape(len(found), dim)

    def ids(found: list[tuple[int, int, bytes]], column: int) -> Any:
        return np.fromiter((r[column] for r in found), dtype=np.int64, count=len(found))

    grown = _grow(
        previous.grown if previous is not None else None,
        len(previous.episode_ids) if previous is not None else 0,
        {
            "ids": ids(episode_rows, 1),
            "vectors": matrix(episode_rows),
            "rows": ids(episode_rows, 0),
        },
    )
    belief_ids, beliefs = ids(belief_rows, 1), matrix(belief_rows)
    belief_row_ids = ids(belief_rows, 0)
    positions: dict[int, int] = {}
    if previous is not None:
        belief_ids = np.concatenate([previous.belief_ids, belief_ids])
        beliefs = np.concatenate([previous.beliefs, beliefs])
        belief_row_ids = np.concatenate([previous.belief_rows, belief_row_ids])
        others |= previous.others
        positions = dict(previous.positions)
    n = (len(previous.episode_ids) if previous is not None else 0) + len(episode_rows)
    start = len(positions)
    for k, i in enumerate(grown.head("ids", n)[start:].tolist(), start):
        positions[int(i)] = k
    return UserVectors(
        key=key,
        last_id=int(rows[-1].id) if rows else (previous.last_id if previous else 0),
        episode_ids=grown.head("ids", n),
        episodes=grown.head("vectors", n),
        belief_ids=belief_ids,
        beliefs=np.ascontiguousarray(beliefs, dtype=np.float32),
        positions=positions,
        episode_rows=grown.head("rows", n),
        belief_rows=belief_row_ids,
        others=others,
        grown=grown,
    )


def _without_deleted(previous: UserVectors, present: Any) -> UserVectors:
    """``previous`` without the rows whose ids are not in ``present``."""
    import numpy as np

    keep_e = np.isin(previous.episode_rows, present)
    keep_b = np.isin(previous.belief_rows, present)
    others = previous.others & frozenset(present.tolist())
    grown = _grow(
        None,
        0,
        {
            "ids": previous.episode_ids[keep_e],
            "vectors": previous.episodes[keep_e],
            "rows": previous.episode_rows[keep_e],
        },
    )
    n = grown.filled
    count = n + int(keep_b.sum()) + len(others)
    return UserVectors(
        key=(count, previous.key[1]),
        last_id=previous.last_id,
        episode_ids=grown.head("ids", n),
        episodes=grown.head("vectors", n),
        belief_ids=previous.belief_ids[keep_b],
        beliefs=previous.beliefs[keep_b],
        positions={int(i): k for k, i in enumerate(grown.head("ids", n).tolist())},
        episode_rows=grown.head("rows", n),
        belief_rows=previous.belief_rows[keep_b],
        others=others,
        grown=grown,
    )
