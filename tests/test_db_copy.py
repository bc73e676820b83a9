"""`memwarden db copy`: a soak-test database moved from SQLite to PostgreSQL, verified."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from memwarden.agent import Agent
from memwarden.errors import ConfigError, InputError, SchemaError, StoreUnavailable
from memwarden.governance import Governance
from memwarden.memory.embeddings import embedder_for
from memwarden.ops.copy import copy_database
from memwarden.ops.soak import SoakOptions, run_soak
from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.migrate import upgrade

from .cli import run_cli
from .postgres import fresh_database

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def soak_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A soak-test database: 6 sessions x 15 turns over 3 users, with vectors."""
    folder = tmp_path_factory.mktemp("soak")
    report = run_soak(
        Settings(db=str(folder / "unused.db"), llm="builtin", embeddings=True),
        SoakOptions(sessions=6, turns=15, users=3, seed=7),
        workdir=folder,
    )
    assert report.ok, report.failures()
    return folder / "soak.db"


@pytest.fixture
def source(soak_source: Path, tmp_path: Path) -> Path:
    """This test's own copy of the soak database (exports add audit rows to it)."""
    path = tmp_path / "source.db"
    shutil.copyfile(soak_source, path)
    return path


@pytest.fixture
def target() -> Iterator[str]:
    yield from fresh_database()


def _users(db: Path | str) -> list[str]:
    store = Store.open(Settings(db=str(db)), migrate=False)
    try:
        with store.read() as conn:
            return sorted(
                str(u)
                for u in conn.execute(text("SELECT DISTINCT user_id FROM episodes")).scalars()
            )
    finally:
        store.close()


def _export(db: Path | str, user: str) -> dict[str, Any]:
    with Governance.open(Settings(db=str(db))) as governance:
        out = StringIO()
        result = governance.export_memory(user, out=out)
        assert result.ok, result.reply
    document: dict[str, Any] = json.loads(out.getvalue())
    return document


def test_copy_round_trip_soak_gives_identical_exports(source: Path, target: str) -> None:
    report = copy_database(source, target, batch_size=50)

    assert report.ok, report.differences()
    assert report.copied == report.rows > 200
    expected = {
        "episodes",
        "risk_log",
        "semantic_beliefs",
        "belief_history",
        "belief_sources",
        "tasks",
        "task_events",
        "governance_log",
    }
    # Sentence vectors exist only where the embeddings extra is installed (not in CI).
    if embedder_for(Settings(embeddings=True)) is not None:
        expected.add("memory_vectors")
    assert {t.name for t in report.tables if t.source_rows} >= expected
    users = _users(source)
    assert len(users) == 3 and _users(target) == users
    for user in users:
        mine, theirs = _export(source, user), _export(target, user)
        # Normalised: only when each export was taken; every other byte must match.
        del mine["exported_at"], theirs["exported_at"]
        assert theirs == mine
        assert mine["counts"]["episodes"] > 0 and mine["counts"]["beliefs"] > 0


def test_copy_target_keeps_working_after_copy(source: Path, target: str) -> None:
    report = copy_database(source, target)
    largest = next(t for t in report.tables if t.name == "episodes").source_rows
    with Agent.open(Settings(db=target, embeddings=False)) as agent:
        result = agent.turn("soak-user-000", "I live in Tallinn now.")
        with agent.store.read() as conn:
            top = conn.execute(
                text("SELECT max(id) FROM episodes WHERE id < :e"), {"e": result.episode_id}
            ).scalar_one()
            count = conn.execute(text("SELECT count(*) FROM episodes")).scalar_one()
    # New ids continue after the copied ones (sequences were reset), none reused.
    assert result.episode_id is not None and result.episode_id > top
    assert count == largest + 1


def test_copy_target_never_reissues_a_deleted_id(source: Path, target: str) -> None:
    with Governance.open(Settings(db=str(source))) as governance:
        with governance.store.read() as conn:
            user, top = conn.execute(
                text("SELECT user_id, id FROM episodes ORDER BY id DESC LIMIT 1")
            ).one()
        assert governance.delete_episode(user, top).ok  # the table's largest id, gone

    copy_database(source, target)

    with Agent.open(Settings(db=target, embeddings=False)) as agent:
        result = agent.turn(user, "I live in Tallinn now.")
    assert result.episode_id is not None and result.episode_id > top


def test_copy_second_run_copies_zero_rows(source: Path, target: str) -> None:
    first = copy_database(source, target)
    second = copy_database(source, target)

    assert first.copied == first.rows > 0
    assert second.copied == 0
    assert second.ok
    assert [t.source_sha256 for t in second.tables] == [t.source_sha256 for t in first.tables]


