"""PostgreSQL: an export's later sections read on a second connection, in the same snapshot.

While the export's connection renders and writes the episodes, a second pooled
connection renders the sections after them (beliefs, tasks, risk_log, governance_log):
the server works on both at once, on two cores.  The second connection imports the
first one's snapshot (``pg_export_snapshot()``, ``SET TRANSACTION SNAPSHOT``, as
``pg_dump --jobs`` does), so the document is still one consistent snapshot.  Its chunks
wait in a bounded queue per section, so memory stays bounded however large the user;
for most users every later section fits, and the second connection goes back to the
pool before the episodes are written.

It is an optimisation only, taken when the pool has room to spare: fewer than
``pool_size - 1`` connections out (so that concurrent requests are not kept waiting for
one; a busy pool renders everything on the export's own connection, as SQLite does).
The connection is checked out by the caller before the thread starts, so the thread
never waits on the pool.  Measured in docs/benchmarks.md (Scale-out, "Later sections on
a second connection").
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from sqlalchemy import Connection, exc, text
from sqlalchemy.pool import QueuePool

from ..store import transaction

__all__ = ["Ahead", "start"]

T = TypeVar("T")
DEPTH = 2  # pages a section may hold ready, besides its end marker
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")
_POLL_S = 0.05


class _Done:
    """The end of a section's chunks."""


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def start(
    conn: Connection, sections: Sequence[Callable[[Connection], Iterator[T]]]
) -> Ahead[T] | None:
    """Start rendering ``sections`` (each: a connection -> its chunks) on a second
    connection in ``conn``'s snapshot; None when the pool has no room to spare.

    ``conn`` must be in a REPEATABLE READ transaction that outlives the returned
    :class:`Ahead` (the export's read transaction)."""
    pool = conn.engine.pool
    if not isinstance(pool, QueuePool) or pool.checkedout() >= pool.size() - 1:
        return None
    snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
    if not _SNAPSHOT_ID.fullmatch(snapshot):  # it is spliced into SET TRANSACTION SNAPSHOT
        return None
    try:
        own = conn.engine.connect()
    except exc.TimeoutError:  # the pool emptied since the check: no second connection
        return None
    return Ahead(own, snapshot, sections)


class Ahead(Generic[T]):
    """The later sections' chunks, produced by a thread on the connection it is given
    (which it closes: back to the pool)."""

    def __init__(
        self,
        own: Connection,
        snapshot: str,
        sections: Sequence[Callable[[Connection], Iterator[T]]],
    ) -> None:
        self._queues: list[queue.Queue[T | _Done | _Failed]] = [
            queue.Queue(maxsize=DEPTH + 1) for _ in sections
        ]
        self._in_snapshot = False
        self._settled = threading.Event()  # in the snapshot, or failed to be
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(own, snapshot, sections),
            name="memwarden-export-ahead",
            daemon=True,
        )
        self._thread.start()

    def ready(self) -> bool:
        """Whether the thread serves the sections: it imported the snapshot (one round
        trip; else the caller renders them itself)."""
        self._settled.wait()
        return self._in_snapshot

    def chunks(self, index: int) -> Iterator[T]:
        """Section ``index``'s chunks as the thread renders them (after :meth:`ready`)."""
        pending = self._queues[index]
        while True:
            try:
                item = pending.get(timeout=_POLL_S)
            except queue.Empty:
                if self._thread.is_alive():
                    continue
                try:  # it may have queued its last items just before it ended
                    item = pending.get_nowait()
                except queue.Empty:
                    raise RuntimeError("the export's second connection stopped") from None
            if isinstance(item, _Done):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    def close(self) -> None:
        """Stop the thread and wait for it (at most its current statement): its
        connection goes back to the pool."""
        self._stop.set()
        self._thread.join()

    # -- the thread ---------------------------------------------------------------------

    def _run(
        self,
        own: Connection,
        snapshot: str,
        sections: Sequence[Callable[[Connection], Iterator[T]]],
    ) -> None:
        index = 0
        try:
            with own, transaction(own, write=False):
                # The transaction's first statement: its snapshot is the export's.
                own.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                self._in_snapshot = True
                self._settled.set()
                for index, section in enumerate(sections):
                    chunks = section(own)
                    try:
                        for chunk in chunks:
                            if not self._put(index, chunk):
                                return
                    finally:  # a section may hold a driver cursor: closed before `own`
                        close = getattr(chunks, "close", None)
                        if close is not None:
                            close()
                    if not self._put(index, _Done()):
                        return
        except BaseException as e:  # handed to the export's thread, which raises it
            self._put(index, _Failed(e))
        finally:
            self._settled.set()

    def _put(self, index: int, item: T | _Done | _Failed) -> bool:
        """Queue ``item`` unless the export stopped; whether it was queued."""
        while not self._stop.is_set():
            try:
                self._queues[index].put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False
