"""Backup and restore on PostgreSQL: pg_dump and pg_restore, a database swapped by rename.

The cases both engines share (concurrent writers, tampered snapshots, unknown migrations,
the commands) run in test_ops_backup.py; here are the ones particular to PostgreSQL.
"""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memwarden.agent import Agent
from memwarden.cli import app
from memwarden.clock import utcnow
from memwarden.errors import ConfigError, InputError, StoreUnavailable
from memwarden.governance.export import write_export
from memwarden.ops.backup import backup, restore
from memwarden.ops.pgdump import find_program
from memwarden.settings import Settings
from memwarden.store import Store

from .engines import TestDatabase
from .postgres import libpq_url, require_pg_programs
from .test_governance_helpers import last_line
from .test_ops_backup import kill_restore_at
from .test_ops_logs import _keep_logger_state  # noqa: F401  (autouse)

pytestmark = [pytest.mark.engines("postgres"), pytest.mark.postgres]

USERS = ("ana", "bob", "chen")
MOMENT = utcnow()


@pytest.fixture(autouse=True)
def _pg_programs(engine: str) -> None:
    if engine == "postgres":
        require_pg_programs()


@pytest.fixture
def pg(db: TestDatabase) -> TestDatabase:
    """The test's PostgreSQL database."""
    assert db.dialect == "postgresql"
    return db


def _session(db: TestDatabase) -> None:
    with Agent.open(Settings(db=db.url)) as agent:
        for user in USERS:
            for said in (
                "My name is {u}. I live in Porto.",
                "I moved to Berlin. Remind me to renew my passport.",
                "Where do I live?",
            ):
                agent.turn(user, said.format(u=user.title()))
        agent.turn("ana", "/task done 1")
        agent.turn("bob", "/trace 5")


def _exports(db: TestDatabase) -> dict[str, str]:
    """Every user's export document as of one fixed moment (read without an audit row)."""
    store = Store.open(Settings(db=db.url), migrate=False)
    documents = {}
    try:
        with store.read() as conn:
            for user in (*USERS, "dara"):
                buffer = io.StringIO()
                write_export(conn, user, buffer, exported_at=MOMENT)
                documents[user] = buffer.getvalue()
    finally:
        store.close()
    return documents


def _backup(db: TestDatabase, dest: Path, **options: object) -> Path:
    store = Store.open(Settings(db=db.url), migrate=False)
    try:
        return Path(backup(store, dest, **options).snapshot.path)  # type: ignore[arg-type]
    finally:
        store.close()


def test_postgres_backup_restore_gives_every_user_the_same_export(
    pg: TestDatabase, tmp_path: Path
) -> None:
    _session(pg)
    before = _exports(pg)
    snap = _backup(pg, tmp_path / "snap.dump")
    assert snap.read_bytes()[:5] == b"PGDMP"  # a custom-format archive
    with Agent.open(Settings(db=pg.url)) as agent:  # change every kind of row
        agent.turn("ana", "I moved to Lisbon.")
        assert agent.governance.delete_episode("bob", 4).ok
        [(belief,)] = pg.rows("SELECT MIN(id) FROM semantic_beliefs WHERE user_id = 'chen'")
        assert agent.governance.delete_belief("chen", belief).ok
        agent.turn("dara", "Remind me to call the bank.")
    assert _exports(pg) != before

    result = restore(Settings(db=pg.url), snap)

    assert result.snapshot.episodes == 9 and result.previous is not None
    assert result.previous.startswith(pg.url.rsplit("/", 1)[1] + "_pre_restore_")
    assert _exports(pg) == before
    with Agent.open(Settings(db=pg.url)) as agent:  # ids go on where the snapshot left off
        assert agent.turn("ana", "I love tea.").episode_id == 10
    kept = TestDatabase(pg.url.rsplit("/", 1)[0] + "/" + result.previous, pg.exports_dir)
    assert kept.count("episodes", "user_id = 'dara'") == 1  # the replaced database, kept