def test_copy_interrupted_then_resumed_matches_source(source: Path, target: str) -> None:
    calls: list[tuple[str, str, int]] = []

    def interrupt(phase: str, table: str, done: int, total: int) -> None:
        calls.append((phase, table, done))
        if table == "risk_log" and done >= 40:
            raise KeyboardInterrupt  # as Ctrl-C would, between two batches

    with pytest.raises(KeyboardInterrupt):
        copy_database(source, target, batch_size=20, progress=interrupt)
    engine = create_engine(target)
    with engine.connect() as conn:
        partial = conn.execute(text("SELECT count(*) FROM risk_log")).scalar_one()
        episodes = conn.execute(text("SELECT count(*) FROM episodes")).scalar_one()
    engine.dispose()
    assert partial == 40 and episodes > 40  # episodes were done, risk_log half-way

    resumed = copy_database(source, target, batch_size=20)
    assert resumed.ok, resumed.differences()
    risk = next(t for t in resumed.tables if t.name == "risk_log")
    assert risk.copied == risk.source_rows - 40
    assert next(t for t in resumed.tables if t.name == "episodes").copied == 0
    assert resumed.copied == resumed.rows - _committed_before(calls)


def _committed_before(calls: list[tuple[str, str, int]]) -> int:
    """Rows the interrupted run committed: the last count reported for each table."""
    last: dict[str, int] = {}
    for _phase, table, done in calls:
        last[table] = done
    return sum(last.values())


def test_copy_names_the_table_that_differs(source: Path, target: str) -> None:
    assert copy_database(source, target).ok
    engine = create_engine(target)
    with engine.begin() as conn:
        conn.execute(
            text(
                # a row between the first and the last: the check before copying looks
                # at those two only, the verification after it at every row
                "UPDATE semantic_beliefs SET value = 'Atlantis' "
                "WHERE id = (SELECT id FROM semantic_beliefs ORDER BY id LIMIT 1 OFFSET 1)"
            )
        )
    engine.dispose()

    report = copy_database(source, target)

    assert not report.ok
    beliefs = next(t for t in report.tables if t.name == "semantic_beliefs")
    assert report.differences() == [
        f"semantic_beliefs: same row count ({beliefs.source_rows}), different contents"
    ]
    assert beliefs.copied == 0 and beliefs.source_sha256 != beliefs.target_sha256


def test_copy_refuses_a_target_holding_another_deployments_rows(source: Path, target: str) -> None:
    with Agent.open(Settings(db=target, llm="builtin")) as agent:
        agent.turn("zoe", "I live in Oslo.")
    with pytest.raises(InputError, match="the target holds rows this source does not"):
        copy_database(source, target)
    engine = create_engine(target)
    with engine.connect() as conn:  # nothing was written
        assert conn.execute(text("SELECT count(*) FROM episodes")).scalar_one() == 1
        assert conn.execute(text("SELECT count(DISTINCT user_id) FROM risk_log")).scalar_one() == 1
    engine.dispose()


def test_copy_refuses_target_at_other_migration(source: Path, target: str) -> None:
    engine = create_engine(target)
    upgrade(engine, "0002")
    engine.dispose()
    with pytest.raises(SchemaError, match="the target is at migration 0002"):
        copy_database(source, target)


def test_copy_bad_arguments_raise_clear_errors(source: Path, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no SQLite database at"):
        copy_database(tmp_path / "missing.db", "postgresql+psycopg://postgres@127.0.0.1/x")
    with pytest.raises(ConfigError, match="not a database URL"):
        copy_database(source, "::nonsense::")
    with pytest.raises(ConfigError, match="must be PostgreSQL"):
        copy_database(source, f"sqlite:///{tmp_path / 'other.db'}")
    with pytest.raises(StoreUnavailable):
        copy_database(source, "postgresql+psycopg://postgres@127.0.0.1:1/nowhere")


# -- the command line ----------------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("db", "copy", *args)


def test_cli_copy_prints_report_and_exits_zero(source: Path, target: str) -> None:
    proc = _cli("--from", str(source), "--to", target, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True and doc["copied"] == doc["rows"] > 0
    assert doc["differences"] == []

    again = _cli("--from", str(source), "--to", target)
    assert again.returncode == 0, again.stderr
    assert f"0 of {doc['rows']} rows copied" in again.stdout


@pytest.mark.parametrize(
    ("source_name", "url", "code", "message"),
    [
        ("missing.db", "postgresql+psycopg://postgres@127.0.0.1/x", 2, "no SQLite database at"),
        ("source.db", "::nonsense::", 2, "not a database URL"),
        ("source.db", "postgresql+psycopg://postgres@127.0.0.1:1/nowhere", 1, "port 1 failed"),
    ],
)
def test_cli_copy_bad_input_one_line_error(
    source: Path, source_name: str, url: str, code: int, message: str
) -> None:
    proc = _cli("--from", str(source.parent / source_name), "--to", url)
    assert proc.returncode == code
    assert message in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "Traceback" not in proc.stderr
