"""SQLite: the process-wide configuration of the bundled library (pysqlite3).

SQLite counts every allocation for its memory statistics unless told not to
(``SQLITE_CONFIG_MEMSTATUS``), and the count is kept under one process-wide mutex.  That
costs every statement a little (an export of 1,000 episodes ~7 %, measured), and it
serialises two connections working at once: two threads rendering an export's sections
on two connections finished no sooner than one thread doing both; with the statistics
off, in 0.63 of the time (docs/benchmarks.md, Governance).  memwarden reads none of
these statistics.

Python's ``sqlite3`` modules have no call for this, so it goes through ``ctypes`` to the
documented C function, on pysqlite3's own copy of SQLite only (the system library that
the standard ``sqlite3`` module shares with the rest of the process is left alone).
The option can only be set while the library is shut down, and shutting it down with a
connection open is undefined; the library's own allocation count tells whether any
connection or statement is open (0 means none), so it is done only when nothing of
SQLite is in use in the process, before memwarden opens its first connection.  (The count is
also 0 if other code in the process turned the statistics off first: such code should
set the setting below.)
``Settings.sqlite_memory_stats`` (``MEMWARDEN_SQLITE_MEMORY_STATS=1``) leaves the library
as it is, for a host process that uses pysqlite3 itself and its statistics.
"""

from __future__ import annotations

import ctypes
import importlib
import threading
from functools import cache

__all__ = ["memory_stats_off", "quiet_memory_stats"]

_SQLITE_OK = 0
_SQLITE_CONFIG_MEMSTATUS = 9
_SQLITE_STATUS_MEMORY_USED = 0
_SQLITE_STATUS_MALLOC_COUNT = 9

_lock = threading.Lock()
_quieted: set[str] = set()  # the library files configured in this process


def _library(module: object) -> ctypes.CDLL | None:
    """pysqlite3's extension, which holds its own SQLite; None for any other module."""
    return _extension_library(str(getattr(module, "__name__", "")).partition(".")[0])


@cache
def _extension_library(package: str) -> ctypes.CDLL | None:
    if package != "pysqlite3":
        return None
    try:
        path = importlib.import_module(f"{package}._sqlite3").__file__
        return ctypes.CDLL(path) if path else None
    except (ImportError, OSError):
        return None


def _status(lib: ctypes.CDLL, op: int) -> int:
    current, highwater = ctypes.c_int64(), ctypes.c_int64()
    if lib.sqlite3_status64(op, ctypes.byref(current), ctypes.byref(highwater), 0) != _SQLITE_OK:
        return -1
    return int(current.value)


def quiet_memory_stats(module: object) -> bool:
    """Turn SQLite's memory statistics off in ``module``'s library, once per process;
    whether they are off.  Does nothing (False) for a module other than pysqlite3, or
    while anything of SQLite is in use in the process."""
    lib = _library(module)
    if lib is None:
        return False
    key = str(lib._name)
    with _lock:
        if key in _quieted:
            return True
        # No allocation outstanding: no connection, statement or blob is open.  (With
        # the statistics on, as the library starts, every allocation is counted.)
        if (
            _status(lib, _SQLITE_STATUS_MALLOC_COUNT) != 0
            or _status(lib, _SQLITE_STATUS_MEMORY_USED) != 0
        ):
            return False
        if lib.sqlite3_shutdown() != _SQLITE_OK:
            return False
        configured = bool(
            lib.sqlite3_config(_SQLITE_CONFIG_MEMSTATUS, ctypes.c_int(0)) == _SQLITE_OK
        )
        if lib.sqlite3_initialize() != _SQLITE_OK:  # pragma: no cover - out of memory
            raise RuntimeError("SQLite could not be initialised again")
        if configured:
            _quieted.add(key)
        return configured


def memory_stats_off(module: object) -> bool:
    """Whether this process turned the memory statistics of ``module`` (a DB-API module)
    off."""
    lib = _library(module)
    return lib is not None and str(lib._name) in _quieted
