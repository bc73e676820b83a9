"""An export's later sections read on a second connection, in the same snapshot.

While the export's connection renders and writes the episodes, a second pooled
connection renders the sections after them (beliefs, tasks, risk_log, governance_log):
the database works on both at once, on two cores.  The second connection reads in the
first one's snapshot, so the document is still one consistent snapshot:

- PostgreSQL: it imports the first one's snapshot (``pg_export_snapshot()``, ``SET
  TRANSACTION SNAPSHOT``, as ``pg_dump --jobs`` does).
- SQLite has no such import in the library's build.  Instead both connections take their
  snapshot while a third holds the write lock for a moment (``BEGIN IMMEDIATE``, then
  ``ROLLBACK``), so that no commit can land between the two: both see the last one.  The
  lock is only tried, never waited for (a writer at work: the export renders everything
  on its own connection); and the export's connection must not have read yet in its
  transaction (``unread``), since its snapshot would then be older.  Two SQLite
  connections only work at once with the library's memory statistics off
  (:mod:`memwarden.store.sqlite_library`); else this is no faster, and not used.

Its chunks wait in a bounded queue per section, so memory stays bounded however large
the user; for most users every later section fits, and the second connection goes back
to the pool before the episodes are written.

It is an optimisation only, taken when the pool has room to spare: one connection still
free after the export took its one more (two on SQLite), so that concurrent requests are
not kept waiting for one; a busy pool renders everything on the export's own connection.
The connections are checked out before the thread starts, so the thread never waits on
the pool.  Measured in docs/benchmarks.md (Scale-out, "Later sections on a second
connection"; Governance, "Two connections at once on SQLite").
"""

from __future__ import annotations

import os
import queue
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from contextlib import ExitStack, contextmanager
from typing import Generic, TypeVar

from sqlalchemy import Connection, exc, text
from sqlalchemy.pool import QueuePool

from ..store import driver, transaction
from ..store.sqlite_library import memory_stats_off

__all__ = ["Ahead", "start"]

T = TypeVar("T")
_Work = tuple[futures.Future[None], Callable[..., None], tuple[object, ...]]
DEPTH = 2  # pages a section may hold ready, besides its end marker
_SNAPSHOT_ID = re.compile(r"[0-9A-F]+-[0-9A-F]+(-[0-9]+)?")
_POLL_S = 0.05


class _Done:
    """The end of a section's chunks."""


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def start(
    conn: Connection,
    sections: Sequence[Callable[[Connection], Iterator[T]]],
    *,
    unread: bool = False,
) -> Ahead[T] | None:
    """Start rendering ``sections`` (each: a connection -> its chunks) on a second
    connection in ``conn``'s snapshot; None when that cannot be had (no room in the pool;
    on SQLite: ``conn`` has read already, a writer holds the lock, the statistics are on).

    ``conn`` must be in a read transaction that outlives the returned :class:`Ahead`
    (the export's): REPEATABLE READ on PostgreSQL.  ``unread`` is the caller's word that
    it has not read in it yet (nothing here can tell)."""
    if not isinstance(conn.engine.pool, QueuePool) or _WORKERS.running() >= _WORKERS.size:
        return None
    if conn.dialect.name == "postgresql":
        return _start_postgres(conn, sections)
    if conn.dialect.name == "sqlite" and unread and memory_stats_off(conn.dialect.loaded_dbapi):
        return _start_sqlite(conn, sections)
    return None


_BORROWING = threading.Lock()


def _borrow(conn: Connection, count: int) -> list[Connection] | None:
    """``count`` more connections from ``conn``'s pool, if it still has one to spare
    after them (so that concurrent requests are not kept waiting for one); else None.
    Checked and taken under one lock: two exports cannot both pass the check and then
    each wait for the other's last connection."""
    taken: list[Connection] = []
    with _BORROWING:
        if not _room(conn, count):
            return None
        try:
            for _ in range(count):
                taken.append(conn.engine.connect())
        except exc.TimeoutError:  # other requests took them meanwhile
            for borrowed in taken:
                borrowed.close()
            return None
        except BaseException:
            for borrowed in taken:
                borrowed.close()
            raise
    return taken


def _room(conn: Connection, count: int) -> bool:
    """Whether ``conn``'s pool keeps one connection free after ``count`` more."""
    pool = conn.engine.pool
    return bool(pool.checkedout() + count <= pool.size() - 1)  # type: ignore[attr-defined]


def _start_postgres(
    conn: Connection, sections: Sequence[Callable[[Connection], Iterator[T]]]
) -> Ahead[T] | None:
    if not _room(conn, 1):  # before the round trip: a busy pool would waste it
        return None
    snapshot = str(conn.execute(text("SELECT pg_export_snapshot()")).scalar_one())
    if not _SNAPSHOT_ID.fullmatch(snapshot):  # it is spliced into SET TRANSACTION SNAPSHOT
        return None
    borrowed = _borrow(conn, 1)
    if borrowed is None:
        return None
    return _ahead(borrowed[0], f"SET TRANSACTION SNAPSHOT '{snapshot}'", sections)


# SQLite: a statement that reads the database, so that its transaction takes its
# snapshot.  On the driver's cursor: SQLAlchemy's execute cost ~40 µs more each, while
# the write lock is held and before the export starts (0.06-0.16 ms less an export).
_SQLITE_FIRST_READ = text("SELECT 1 FROM sqlite_master LIMIT 1")


