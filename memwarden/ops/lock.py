"""Who holds a database: the server lock, and processes with the file open.

A process that serves a database (``memwarden chat``, an HTTP server) holds a *shared*
``flock`` on ``DB.lock`` for its lifetime (:func:`serving`); ``memwarden restore`` takes
it *exclusively*, so it refuses while any server runs, and no server starts during a
restore.  The kernel drops a flock when its process dies, even by kill -9, so there is
no stale pid file to clean up.  On Linux, ``/proc/locks`` names the holders, and
``/proc/*/fd`` also finds processes that have the database open without the lock (an
``sqlite3`` shell, say).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreUnavailable

__all__ = ["exclusive", "holders", "lock_file", "open_by", "serving"]


def lock_file(db: Path) -> Path:
    """``memory.db`` -> ``memory.db.lock`` (beside the database)."""
    return db.with_name(db.name + ".lock")


def _open_lock(db: Path) -> int:
    path = lock_file(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


@contextmanager
def serving(db: Path) -> Iterator[None]:
    """Hold the shared server lock while serving ``db``; refuse during a restore."""
    fd = _open_lock(db)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise StoreUnavailable(f"{db} is being restored: try again when it is done") from None
        yield
    finally:
        os.close(fd)


@contextmanager
def exclusive(db: Path) -> Iterator[bool]:
    """Try to take the exclusive lock; yields whether it was taken (never blocks)."""
    fd = _open_lock(db)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            taken = True
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            taken = False
        yield taken
    finally:
        os.close(fd)


def _describe(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"pid {pid}"
    words = [w.decode("utf-8", "replace") for w in raw.split(b"\0") if w]
    return f"pid {pid} ({' '.join(words)[:120]})" if words else f"pid {pid}"


def holders(db: Path) -> list[str]:
    """Processes holding the server lock of ``db`` (Linux; empty elsewhere)."""
    path = lock_file(db)
    try:
        inode = path.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return []
    pids = set()
    for line in lines:
        parts = line.split()
        # "1: FLOCK  ADVISORY  READ 1234 08:01:5678 0 EOF" (a blocked waiter has "->").
        if len(parts) >= 6 and parts[1] == "FLOCK" and "->" not in parts:
            with contextlib.suppress(ValueError, IndexError):
                if int(parts[5].split(":")[2]) == inode and int(parts[4]) != os.getpid():
                    pids.add(int(parts[4]))
    return [_describe(p) for p in sorted(pids)]


def open_by(db: Path) -> list[str]:
    """Other processes with ``db`` or its ``-wal`` open (Linux; empty elsewhere)."""
    targets = set()
    for suffix in ("", "-wal"):
        with contextlib.suppress(OSError):
            targets.add(os.path.realpath(str(db) + suffix))
    found = []
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []
    for pid in pids:
        if pid == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in targets:
                    found.append(_describe(pid))
                    break
            except OSError:
                continue
    return found
