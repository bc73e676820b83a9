"""Backup while the agent writes, restore atomically, and kill -9 in the middle of it.

Both engines (SQLite: ``VACUUM INTO`` and a file swap; PostgreSQL: ``pg_dump`` and a
database rename); the PostgreSQL-only cases are in test_ops_postgres.py."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from memwarden.agent import Agent
from memwarden.cli import app
from memwarden.errors import InputError, StoreError, StoreUnavailable
from memwarden.ops.backup import backup, checksum_file, restore
from memwarden.ops.integrity import run_check
from memwarden.ops.lock import lock_file
from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.schema import episodes, risk_log

from .engines import TestDatabase
from .postgres import require_pg_programs, sqlalchemy_url
from .test_ops_logs import _keep_logger_state  # noqa: F401  (autouse)

pytestmark = pytest.mark.engines


@pytest.fixture(autouse=True)
def _pg_programs(engine: str) -> None:
    if engine == "postgres":
        require_pg_programs()


def _episodes(db: str) -> int:
    store = Store.open(Settings(db=db), migrate=False)
    try:
        with store.read() as conn:
            return int(conn.execute(select(func.count()).select_from(episodes)).scalar_one())
    finally:
        store.close()


def _assert_consistent(db: str) -> int:
    """Integrity clean, and every episode with exactly its one risk_log row."""
    store = Store.open(Settings(db=db), migrate=False)
    try:
        report = run_check(store)
        assert report.ok, [v.to_dict() for v in report.violations]
        with store.read() as conn:
            n = conn.execute(select(func.count()).select_from(episodes)).scalar_one()
            r = conn.execute(select(func.count()).select_from(risk_log)).scalar_one()
        assert n == r
        return int(n)
    finally:
        store.close()


def _talk(db: str, n: int, user: str = "ana") -> None:
    with Agent.open(Settings(db=db)) as agent:
        for i in range(n):
            agent.turn(
                user, f"I love hiking number {i}" if i % 2 else f"Remind me to water plant {i}"
            )


def _untouched(db: TestDatabase) -> Any:
    """What a refused restore must leave as it was: the file, or the rows and databases."""
    if db.is_sqlite:
        return db.path.read_bytes()
    return db.state(), db.rows("SELECT datname FROM pg_database ORDER BY datname")


@pytest.fixture
def new_database(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[[str], str]:
    """URLs of databases that do not exist yet (on PostgreSQL dropped with the session)."""

    def name(label: str) -> str:
        if engine == "sqlite":
            return str(tmp_path / f"{label}.db")
        return sqlalchemy_url(request.getfixturevalue("pg_shared").unique_name())

    return name


def test_backup_during_concurrent_writes_restores_consistent(
    tmp_path: Path, db: TestDatabase, new_database: Callable[[str], str]
) -> None:
    _talk(db.url, 5)
    stop = threading.Event()
    written: list[int] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with Agent.open(Settings(db=db.url)) as agent:
                i = 0
                while not stop.is_set():
                    agent.turn("bob", f"I moved to city number {i}. Remind me to pack box {i}.")
                    written.append(i)
                    i += 1
        except BaseException as e:  # surfaced below
            errors.append(e)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 5:
            time.sleep(0.01)
        store = Store.open(Settings(db=db.url), migrate=False)
        snapshots = []
        try:
            for k in range(3):  # several snapshots, each taken while turns commit
                snapshots.append(backup(store, tmp_path / f"snap{k}.db"))
                time.sleep(0.05)
        finally:
            store.close()
    finally:
        stop.set()
        thread.join(30)
    assert not errors and len(written) > 5
    for k, result in enumerate(snapshots):
        assert (
            checksum_file(Path(result.snapshot.path)).read_text().startswith(result.snapshot.sha256)
        )
        target = new_database(f"restored{k}")
        restore(Settings(db=target), Path(result.snapshot.path))
        assert _assert_consistent(target) == result.snapshot.episodes
    assert snapshots[0].snapshot.episodes <= snapshots[-1].snapshot.episodes < 5 + len(written) + 1


def test_restore_refuses_a_tampered_snapshot_and_touches_nothing(
    tmp_path: Path, db: TestDatabase
) -> None:
    _talk(db.url, 3)
    store = Store.open(Settings(db=db.url), migrate=False)
    snap = Path(backup(store, tmp_path / "snap.db").snapshot.path)
    store.close()
    data = bytearray(snap.read_bytes())
    data[-100] ^= 0xFF
    snap.write_bytes(bytes(data))
    before = _untouched(db)
    with pytest.raises(StoreError, match="checksum"):
        restore(Settings(db=db.url), snap)
    assert _untouched(db) == before and not list(tmp_path.glob(".*.tmp"))
    checksum_file(snap).unlink()
    with pytest.raises(InputError, match="no checksum"):
        restore(Settings(db=db.url), snap)


@pytest.mark.parametrize("revision", ["deadbeef", "heads", ""])
def test_restore_refuses_an_unknown_migration_and_touches_nothing(
    tmp_path: Path, db: TestDatabase, revision: str
) -> None:
    _talk(db.url, 2)
    [(head,)] = db.rows("SELECT version_num FROM alembic_version")
    db.run("UPDATE alembic_version SET version_num = ?", revision)  # as a newer release would
    store = Store.open(Settings(db=db.url), migrate=False)
    snap = Path(backup(store, tmp_path / "snap.db").snapshot.path)
    store.close()
    db.run("UPDATE alembic_version SET version_num = ?", head)
    assert checksum_file(snap).read_text().startswith(hashlib.sha256(snap.read_bytes()).hexdigest())
    before = _untouched(db)
    with pytest.raises(StoreError, match="this code does not know"):
        restore(Settings(db=db.url), snap)
    assert _untouched(db) == before


def test_backup_refuses_to_overwrite(tmp_path: Path, store: Store) -> None:
    backup(store, tmp_path / "snap.db")
    with pytest.raises(InputError, match="exists"):
        backup(store, tmp_path / "snap.db")
    assert backup(store, tmp_path / "snap.db", overwrite=True).snapshot.episodes == 0


def _holder(db: Path) -> subprocess.Popen[str]:
    """A process holding the server lock, as `memwarden serve` does."""
    code = (
        "import sys, time\nfrom pathlib import Path\nfrom memwarden.ops.lock import serving\n"
        f"with serving(Path({str(db)!r})):\n    print('serving', flush=True)\n    time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "serving"
    return proc


@pytest.mark.sqlite_only("the server lock is a flock beside the SQLite file (PostgreSQL: sessions)")
def test_restore_refuses_while_a_server_holds_the_database(tmp_path: Path, db_path: Path) -> None:
    db = str(db_path)
    _talk(db, 2)
    store = Store.open(Settings(db=str(db_path)), migrate=False)
    snap = Path(backup(store, tmp_path / "snap.db").snapshot.path)
    store.close()
    _talk(db, 2)
    server = _holder(db_path)
    try:
        with pytest.raises(StoreUnavailable, match=f"pid {server.pid}"):
            restore(Settings(db=str(db_path)), snap)
        assert _episodes(db) == 4
        forced = restore(Settings(db=str(db_path)), snap, force=True)
        assert forced.forced and any(str(server.pid) in h for h in forced.holders)
        assert _episodes(db) == 2
    finally:
        server.kill()
        server.wait()
    assert lock_file(db_path).exists()


def kill_restore_at(db: str, snap: Path, stage: str) -> None:
    """Run ``memwarden restore`` in a process, and kill -9 it where it pauses at ``stage``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMWARDEN_")}
    env["MEMWARDEN_RESTORE_PAUSE"] = stage
    proc = subprocess.Popen(
        [sys.executable, "-m", "memwarden", "--db", db, "restore", str(snap)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline and f"paused at {stage}" not in line:
        line = proc.stderr.readline()
        assert line or proc.poll() is None, "restore ended before the pause"
    os.kill(proc.pid, signal.SIGKILL)  # the real restore, killed at its critical point
    proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _crash_while_writing(db: Path, turns: int) -> None:
    """A server killed -9 after ``turns`` committed turns: they live only in the WAL."""
    code = (
        "import sys\nfrom memwarden.agent import Agent\nfrom memwarden.settings import Settings\n"
        "from memwarden.store.engine import sqlite_module\n"
        f"keep = sqlite_module().connect({str(db)!r})  # not the last connection: no checkpoint\n"
        "keep.execute('SELECT count(*) FROM episodes').fetchall()\n"
        f"agent = Agent.open(Settings(db={str(db)!r}))\n"
        f"for i in range({turns}):\n    agent.turn('cy', f'I love chess number {{i}}')\n"
        "print('written', flush=True)\nimport time\ntime.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "written"
    proc.kill()
    proc.wait()


@pytest.mark.sqlite_only("kills the SQLite file swap (test_ops_postgres kills the database rename)")
@pytest.mark.parametrize(
    ("stage", "expect"), [("copy", "old"), ("swap", "old"), ("replaced", "new")]
)
def test_restore_killed_mid_way_leaves_old_or_new_database(
    tmp_path: Path, db_path: Path, stage: str, expect: str
) -> None:
    db = str(db_path)
    _talk(db, 3)
    store = Store.open(Settings(db=str(db_path)), migrate=False)
    snap = Path(backup(store, tmp_path / "snap.db").snapshot.path)  # "new": 3 episodes
    store.close()
    _talk(db, 4, user="bob")
    _crash_while_writing(db_path, 2)  # "old", the live database: 9 episodes, 2 in the WAL only
    assert Path(f"{db_path}-wal").stat().st_size > 0
    kill_restore_at(db, snap, stage)
    assert _assert_consistent(db) == {"old": 9, "new": 3}[expect]
    # The next restore finishes the job and clears what the killed one left behind.
    rerun = restore(Settings(db=str(db_path)), snap)
    assert _assert_consistent(db) == 3
    if expect == "old":
        assert any("interrupted restore" in note for note in rerun.notes)
    assert not list(db_path.parent.glob(f".{db_path.name}.restore-*.tmp"))


def test_backup_and_restore_commands(tmp_path: Path, db: TestDatabase) -> None:
    _talk(db.url, 2)
    runner = CliRunner()
    made = runner.invoke(app, ["--db", db.url, "backup", str(tmp_path / "b.db")])
    assert made.exit_code == 0, made.output
    assert "2 episodes" in made.stdout and (tmp_path / "b.db.sha256").exists()
    _talk(db.url, 1)
    done = runner.invoke(app, ["--db", db.url, "restore", str(tmp_path / "b.db"), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["snapshot"]["episodes"] == 2 and _episodes(db.url) == 2
    if db.is_sqlite:
        wal = Path(f"{db.path}-wal")
        assert not wal.exists() or wal.stat().st_size == 0
    missing = runner.invoke(app, ["--db", db.url, "restore", str(tmp_path / "nope.db")])
    assert missing.exit_code == 2 and "no snapshot" in missing.output
