"""The five commands as slash commands, library calls and CLI: audit, flag, task events."""

from __future__ import annotations

import io
import json
import subprocess
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from memwarden.agent import Agent
from memwarden.cli import app
from memwarden.clock import utcnow
from memwarden.governance import DISABLED_MESSAGE, Governance
from memwarden.governance.audit import record, row
from memwarden.governance.export import write_export
from memwarden.memory.tasks import list_events
from memwarden.settings import Settings
from memwarden.store import Store

from .cli import run_cli
from .engines import TestDatabase
from .test_governance_helpers import last_line, reset_logging, seed_log

pytestmark = pytest.mark.engines

ALL_FIVE = [
    "/export_memory",
    "/delete_episode 1",
    "/delete_belief 1",
    "/task_events",
    "/trace 1",
]


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    reset_logging()
    yield
    reset_logging()


def test_task_events_newest_first_and_one_task(agent: Agent) -> None:
    agent.turn("ana", "Remind me to call Bob.")
    agent.turn("ana", "/task add water the plants")
    agent.turn("ana", "/task done 1")
    agent.turn("ana", "/task cancel 2")

    result = agent.turn("ana", "/task_events")

    assert result.ok
    events = result.result["events"]
    assert [(e["task_id"], e["event"]) for e in events] == [
        (2, "cancelled"),
        (1, "completed"),
        (2, "created"),
        (1, "created"),
    ]
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    assert events[-1]["episode_id"] == 1 and events[-1]["task_title"] == "Call Bob"
    assert result.result["total"] == 4 and result.result["truncated"] is False
    assert result.reply.splitlines()[0] == "Your task events, newest first:"
    assert "task 2 cancelled" in result.reply.splitlines()[1]
    one = agent.turn("ana", "/task_events task_1")
    assert [e["event"] for e in one.result["events"]] == ["completed", "created"]
    assert one.reply.startswith("Events of task 1, newest first:")
    limited = agent.governance.task_events("ana", limit=1)
    assert limited.result is not None and limited.result.truncated and limited.result.total == 4


def test_task_events_detail_nested_too_deep_is_shown_raw(agent: Agent, db: TestDatabase) -> None:
    agent.turn("ana", "Remind me to call Bob.")
    deep = "[" * 5000 + "]" * 5000  # JSON, deeper than Python's decoder goes (a hand edit)
    db.run("UPDATE task_events SET detail = ?", deep)

    result = agent.turn("ana", "/task_events")
    exported = agent.governance.export_memory("ana", out=io.StringIO())
    in_python = io.StringIO()
    with agent.store.read() as conn:
        (event,) = list_events(conn, "ana")
        write_export(conn, "ana", in_python, exported_at=utcnow(), in_python=True)

    assert result.ok and result.result["events"][0]["detail"] == {"raw": deep}
    assert exported.ok and event.detail == {}
    (task,) = json.loads(in_python.getvalue())["tasks"]
    assert task["events"][0]["detail"] == deep  # embedded as a string


def test_task_events_two_users(agent: Agent) -> None:
    agent.turn("ana", "Remind me to call Bob.")
    bob_all = agent.turn("bob", "/task_events")
    assert (
        bob_all.ok
        and bob_all.result["events"] == []
        and bob_all.reply == "You have no task events."
    )
    theirs = agent.turn("bob", "/task_events 1")
    missing = agent.turn("bob", "/task_events 2")
    assert (theirs.reply, missing.reply) == ("No task 1.", "No task 2.")
    assert theirs.result["error"]["kind"] == "not_found"
    for words in ("x", "1 2", "episode_1", "9" * 25):
        bad = agent.turn("ana", f"/task_events {words}")
        assert not bad.ok and bad.reply.startswith("usage: /task_events [TASK_ID]")


