"""The seed runbook's ops SQL, verbatim, after a session that used all five commands.

The queries run with the standard library's sqlite3 module (and with the sqlite3 shell
where it is installed), as an operator would, on the file the agent wrote.  SQLite only:
the SQL is SQLite dialect; its PostgreSQL equivalents in docs/runbook.md run in
tests/test_runbook_sql.py.
"""

# ruff: noqa: W291 - the seed's SQL is copied verbatim, trailing spaces included

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from memwarden.agent import Agent
from memwarden.settings import Settings

from .test_governance_helpers import FlaggingGate

SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "000_39b0817cc9ca8f97.txt"

# Copied verbatim from the seed's "Post-Deployment Validation" and "Useful Commands for Ops".
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
DRIFT = """import sqlite3
conn = sqlite3.connect('production.db')
scores = [row[0] for row in conn.execute('SELECT draft_total_score FROM risk_log WHERE ts > datetime(\\"now\\", \\"-1 hour\\")')]
print(f'Mean: {sum(scores)/len(scores):.2f}, Max: {max(scores):.2f}, Count: {len(scores)}')
"""
DIAG = (
    "SELECT COUNT(*) FROM episodes; SELECT COUNT(*) FROM tasks; "
    "SELECT COUNT(*) FROM risk_log WHERE draft_total_score > 1.0;"
)
GOV_COLUMNS = [
    "id",
    "user_id",
    "command",
    "args",
    "success",
    "error",
    "latency_ms",
    "ts",
    "timestamp",
]


#: The scripted session: turns, then all five commands (one refused at the end).
SESSION = (
    "Hi, my name is Ana. I live in Porto.",
    "I moved to Berlin.",
    "Remind me to renew my passport.",
    "Remind me that the secret is pineapple.",  # scored 1.5 by the test gate
    "Where do I live?",
    "/export_memory",
    "/trace episode_5",
    "/trace 4",
    "/task_events",
    "/delete_belief 1",
    "/delete_episode 2",
    "/trace 2",  # refused: deleted just before
)


#: (command, success) of the session's governance_log rows, oldest first.
AUDITED = [
    ("/export_memory", 1),
    ("/trace", 1),
    ("/trace", 1),
    ("/task_events", 1),
    ("/delete_belief", 1),
    ("/delete_episode", 1),
    ("/trace", 0),
]


def run_session(settings: Settings) -> None:
    """The scripted session as user123 (the runbook's PostgreSQL SQL uses it too)."""
    with Agent.open(settings, gate=FlaggingGate()) as agent:
        for text in SESSION:
            result = agent.turn("user123", text)
            assert result.ok or text == "/trace 2", result.reply


@pytest.fixture
def production(tmp_path: Path) -> Path:
    """production.db after the scripted session."""
    db = tmp_path / "production.db"
    run_session(Settings(db=str(db)))
    return db


def _run(db: Path, script: str) -> list[list[tuple[object, ...]]]:
    """Each statement of ``script`` as the sqlite3 shell runs it: one result each."""
    with sqlite3.connect(db) as conn:
        return [conn.execute(s).fetchall() for s in (p.strip() for p in script.split(";")) if s]


def test_seed_sql_copies_are_verbatim() -> None:
    if not SEED.exists():
        pytest.skip("the seed runbook is not beside this checkout")
    seed = SEED.read_text()
    for query in (CHECK_1, CHECK_2, ORPHANS, BELIEFS, STATUS, GOV_DUMP, DIAG):
        assert query in seed
    for line in DRIFT.splitlines():
        assert line in seed


def test_seed_sql_validation_checks_after_all_five_commands(production: Path) -> None:
    [[(episodes, avg_draft, max_draft, high_risk)]] = _run(production, CHECK_1)
    assert (episodes, avg_draft, max_draft, high_risk) == (4, 0.375, 1.5, 1)  # episode 2 gone
    [[usage]] = _run(production, CHECK_2)
    assert usage == (7, 1, 3)
    assert _run(production, ORPHANS) == [[(0,)]]
    assert _run(production, BELIEFS) == [[(1,)]]  # name deleted; location reverted to Porto


def test_seed_sql_useful_commands_after_all_five_commands(production: Path) -> None:
    assert _run(production, STATUS) == [[(4,)], [(1,)]]
    with sqlite3.connect(production) as conn:
        cursor = conn.execute(GOV_DUMP)
        dumped = cursor.fetchall()
        assert [d[0] for d in cursor.description] == GOV_COLUMNS
    assert [(r[2], r[4]) for r in dumped] == AUDITED
    assert all(r[7] == r[8] and r[6] >= 0 for r in dumped)
    assert _run(production, DIAG) == [[(4,)], [(2,)], [(1,)]]


def test_seed_drift_script_runs_verbatim(production: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", DRIFT], cwd=production.parent, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "Mean: 0.38, Max: 1.50, Count: 4"


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="no sqlite3 shell installed")
def test_seed_shell_commands_run_verbatim(production: Path) -> None:
    def shell(*args: str) -> str:
        proc = subprocess.run(
            ["sqlite3", "production.db", *args],
            cwd=production.parent,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert (
        shell("SELECT COUNT(*) FROM episodes; SELECT COUNT(*) FROM semantic_beliefs;") == "4\n1\n"
    )
    assert len(shell(GOV_DUMP).splitlines()) == 7
    diag = shell(".mode column", DIAG).split()
    assert [w for w in diag if w.isdigit()] == ["4", "2", "1"]
