"""Every SQL query printed in the seed runbook runs unmodified on a memwarden database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memwarden.agent import Agent

# Copied verbatim from ../shared/seed/000_39b0817cc9ca8f97.txt.
CHECK_1 = """SELECT 
  COUNT(*) as episodes,
  AVG(draft_total_score) as avg_draft,
  MAX(draft_total_score) as max_draft,
  COUNT(CASE WHEN draft_total_score > 1 THEN 1 END) as high_risk_count
FROM risk_log
WHERE ts > datetime('now', '-6 hours');"""
CHECK_2 = """SELECT 
  COUNT(*) as total_commands,
  SUM(CASE WHEN command = '/export_memory' THEN 1 ELSE 0 END) as export_calls,
  SUM(CASE WHEN command = '/trace' THEN 1 ELSE 0 END) as trace_calls
FROM governance_log
WHERE timestamp > datetime('now', '-6 hours');"""
ORPHANS = """SELECT COUNT(*) FROM risk_log 
WHERE episode_id NOT IN (SELECT id FROM episodes);"""
BELIEFS = "SELECT COUNT(*) FROM semantic_beliefs;"
STATUS = "SELECT COUNT(*) FROM episodes; SELECT COUNT(*) FROM semantic_beliefs;"
GOV_DUMP = "SELECT * FROM governance_log WHERE ts > datetime('now', '-6 hours') LIMIT 100;"
DRIFT = 'SELECT draft_total_score FROM risk_log WHERE ts > datetime("now", "-1 hour")'
DIAG = (
    "SELECT COUNT(*) FROM episodes; SELECT COUNT(*) FROM tasks; "
    "SELECT COUNT(*) FROM risk_log WHERE draft_total_score > 1.0;"
)


@pytest.fixture
def session_db(agent: Agent, db_path: Path) -> Path:
    for text in (
        "Hi, my name is Ana. I live in Porto.",
        "I moved to Berlin.",
        "Remind me to renew my passport.",
        "Where do I live?",
    ):
        agent.turn("user123", text)
    with sqlite3.connect(db_path) as conn:
        # governance_log is filled by the governance commands; write one row the way
        # they do so that the seed's usage query has something to count.
        conn.execute(
            "INSERT INTO governance_log (user_id, command, args, success, latency_ms, ts) "
            "VALUES ('user123', '/export_memory', '', 1, 1.5, datetime('now'))"
        )
    return db_path


def _run(db: Path, script: str) -> list[list[tuple[object, ...]]]:
    """Run each statement of ``script`` like the sqlite3 shell does; one result per statement."""
    results = []
    with sqlite3.connect(db) as conn:
        for statement in (s.strip() for s in script.split(";")):
            if statement:
                results.append(conn.execute(statement).fetchall())
    return results


def test_seed_risk_gate_stability_check(session_db: Path) -> None:
    [[row]] = _run(session_db, CHECK_1)
    assert row == (4, 0.0, 0.0, 0)


def test_seed_governance_usage_check_uses_timestamp(session_db: Path) -> None:
    [[row]] = _run(session_db, CHECK_2)
    assert row == (1, 1, 0)


def test_seed_integrity_checks_find_no_orphans(session_db: Path) -> None:
    assert _run(session_db, ORPHANS) == [[(0,)]]
    assert _run(session_db, BELIEFS) == [[(2,)]]  # name and location (superseded in place)


def test_seed_useful_commands_answer_the_session(session_db: Path) -> None:
    assert _run(session_db, STATUS) == [[(4,)], [(2,)]]
    [rows] = _run(session_db, GOV_DUMP)
    assert len(rows) == 1 and rows[0][2] == "/export_memory"
    assert _run(session_db, DIAG) == [[(4,)], [(1,)], [(0,)]]


def test_seed_drift_script_runs(session_db: Path) -> None:
    # The seed's Python drift check, verbatim apart from the database path.
    with sqlite3.connect(session_db) as conn:
        scores = [row[0] for row in conn.execute(DRIFT)]
    assert (
        f"Mean: {sum(scores) / len(scores):.2f}, Max: {max(scores):.2f}, Count: {len(scores)}"
        == ("Mean: 0.00, Max: 0.00, Count: 4")
    )
