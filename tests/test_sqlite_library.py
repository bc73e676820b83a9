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

early = module.connect(":memory:") if "early" in sys.argv else None
store = Store.open(Settings(db=sys.argv[1], sqlite_memory_stats="keep" in sys.argv))
with store.engine.connect() as conn:
    episodes = conn.exec_driver_sql("SELECT count(*) FROM episodes").scalar_one()
    print(json.dumps({"off": memory_stats_off(module), "used": memory_used(), "episodes": episodes}))
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
    assert _probe(tmp_path / "m.db") == {"off": True, "used": 0, "episodes": 0}


def test_open_store_with_a_connection_already_open_keeps_memory_stats(tmp_path: Path) -> None:
    probe = _probe(tmp_path / "m.db", "early")
    assert probe["off"] is False and probe["used"] > 0 and probe["episodes"] == 0


def test_open_store_with_setting_keeps_memory_stats(tmp_path: Path) -> None:
    probe = _probe(tmp_path / "m.db", "keep")
    assert probe["off"] is False and probe["used"] > 0 and probe["episodes"] == 0