def test_postgres_backup_without_pg_dump_is_a_one_line_config_error(
    pg: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "no-programs"
    empty.mkdir()
    store = Store.open(Settings(db=pg.url), migrate=False)
    try:
        with pytest.raises(ConfigError, match=r"pg_dump not found in .*no-programs"):
            backup(store, tmp_path / "a.dump", pg_bin_dir=empty)
        monkeypatch.setenv("PATH", str(empty))
        with pytest.raises(ConfigError, match="pg_dump not found on PATH: install"):
            backup(store, tmp_path / "a.dump")
    finally:
        store.close()
    assert not list(tmp_path.glob("*.dump*"))
    monkeypatch.setenv("MEMWARDEN_PG_BIN_DIR", str(empty))
    result = CliRunner().invoke(app, ["--db", pg.url, "backup", str(tmp_path / "b.dump")])
    assert result.exit_code == 2
    assert last_line(result.stderr).startswith("error: pg_dump not found in ")
    assert "postgresql-client" in result.stderr and result.stderr.count("\n") == 1


def test_postgres_restore_without_pg_restore_is_a_one_line_config_error(
    pg: TestDatabase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _session(pg)
    snap = _backup(pg, tmp_path / "snap.dump")
    only_dump = tmp_path / "only-dump"
    only_dump.mkdir()
    (only_dump / "pg_dump").symlink_to(find_program("pg_dump"))
    before = pg.state()
    with pytest.raises(ConfigError, match="pg_restore not found in"):
        restore(Settings(db=pg.url, pg_bin_dir=only_dump), snap)
    monkeypatch.setenv("MEMWARDEN_PG_BIN_DIR", str(only_dump))
    result = CliRunner().invoke(app, ["--db", pg.url, "restore", str(snap)])
    assert result.exit_code == 2 and last_line(result.stderr).startswith(
        "error: pg_restore not found"
    )
    assert pg.state() == before


def test_postgres_restore_refuses_a_sqlite_snapshot(pg: TestDatabase, tmp_path: Path) -> None:
    sqlite = tmp_path / "sqlite.db"
    with Agent.open(Settings(db=str(sqlite))) as agent:
        agent.turn("ana", "I live in Porto.")
        snap = Path(backup(agent.store, tmp_path / "snap.db").snapshot.path)
    with pytest.raises(InputError, match="is not a pg_dump archive"):
        restore(Settings(db=pg.url), snap)


def test_postgres_restore_refuses_while_sessions_use_the_database(
    pg: TestDatabase, tmp_path: Path
) -> None:
    import psycopg

    _session(pg)
    snap = _backup(pg, tmp_path / "snap.dump")
    with Agent.open(Settings(db=pg.url)) as agent:
        agent.turn("ana", "I love tea.")
    with psycopg.connect(libpq_url(pg.url.rsplit("/", 1)[1]), application_name="worker-7") as held:
        pid = held.info.backend_pid
        with pytest.raises(StoreUnavailable, match=rf"in use by pid {pid} \(.*worker-7"):
            restore(Settings(db=pg.url), snap)
        assert pg.count("episodes") == 10
        forced = restore(Settings(db=pg.url), snap, force=True)
        assert forced.forced and any(f"pid {pid}" in h for h in forced.holders)
        with pytest.raises(psycopg.OperationalError):
            held.execute("SELECT 1")  # its session was ended
    assert pg.count("episodes") == 9


@pytest.mark.parametrize(("stage", "expect"), [("swap", "old"), ("replaced", "new")])
def test_postgres_restore_killed_mid_way_leaves_old_or_new_database(
    pg: TestDatabase, tmp_path: Path, stage: str, expect: str
) -> None:
    with Agent.open(Settings(db=pg.url)) as agent:
        for i in range(3):
            agent.turn("ana", f"I love chess number {i}")
        snap = Path(backup(agent.store, tmp_path / "snap.dump").snapshot.path)  # "new": 3
        for i in range(4):
            agent.turn("bob", f"I love go number {i}")  # "old": 7
    kill_restore_at(pg.url, snap, stage)
    assert pg.count("episodes") == {"old": 7, "new": 3}[expect]
    rerun = restore(Settings(db=pg.url), snap)
    assert pg.count("episodes") == 3
    left = [n for n in rerun.notes if "left by an interrupted restore" in n]
    assert len(left) == (1 if expect == "old" else 0)
    name = pg.url.rsplit("/", 1)[1]
    scratch = pg.rows("SELECT datname FROM pg_database WHERE datname LIKE ?", f"{name}_restore_%")
    assert scratch == []


def test_postgres_backup_command_json(pg: TestDatabase, tmp_path: Path) -> None:
    _session(pg)
    result = CliRunner().invoke(app, ["--db", pg.url, "backup", str(tmp_path / "b.dump"), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert (
        doc["episodes"] == 9
        and doc["revision"] == pg.rows("SELECT version_num FROM alembic_version")[0][0]
    )
    assert Path(doc["checksum_file"]).read_text().split() == [doc["sha256"], "b.dump"]
    check = subprocess.run(
        ["sha256sum", "-c", "b.dump.sha256"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
