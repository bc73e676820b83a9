"""SQLite's memory statistics: off in memwarden's bundled library, unless in use or kept.

Each case runs in a fresh process: the setting is the library's, for the whole process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pysqlite3", reason="the bundled SQLite is only installed on Linux x86-64")

_PROBE = """
import ctypes, json, sys
import pysqlite3._sqlite3 as extension
import pysqlite3.dbapi2 as module
from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.sqlite_library import memory_stats_off

library = ctypes.CDLL(extension.__file__)

def memory_used():
    current, highwater = ctypes.c_int64(), ctypes.c_int64()
    library.sqlite3_status64(0, ctypes.byref(current), ctypes.byref(highwater), 0)
    return current.value

opened = []
if "preoff" in sys.argv:  # other code turned the statistics off first
    library.sqlite3_shutdown(); library.sqlite3_config(9, ctypes.c_int(0)); library.sqlite3_initialize()
    # Counts the connections opened; a shutdown of the library would forget it.
    hook = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(
        lambda db, error, api: opened.append(1) or 0
    )
    library.sqlite3_auto_extension(hook)
early = module.connect(":memory:") if "early" in sys.argv or "preoff" in sys.argv else None
store = Store.open(Settings(db=sys.argv[1], sqlite_memory_stats="keep" in sys.argv))
with store.engine.connect() as conn:
    episodes = conn.exec_driver_sql("SELECT count(*) FROM episodes").scalar_one()
    still = early.execute("SELECT 41 + 1").fetchone()[0] if early is not None else None
    print(json.dumps(
        {"off": memory_stats_off(module), "used": memory_used(), "episodes": episodes, "early": still,
         "hooked": len(opened) > 1}
    ))
store.close()
"""


def _probe(db: Path, *flags: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(db), *flags],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_open_store_turns_memory_stats_off(tmp_path: Path) -> None:
    # With the statistics off, the library counts nothing, connections open or not.
    assert _probe(tmp_path / "m.db") == {
        "off": True,
        "used": 0,
        "episodes": 0,
        "early": None,
        "hooked": False,
    }


def test_open_store_with_a_connection_already_open_keeps_memory_stats(tmp_path: Path) -> None:
    probe = _probe(tmp_path / "m.db", "early")
    assert probe == {
        "off": False,
        "used": probe["used"],
        "episodes": 0,
        "early": 42,
        "hooked": False,
    }
    assert probe["used"] > 0


def test_open_store_with_memory_stats_off_already_leaves_the_library(tmp_path: Path) -> None:
    # Nothing to count with: the library must not be shut down under the open connection
    # (a shutdown would also have dropped the hook that counts the store's connections).
    assert _probe(tmp_path / "m.db", "preoff") == {
        "off": True,
        "used": 0,
        "episodes": 0,
        "early": 42,
        "hooked": True,
    }


def test_open_store_with_setting_keeps_memory_stats(tmp_path: Path) -> None:
    probe = _probe(tmp_path / "m.db", "keep")
    assert probe["off"] is False and probe["used"] > 0 and probe["episodes"] == 0
    assert probe["early"] is None
