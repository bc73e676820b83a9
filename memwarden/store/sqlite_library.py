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
SQLite is in use in the process, before memwarden opens its first connection.  That
count is only kept while the statistics are on, which is checked first (an allocation
of its own must show in it).  The check and the change are serialised with memwarden's
own engines, not with other code opening pysqlite3 connections on another thread at
that moment.
``Settings.sqlite_memory_stats`` (``MEMWARDEN_SQLITE_MEMORY_STATS=1``) leaves the library
as it is, for a host process that uses pysqlite3 itself and its statistics.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import threading
from functools import cache
from typing import Any

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
        lib = ctypes.CDLL(path) if path else None
    except (ImportError, OSError):
        return None
    # Its own copy: a pysqlite3 built against the system's shared libsqlite3 would
    # resolve these functions there, in the library every other module uses too.
    if lib is None or _defined_in(lib.sqlite3_config) != os.path.realpath(str(path)):
        return None
    return lib


class _DlInfo(ctypes.Structure):
    _fields_ = [
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    ]


def _defined_in(function: Any) -> str | None:
    """The file that defines a C function (a ctypes function pointer; ``dladdr``), or
    None where that is unknown."""
    for name in (None, "libdl.so.2"):
        try:
            dladdr = ctypes.CDLL(name).dladdr
        except (OSError, AttributeError):
            continue
        info = _DlInfo()
        if dladdr(ctypes.cast(function, ctypes.c_void_p), ctypes.byref(info)) and info.dli_fname:
            return str(os.path.realpath(info.dli_fname.decode()))
        return None
    return None


def _status(lib: ctypes.CDLL, op: int) -> int:
    current, highwater = ctypes.c_int64(), ctypes.c_int64()
    if lib.sqlite3_status64(op, ctypes.byref(current), ctypes.byref(highwater), 0) != _SQLITE_OK:
        return -1
    return int(current.value)


def _counting(lib: ctypes.CDLL) -> bool:
    """Whether the library counts allocations: one of its own shows in the count."""
    lib.sqlite3_malloc.restype = ctypes.c_void_p
    before = _status(lib, _SQLITE_STATUS_MALLOC_COUNT)
    block = lib.sqlite3_malloc(64)
    if not block:  # pragma: no cover - out of memory
        return True  # unknown: assume counting, and so change nothing while in use
    try:
        return _status(lib, _SQLITE_STATUS_MALLOC_COUNT) > before
    finally:
        lib.sqlite3_free(ctypes.c_void_p(block))


def quiet_memory_stats(module: object) -> bool:
    """Turn SQLite's memory statistics off in ``module``'s library, once per process;
    whether they are off.  Does nothing (False) for a module other than pysqlite3 with
    its own copy of SQLite, or while anything of SQLite is in use in the process."""
    lib = _library(module)
    if lib is None:
        return False
    key = str(lib._name)
    with _lock:
        if key in _quieted:
            return True
        if not _counting(lib):  # off already (another caller, or the library's build)
            _quieted.add(key)
            return True
        # No allocation outstanding: no connection, statement or blob is open.
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
    """Whether the memory statistics of ``module`` (a DB-API module) are known to be off
    in this process."""
    lib = _library(module)
    return lib is not None and str(lib._name) in _quieted