def _start_sqlite(
    conn: Connection, sections: Sequence[Callable[[Connection], Iterator[T]]]
) -> Ahead[T] | None:
    # Both connections first: never wait for the pool while holding the write lock.
    borrowed = _borrow(conn, 2)
    if borrowed is None:
        return None
    holder, own = borrowed
    try:
        with _write_lock(holder) as locked:
            if locked:
                # Both snapshots, while no commit can land: the same one.  own's
                # transaction begins here; the thread ends it when it closes own.
                driver.first(conn, _SQLITE_FIRST_READ, {})
                driver.first(own, _SQLITE_FIRST_READ, {})
    except BaseException:
        own.close()
        raise
    finally:
        holder.close()
    if not locked:
        own.close()
        return None
    return _ahead(own, None, sections)


def _ahead(
    own: Connection, enter: str | None, sections: Sequence[Callable[[Connection], Iterator[T]]]
) -> Ahead[T] | None:
    """:class:`Ahead` on ``own``; None (``own`` closed) when no thread can be started."""
    try:
        return Ahead(own, enter, sections)
    except RuntimeError:  # "can't start new thread": the export reads on its own
        own.close()
        return None
    except BaseException:
        own.close()
        raise


@contextmanager
def _write_lock(holder: Connection) -> Iterator[bool]:
    """SQLite's write lock on ``holder`` if it is free now (no wait), for the block;
    whether it was taken.  On the driver's cursor: nothing is written."""
    driver_error = holder.dialect.loaded_dbapi.Error
    cursor = holder.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        try:
            (wait_ms,) = cursor.execute("PRAGMA busy_timeout").fetchone()
            cursor.execute("PRAGMA busy_timeout = 0")
            try:
                cursor.execute("BEGIN IMMEDIATE")
            finally:
                cursor.execute(f"PRAGMA busy_timeout = {int(wait_ms)}")
        except driver_error:  # busy, or worse: the export finds out on its own connection
            yield False
            return
        try:
            yield True
        finally:
            cursor.execute("ROLLBACK")
    finally:
        cursor.close()


class _Workers:
    """The threads that read sections ahead, kept between exports: starting a thread for
    each export cost ~0.2 ms of its ~4 (1,000 episodes, measured), handing the work to a
    waiting one a few µs.  At most ``size`` threads, started on first use (a forked child
    starts its own).  Daemon threads, unlike ``ThreadPoolExecutor``'s, which the
    interpreter joins at exit: an export abandoned without :meth:`Ahead.close` (its
    consumer gone) must not keep a process from exiting."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._pid = 0  # the process the threads run in
        self._threads = 0  # started
        self._running = 0  # submitted and not finished: fewer than threads, one is free
        self._work: queue.SimpleQueue[_Work] = queue.SimpleQueue()

    def running(self) -> int:
        """How many exports' sections are being read ahead now."""
        with self._lock:
            return self._running if self._pid == os.getpid() else 0

    def submit(self, work: Callable[..., None], *args: object) -> futures.Future[None]:
        """Run ``work(*args)`` on a kept thread (past ``size`` at once, when one is
        free); its future is done once ``work`` returned and :meth:`running` counts it
        no more."""
        future: futures.Future[None] = futures.Future()
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child: no thread yet
                self._pid, self._threads, self._running = os.getpid(), 0, 0
                self._work = queue.SimpleQueue()
            new = self._running >= self._threads and self._threads < self.size
            if new:
                self._threads += 1
            self._running += 1
            pending = self._work
        if new:
            try:
                threading.Thread(
                    target=self._serve, args=(pending,), name="memwarden-export-ahead", daemon=True
                ).start()
            except BaseException:
                with self._lock:
                    self._threads -= 1
                    self._running -= 1
                raise
        pending.put((future, work, args))
        return future

    def _serve(self, pending: queue.SimpleQueue[_Work]) -> None:
        while True:
            future, work, args = pending.get()
            error: BaseException | None = None
            if future.set_running_or_notify_cancel():
                try:
                    work(*args)
                except BaseException as e:  # the future carries it
                    error = e
            with self._lock:
                self._running -= 1
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


WORKERS = 8  # sections read ahead at once in a process, at most (each holds a connection)
_WORKERS = _Workers(WORKERS)


class Ahead(Generic[T]):
    """The later sections' chunks, produced by a thread on the connection it is given
    (which it closes: back to the pool)."""

    def __init__(
        self,
        own: Connection,
        enter: str | None,
        sections: Sequence[Callable[[Connection], Iterator[T]]],
    ) -> None:
        """``enter``: the statement that puts a new transaction of ``own`` in the
        snapshot; None when ``own`` is in it already (a transaction the thread ends)."""
        self._queues: list[queue.Queue[T | _Done | _Failed]] = [
            queue.Queue(maxsize=DEPTH + 1) for _ in sections
        ]
        self._in_snapshot = False
        self._settled = threading.Event()  # in the snapshot, or failed to be
        self._stop = threading.Event()
        self._work = _WORKERS.submit(self._run, own, enter, sections)

    def ready(self) -> bool:
        """Whether the thread serves the sections: it is in the snapshot (one statement;
        else the caller renders them itself)."""
        self._settled.wait()
        return self._in_snapshot

    def chunks(self, index: int) -> Iterator[T]:
        """Section ``index``'s chunks as the thread renders them (after :meth:`ready`)."""
        pending = self._queues[index]
        while True:
            try:
                item = pending.get(timeout=_POLL_S)
            except queue.Empty:
                if not self._work.done():
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
        futures.wait([self._work])

    # -- the thread ---------------------------------------------------------------------

    def _run(
        self,
        own: Connection,
        enter: str | None,
        sections: Sequence[Callable[[Connection], Iterator[T]]],
    ) -> None:
        index = 0
        try:
            with ExitStack() as stack:
                stack.enter_context(own)  # closing it ends its transaction
                if enter is not None:
                    stack.enter_context(transaction(own, write=False))
                    # The transaction's first statement: its snapshot is the export's.
                    own.exec_driver_sql(enter)
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