def test_every_call_is_audited_and_logged(agent: Agent, db: TestDatabase) -> None:
    agent.turn("user123", "I live in Porto. Remind me to pack.")
    with seed_log() as log:
        for text in [*ALL_FIVE, "/trace 1", "/trace nope", "/delete_belief 9"]:
            agent.turn("user123", text)
    logged = log.getvalue()

    assert "[GOVERNANCE] /export_memory executed (user: user123)" in logged
    assert "[GOVERNANCE] /delete_episode episode_1 executed (user: user123)" in logged
    assert "[GOVERNANCE] /trace episode_1 failed (user: user123): No episode 1." in logged
    assert "[GOVERNANCE] /trace nope failed (user: user123): usage: /trace" in logged
    records = db.rows(
        "SELECT user_id, command, args, success, error, latency_ms, ts, timestamp "
        "FROM governance_log ORDER BY id",
    )
    assert [(r[1], r[3]) for r in records] == [
        ("/export_memory", 1),
        ("/delete_episode", 1),
        ("/delete_belief", 0),
        ("/task_events", 1),
        ("/trace", 0),
        ("/trace", 0),
        ("/trace", 0),
        ("/delete_belief", 0),
    ]  # belief 1 went with episode 1, its only source
    assert all(r[0] == "user123" and r[5] >= 0 and r[6] == r[7] for r in records)
    assert all((r[4] is None) == bool(r[3]) for r in records)
    assert json.loads(records[1][2]) == ["1"]


def test_governance_disabled_answers_clearly_and_changes_nothing(db: TestDatabase) -> None:
    settings = Settings(db=db.url, governance_surfaces_enabled=False)
    with Agent.open(settings) as agent:
        agent.turn("ana", "I live in Porto. Remind me to pack.")
        before = db.state()
        for text in ALL_FIVE:
            result = agent.turn("ana", text)
            assert not result.ok and result.reply == DISABLED_MESSAGE
            assert result.result == {"error": {"kind": "disabled", "message": DISABLED_MESSAGE}}
        assert db.state() == before
        assert not db.exports_dir.exists()
        # Nothing else about the agent changes.
        assert agent.turn("ana", "Where do I live?").reply == "You told me that you live in Porto."
        assert agent.turn("ana", "/task list").ok
    assert [(r[1], r[3], r[4]) for r in db.audit()] == [
        (text.split()[0], 0, DISABLED_MESSAGE) for text in ALL_FIVE
    ]


def test_governance_flag_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVERNANCE_SURFACES_ENABLED", "0")
    assert Settings().governance_surfaces_enabled is False
    monkeypatch.setenv("GOVERNANCE_SURFACES_ENABLED", "1")
    assert Settings().governance_surfaces_enabled is True
    monkeypatch.delenv("GOVERNANCE_SURFACES_ENABLED")
    assert Settings().governance_surfaces_enabled is True  # the default: on


def test_invalid_user_id_is_refused_and_audited(settings: Settings, db: TestDatabase) -> None:
    with Governance.open(settings) as gov:
        result = gov.trace("  ", 1)
        assert not result.ok and result.error_kind == "usage"
        assert result.reply == "a user id is required"
        with pytest.raises(Exception, match="a user id is required"):
            result.raise_for_error()
    assert db.audit() == [("", "/trace", '["1"]', 0, "a user id is required")]


def test_help_lists_the_five_commands(agent: Agent) -> None:
    help_text = agent.turn("ana", "/help").reply
    for name in ("/export_memory", "/delete_episode", "/delete_belief", "/task_events", "/trace"):
        assert name in help_text


def test_cli_subcommands_share_the_code_path(settings: Settings, db: TestDatabase) -> None:
    with Agent.open(settings) as agent:
        agent.turn("ana", "I live in Porto. Remind me to pack.")
        agent.turn("ana", "I moved to Berlin.")
    runner = CliRunner()
    cli = ["--db", settings.db]
    events = runner.invoke(app, [*cli, "task-events", "-u", "ana", "--json"])
    assert events.exit_code == 0 and json.loads(events.stdout)["total"] == 1
    one = runner.invoke(app, [*cli, "task-events", "-u", "ana", "task_1"])
    assert one.exit_code == 0 and "Events of task 1" in one.stdout
    belief = runner.invoke(app, [*cli, "delete-belief", "-u", "bob", "belief_1"])
    assert belief.exit_code == 2 and last_line(belief.stderr) == "error: No belief 1."
    bad = runner.invoke(app, [*cli, "delete-episode", "-u", "ana", "x1"])
    assert bad.exit_code == 2 and "usage: /delete_episode" in bad.stderr
    deleted = runner.invoke(app, [*cli, "delete-episode", "-u", "ana", "episode_2", "--json"])
    assert deleted.exit_code == 0, deleted.output
    assert json.loads(deleted.stdout)["beliefs_detached"][0]["reverted"] is True
    gone = runner.invoke(app, [*cli, "delete-belief", "-u", "ana", "1"])
    assert gone.exit_code == 0 and "Deleted belief 1 (location)" in gone.stdout
    assert db.count("governance_log") == 6


