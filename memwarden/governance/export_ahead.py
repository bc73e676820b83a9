"""PostgreSQL: an export's later sections read on a second connection, in the same snapshot.

While the export's connection renders and writes the episodes, a pooled second
connection renders the sections after them (beliefs, tasks, risk_log, governance_log):
the server works on both at once, on two cores.  The second connection imports the
first one's snapshot (``pg_export_snapshot()``, ``SET TRANSACTION SNAPSHOT``, as
``pg_dump --jobs`` does), so the document is still one consistent snapshot.  Its chunks
wait in a bounded queue per section, so memory stays bounded however large the user.

It is an optimisation only.  With no room in the pool (``pool_size`` connections out),
or if the second connection is not in the snapshot within :data:`START_WAIT_S` of the
episodes being written (a pool emptied meanwhile), the export's own connection renders
everything, as on SQLite.  Measured in docs/benchmarks.md
(Scale-out, "Later sections on a second connection").
"""

from __future__ import annotations

import queue
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, TypeVar

from sqlalchemy import Connection, text
from sqlalchemy.pool import QueuePool

from ..store import transaction

__all__ = ["Ahead", "start"]

T = TypeVar("T")
DEPTH = 2  # chunks (pages) a section may hold ready per queue
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")
_POLL_S = 0.05
START_WAIT_S = 0.5  # for the second connection, once the episodes are written


class _Done:
    """The end of a section's chunks."""


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def start(
    conn: Connection, sections: Sequence[Callable[[Connection], Iterator[T]]]
) -> Ahead[T] | None:
    """Start rendering ``sections`` (each: a connection -> its chunks) on a second
    connection in ``conn``'s snapshot; None when the pool has no room for one.

    ``conn`` must be in a REPEATABLE READ transaction that outlives the returned
    :class:`Ahead` (the export's read transaction)."""
    pool = conn.engine.pool
    if not isinstance(pool, QueuePool) or pool.checkedout() >= pool.size():
        return None
    snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
    if not _SNAPSHOT_ID.fullmatch(snapshot):  # it is spliced into SET TRANSACTION SNAPSHOT
        return None
    return Ahead(conn, snapshot, sections)


class Ahead(Generic[T]):
    """The later sections' chunks, produced by a thread on its own pooled connection."""

    def __init__(
        self,
        conn: Connection,
        snapshot: str,
        sections: Sequence[Callable[[Connection], Iterator[T]]],
    ) -> None:
        self._queues: list[queue.Queue[T | _Done | _Failed]] = [
            queue.Queue(maxsize=DEPTH) for _ in sections
        ]
        self._lock = threading.Lock()
        self._started = False  # the thread has its connection in the snapshot
        self._given_up = False  # the export went on without it
        self._settled = threading.Event()  # started, or failed to
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run,
            args=(conn, snapshot, sections),
            name="memwarden-export-ahead",
            daemon=True,
        )
        self._thread.start()

    def ready(self) -> bool:
        """Whether the thread serves the sections: True once it has its connection in
        the snapshot (waited for up to :data:`START_WAIT_S`); else it is told to give up
        and the caller renders them itself."""
        self._settled.wait(START_WAIT_S)
        with self._lock:
            if not self._started:
                self._given_up = True
            return self._started

    def chunks(self, index: int) -> Iterator[T]:
        """Section ``index``'s chunks as the thread renders them (after :meth:`ready`)."""
        pending = self._queues[index]
        while True:
            try:
                item = pending.get(timeout=_POLL_S)
            except queue.Empty:
                if not self._thread.is_alive():
                    raise RuntimeError("the export's second connection stopped") from None
                continue
            if isinstance(item, _Done):
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item

    def close(self) -> None:
        """Stop the thread and wait for it: its connection goes back to the pool.  One
        still waiting for a pooled connection after :data:`START_WAIT_S` ends alone."""
        self._stop.set()
        with self._lock:
            self._given_up = not self._started
            started = self._started
        self._thread.join(None if started else START_WAIT_S)

    # -- the thread ---------------------------------------------------------------------

    def _run(
        self,
        conn: Connection,
        snapshot: str,
        sections: Sequence[Callable[[Connection], Iterator[T]]],
    ) -> None:
        index = 0
        try:
            with conn.engine.connect() as own, transaction(own, write=False):
                # The transaction's first statement: its snapshot is the export's.
                own.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                with self._lock:
                    if self._given_up:
                        return
                    self._started = True
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
