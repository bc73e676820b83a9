"""The command line: one JSON document on stdout, logs elsewhere, one-line errors."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from memwarden.store.migrate import head_revision

from .cli import run_cli


def _run(*args: str, db: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env={"MEMWARDEN_DB": str(db)}, input=input, timeout=60)


def test_turn_json_prints_one_document_and_logs_to_stderr(db_path: Path) -> None:
    proc = _run("turn", "--user", "ana", "I live in Porto", "--json", db=db_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert {"episode_id", "reply", "action", "draft_total_score", "recalled", "tasks"} <= set(doc)
    assert doc["episode_id"] == 1
    assert "[EPISODE] Episode 1 created (score: 0.0, action: NONE)" in proc.stderr
    assert "[EPISODE]" not in proc.stdout


def test_turn_json_command_has_turn_shape(db_path: Path) -> None:
    proc = _run("turn", "--user", "ana", "/task add buy milk", "--json", db=db_path)
    doc = json.loads(proc.stdout)
    assert doc["episode_id"] is None
    assert doc["command"] == "/task"
    assert doc["result"]["title"] == "Buy milk"


def test_turn_empty_user_is_one_line_error(db_path: Path) -> None:
    proc = _run("turn", "--user", " ", "hello", db=db_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() == "error: a user id is required"


def test_turn_bad_database_url_is_one_line_error(tmp_path: Path) -> None:
    proc = _run("--db", "mysql://x/y", "turn", "-u", "ana", "hi", db=tmp_path / "x.db")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "unsupported database" in proc.stderr


def test_db_upgrade_and_current(db_path: Path) -> None:
    assert _run("db", "current", db=db_path).returncode == 1  # blank: not at head
    up = _run("db", "upgrade", db=db_path)
    assert up.returncode == 0 and f"database at {head_revision()}" in up.stdout
    current = _run("db", "current", "--json", db=db_path)
    assert current.returncode == 0
    assert json.loads(current.stdout)["at_head"] is True


@pytest.mark.parametrize("command", [["chat"], ["turn"], ["db", "upgrade"], ["db", "current"]])
def test_help_has_example(command: list[str], db_path: Path) -> None:
    proc = _run(*command, "--help", db=db_path)
    assert proc.returncode == 0
    assert "Example" in proc.stdout and "memwarden" in proc.stdout


def test_chat_session_remembers_across_lines(db_path: Path) -> None:
    proc = _run(
        "chat",
        "--user",
        "ana",
        db=db_path,
        input="My name is Ana.\nI live in Porto.\nWhere do I live?\n/bogus\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert "You told me that you live in Porto." in proc.stdout
    assert "unknown command /bogus" in proc.stdout


def test_tasks_commands_add_done_and_isolation(db_path: Path) -> None:
    added = _run("tasks", "add", "--user", "ana", "buy milk", "--json", db=db_path)
    assert json.loads(added.stdout)[0]["title"] == "Buy milk"
    other = _run("tasks", "done", "--user", "bob", "1", db=db_path)
    assert other.returncode == 2 and other.stderr.strip() == "error: no task 1"
    done = _run("tasks", "done", "--user", "ana", "1", "--json", db=db_path)
    assert json.loads(done.stdout)[0]["status"] == "done"
    listing = _run("tasks", "list", "--user", "ana", "--status", "all", "--json", db=db_path)
    assert [t["status"] for t in json.loads(listing.stdout)] == ["done"]
    bad = _run("tasks", "list", "--user", "ana", "--status", "bogus", db=db_path)
    assert bad.returncode == 2 and "status must be one of" in bad.stderr