def test_turn_json_governance_command_has_turn_shape(db: TestDatabase) -> None:
    def turn(text: str) -> subprocess.CompletedProcess[str]:
        return run_cli("turn", "-u", "ana", text, "--json", env={"MEMWARDEN_DB": db.url})

    first = turn("I live in Porto.")
    assert first.returncode == 0, first.stderr
    ok = turn("/trace episode_1")
    doc = json.loads(ok.stdout)
    assert ok.returncode == 0
    assert doc["episode_id"] is None and doc["command"] == "/trace" and doc["ok"] is True
    assert doc["result"]["input"] == "I live in Porto." and doc["reply"].startswith("Trace of")
    assert "[GOVERNANCE] /trace episode_1 executed (user: ana)" in ok.stderr
    failed = turn("/delete_episode 7")
    doc = json.loads(failed.stdout)
    assert failed.returncode == 1
    assert doc["episode_id"] is None and doc["ok"] is False and doc["reply"] == "No episode 7."
    assert doc["result"] == {"error": {"kind": "not_found", "message": "No episode 7."}}


@pytest.mark.own_database
def test_store_failure_is_one_line_audited_and_logged_as_error(
    agent: Agent, db: TestDatabase
) -> None:
    agent.turn("ana", "Remind me to pack.")
    db.execute("ALTER TABLE task_events RENAME TO task_events_gone")
    with seed_log() as log:
        result = agent.turn("ana", "/task_events")
    assert not result.ok and result.result["error"]["kind"] == "store"
    missing = "no such table" if db.is_sqlite else 'relation "task_events" does not exist'
    assert result.reply.startswith(f"The command failed and nothing was changed: {missing}")
    assert "\n" not in result.reply
    assert db.audit()[-1][:4] == ("ana", "/task_events", "[]", 0)
    assert "[ERROR] governance /task_events failed (user: ana)" in log.getvalue()


@pytest.mark.engines("postgres")
@pytest.mark.parametrize(("durable", "setting"), [(True, "on"), (False, "off")])
def test_record_of_a_call_that_changed_nothing_skips_the_flush_wait(
    store: Store, durable: bool, setting: str
) -> None:
    with store.write() as conn:
        fields = row(
            user_id="ana",
            command="/trace",
            args=["1"],
            success=True,
            error=None,
            latency_ms=0.25,
            ts=utcnow(),
        )
        record(conn, fields, durable=durable)
        # In effect until this transaction's commit, which reads it; then reset.
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == setting
    with store.read() as conn:
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
        stored = conn.execute(text("SELECT user_id, args, success, error FROM governance_log"))
        assert tuple(stored.one()) == ("ana", '["1"]', True, None)


@pytest.mark.engines("postgres")
def test_trace_audit_row_commits_without_waiting_for_the_wal_flush(
    agent: Agent, store: Store, db: TestDatabase
) -> None:
    episode = agent.turn("ana", "I live in Berlin.").episode_id
    gov = Governance(store, agent.settings)
    unflushed = 0
    with store.engine.connect() as probe:
        for _ in range(20):
            assert gov.trace("ana", episode).ok
            # Right after a synchronous commit the WAL is flushed up to its end; after an
            # asynchronous one the WAL writer flushes it within wal_writer_delay (200 ms).
            lag = "SELECT pg_current_wal_insert_lsn() > pg_current_wal_flush_lsn()"
            unflushed += bool(probe.execute(text(lag)).scalar())
    assert unflushed > 10
    assert len(db.rows("SELECT id FROM governance_log WHERE command = '/trace'")) == 20
