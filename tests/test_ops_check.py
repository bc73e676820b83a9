"""`memwarden check`: violations inserted by hand are found with their rows, and fixed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from memwarden.agent import Agent
from memwarden.cli import app
from memwarden.ops.integrity import run_check
from memwarden.ops.validate import validate
from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.migrate import upgrade

from .engines import TestDatabase
from .postgres import sqlalchemy_url
from .test_ops_logs import _keep_logger_state  # noqa: F401  (autouse)

pytestmark = pytest.mark.engines


def _conversation(agent: Agent) -> None:
    for said in ("Hello there", "I live in Porto", "Remind me to call Ana", "I moved to Berlin"):
        agent.turn("ana", said)


def test_check_clean_database_has_no_violations(agent: Agent, db: TestDatabase) -> None:
    _conversation(agent)
    report = run_check(agent.store)
    assert report.ok and report.exit_code == 0
    assert report.dialect == db.dialect
    common = {"migrations", "orphan_risk_log.episode_id", "beliefs_without_source"}
    sqlite = {"integrity_check", "foreign_key_check", "fts_rows", "fts_integrity"}
    assert common <= set(report.checks_run)
    assert set(report.checks_run) & sqlite == (sqlite if db.is_sqlite else set())


def test_check_finds_and_fixes_hand_inserted_orphans(agent: Agent, db: TestDatabase) -> None:
    _conversation(agent)
    db.execute(
        "INSERT INTO risk_log (user_id, episode_id, ts, draft_total_score, final_score, action, "
        "scores, details) VALUES ('ana', 4242, '2026-01-21 18:00:00.000000', 0, 0, 'NONE', '{}', '{}')",
        "INSERT INTO task_events (user_id, task_id, ts, event) VALUES ('ana', 777, "
        "'2026-01-21 18:00:00.000000', 'created')",
        "UPDATE tasks SET source_episode_id = 999 WHERE id = 1",
    )
    report = run_check(agent.store)
    found = {v.check: v for v in report.violations}
    assert found["orphan_risk_log.episode_id"].count == 1
    assert found["orphan_risk_log.episode_id"].rows[0]["episode_id"] == 4242
    assert found["orphan_task_events.task_id"].rows[0]["task_id"] == 777
    assert found["orphan_tasks.source_episode_id"].rows == [
        {"id": 1, "user_id": "ana", "source_episode_id": 999}
    ]
    if db.is_sqlite:
        assert found["foreign_key_check"].count == 3  # the same three rows, seen by SQLite
    assert report.exit_code == 1

    fixed = run_check(agent.store, fix=True)
    assert fixed.remaining == [] and fixed.ok
    assert any(
        line.startswith("orphan_risk_log.episode_id: delete the risk_log rows (1 rows)")
        for line in fixed.fixed
    )
    assert any("set tasks.source_episode_id to NULL (1 rows)" in line for line in fixed.fixed)
    assert run_check(agent.store).ok
    with agent.store.read() as conn:  # the task itself survives, unlinked
        assert (
            conn.execute(text("SELECT source_episode_id FROM tasks WHERE id = 1")).scalar() is None
        )


def test_check_reports_beliefs_without_source_and_leaves_them(
    agent: Agent, db: TestDatabase
) -> None:
    _conversation(agent)
    db.execute("DELETE FROM belief_sources")
    report = run_check(agent.store, fix=True)
    assert [v.check for v in report.violations] == ["beliefs_without_source"]
    assert report.violations[0].rows[0]["key"] == "location" and not report.violations[0].fixable
    assert report.fixed == [] and report.exit_code == 1
    assert report.remaining is not None  # still there after --fix: nothing may invent a source
    assert [v.check for v in report.remaining] == ["beliefs_without_source"]


@pytest.mark.sqlite_only(
    "PostgreSQL's tsvector is a generated column: it cannot drift from its row"
)
def test_check_rebuilds_an_out_of_sync_fulltext_index(agent: Agent) -> None:
    _conversation(agent)
    with agent.store.write() as conn:  # drop episode 1 from the index, as a lost write would
        conn.execute(
            text(
                "INSERT INTO episodes_fts(episodes_fts, rowid, body) "
                "SELECT 'delete', id, mw_fts(user_id, user_input) FROM episodes WHERE id = 1"
            )
        )
    with agent.store.read() as conn:
        assert agent.store.search.search_episodes(conn, "ana", ["hello"], 5) == []
    report = run_check(agent.store)
    fts = next(v for v in report.violations if v.check == "fts_rows:episodes_fts")
    assert fts.rows == [{"id": 1, "problem": "episodes row not indexed"}]
    fixed = run_check(agent.store, fix=True)
    assert fixed.ok and "episodes_fts: rebuilt from episodes" in fixed.fixed
    with agent.store.read() as conn:
        assert [h[0] for h in agent.store.search.search_episodes(conn, "ana", ["hello"], 5)] == [1]


@pytest.fixture
def blank(engine: str, db_path: Path, request: pytest.FixtureRequest) -> str:
    """The URL of a database without tables (SQLite: no file yet)."""
    if engine == "sqlite":
        return str(db_path)
    return sqlalchemy_url(request.getfixturevalue("pg_shared").blank())


def test_check_reports_migrations_behind_head(blank: str) -> None:
    store = Store.open(Settings(db=blank), migrate=False)
    try:
        upgrade(store.engine, "0001")
        report = run_check(store)
        assert (
            report.violations[0].check == "migrations"
            and report.violations[0].rows[0]["current"] == "0001"
        )
        assert not validate(store).ok
    finally:
        store.close()


def test_check_command_json_and_exit_codes(agent: Agent, db: TestDatabase) -> None:
    _conversation(agent)
    runner = CliRunner()
    clean = runner.invoke(app, ["--db", db.url, "check", "--json"])
    assert clean.exit_code == 0 and json.loads(clean.stdout)["ok"] is True
    assert json.loads(clean.stdout)["dialect"] == db.dialect
    db.execute("DELETE FROM episodes WHERE id = 2")  # its risk_log row and sources stay
    broken = runner.invoke(app, ["--db", db.url, "check"])
    assert broken.exit_code == 1 and "orphan_risk_log" in broken.stdout
    fixed = runner.invoke(app, ["--db", db.url, "check", "--fix", "--json"])
    doc = json.loads(fixed.stdout)
    assert fixed.exit_code == 0 and doc["remaining"] == []
    # Every table referencing episode 2 is repaired, including ones added by later
    # migrations (the kinds come from the schema's foreign keys).
    assert {line.split(":")[0] for line in doc["fixed"]} >= {
        "orphan_risk_log.episode_id",
        "orphan_belief_sources.episode_id",
        "orphan_belief_history.episode_id",
    }


@pytest.mark.own_database
def test_validate_reports_a_dropped_column_and_search_index(agent: Agent, db: TestDatabase) -> None:
    assert validate(agent.store).ok
    if db.is_sqlite:  # the full-text index is kept by triggers
        search, failure = "DROP TRIGGER episodes_ad", ("full-text triggers", "missing episodes_ad")
    else:  # the full-text vector is a generated column with a GIN index
        search = "DROP INDEX ix_episodes_search_vector"
        failure = ("table episodes: indexes", "missing ix_episodes_search_vector")
    db.execute("ALTER TABLE governance_log DROP COLUMN error", search)
    report = validate(agent.store)
    failed = {i.name: i.detail for i in report.items if not i.ok}
    assert failed == dict([("table governance_log: columns", "missing columns error"), failure])
    result = CliRunner().invoke(app, ["--db", db.url, "validate"])
    assert result.exit_code == 1 and "schema NOT valid" in result.stdout


@pytest.mark.sqlite_only(
    "the timeline index with JSON validity is SQLite's (migrations 0005, 0007)"
)
def test_validate_reports_a_dropped_expression_index(agent: Agent, db: TestDatabase) -> None:
    assert validate(agent.store).ok  # an index on json_valid() is read, not skipped

    db.execute("DROP INDEX ix_episodes_user_timeline")

    failed = {i.name: i.detail for i in validate(agent.store).items if not i.ok}
    assert failed == {"table episodes: indexes": "missing ix_episodes_user_timeline"}
