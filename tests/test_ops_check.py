"""`memwarden check`: violations inserted by hand are found with their rows, and fixed."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from memwarden.agent import Agent
from memwarden.cli import app
from memwarden.ops.integrity import run_check
from memwarden.ops.validate import validate
from memwarden.settings import Settings
from memwarden.store import Store, textindex
from memwarden.store.engine import sqlite_module
from memwarden.store.migrate import upgrade

from .test_ops_logs import _keep_logger_state  # noqa: F401  (autouse)


def _conversation(agent: Agent) -> None:
    for said in ("Hello there", "I live in Porto", "Remind me to call Ana", "I moved to Berlin"):
        agent.turn("ana", said)


def _raw(db: Path, *statements: str) -> None:
    """Run SQL the way a hand-written script would: foreign keys off (SQLite's default),
    with memwarden's full-text function, so that the index triggers still work."""
    conn = sqlite_module().connect(str(db))
    textindex.register(conn)
    for statement in statements:
        conn.execute(statement)
    conn.commit()
    conn.close()


def test_check_clean_database_has_no_violations(agent: Agent) -> None:
    _conversation(agent)
    report = run_check(agent.store)
    assert report.ok and report.exit_code == 0
    assert {
        "orphan_risk_log.episode_id",
        "beliefs_without_source",
        "integrity_check",
        "fts_integrity",
    } <= set(report.checks_run)


def test_check_finds_and_fixes_hand_inserted_orphans(agent: Agent, db_path: Path) -> None:
    _conversation(agent)
    _raw(
        db_path,
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


def test_check_reports_beliefs_without_source_and_leaves_them(agent: Agent, db_path: Path) -> None:
    _conversation(agent)
    _raw(db_path, "DELETE FROM belief_sources")
    report = run_check(agent.store, fix=True)
    assert [v.check for v in report.violations] == ["beliefs_without_source"]
    assert report.violations[0].rows[0]["key"] == "location" and not report.violations[0].fixable
    assert report.fixed == [] and report.remaining is not None and report.exit_code == 1


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


def test_check_reports_migrations_behind_head(tmp_path: Path) -> None:
    settings = Settings(db=str(tmp_path / "old.db"))
    store = Store.open(settings, migrate=False)
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


def test_check_command_json_and_exit_codes(agent: Agent, db_path: Path) -> None:
    _conversation(agent)
    runner = CliRunner()
    clean = runner.invoke(app, ["--db", str(db_path), "check", "--json"])
    assert clean.exit_code == 0 and json.loads(clean.stdout)["ok"] is True
    _raw(db_path, "DELETE FROM episodes WHERE id = 2")  # its risk_log row and sources stay
    broken = runner.invoke(app, ["--db", str(db_path), "check"])
    assert broken.exit_code == 1 and "orphan_risk_log" in broken.stdout
    fixed = runner.invoke(app, ["--db", str(db_path), "check", "--fix", "--json"])
    doc = json.loads(fixed.stdout)
    assert fixed.exit_code == 0 and doc["remaining"] == []
    # Every table referencing episode 2 is repaired, including ones added by later
    # migrations (the kinds come from the schema's foreign keys).
    assert {line.split(":")[0] for line in doc["fixed"]} >= {
        "orphan_risk_log.episode_id",
        "orphan_belief_sources.episode_id",
        "orphan_belief_history.episode_id",
    }


def test_validate_reports_a_dropped_column_and_trigger(agent: Agent, db_path: Path) -> None:
    assert validate(agent.store).ok
    _raw(db_path, "ALTER TABLE governance_log DROP COLUMN error", "DROP TRIGGER episodes_ad")
    report = validate(agent.store)
    failed = {i.name: i.detail for i in report.items if not i.ok}
    assert failed == {
        "table governance_log: columns": "missing columns error",
        "full-text triggers": "missing episodes_ad",
    }
    result = CliRunner().invoke(app, ["--db", str(db_path), "validate"])
    assert result.exit_code == 1 and "schema NOT valid" in result.stdout
