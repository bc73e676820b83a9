"""/trace: why the agent replied what it replied, even from malformed stored JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from sqlalchemy import event, text
from typer.testing import CliRunner

from memwarden.agent import Agent
from memwarden.cli import app
from memwarden.governance import Governance
from memwarden.settings import Settings
from memwarden.store import Store

from .engines import TestDatabase
from .test_governance_helpers import FlaggingGate, last_line, reset_logging, seed_log

pytestmark = pytest.mark.engines


@pytest.fixture
def gated(settings: Settings) -> Iterator[Agent]:
    with Agent.open(settings, gate=FlaggingGate()) as agent:
        yield agent


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    reset_logging()
    yield
    reset_logging()


def test_trace_shows_every_stage(gated: Agent) -> None:
    gated.turn("ana", "I love gardens.")
    turn = gated.turn("ana", "Remind me that the secret is pineapple.")
    assert turn.action == "REWRITE"

    result = gated.turn("ana", f"/trace episode_{turn.episode_id}")

    assert result.ok and result.episode_id is None and result.command == "/trace"
    trace = result.result
    assert trace["input"] == "Remind me that the secret is pineapple."
    assert len(trace["drafts"]) == 2 and "secret" in trace["drafts"][0]
    assert trace["risk"]["scores"] == {"secrets": 1.5}
    [category] = trace["risk"]["categories"]
    assert category["category"] == "secrets" and category["score"] == 1.5
    span = category["spans"][0]
    assert span["text"] == "secret" and trace["drafts"][0][span["start"] : span["end"]] == "secret"
    assert trace["action"] == "REWRITE"
    [attempt] = trace["rewrite_attempts"]
    assert attempt["method"] == "regenerate" and attempt["extra_context"]
    assert trace["reply"] == turn.reply and "[redacted]" in trace["reply"]
    assert set(trace["timings_ms"]) >= {"recall_ms", "draft_ms", "gate_ms"}
    assert trace["warnings"] == []
    for line in (
        "Input:",
        "Drafts (2):",
        "secrets: 1.50",
        "Action: REWRITE",
        "Rewrite attempts (1):",
    ):
        assert line in result.reply


def test_trace_recalled_memories_say_why_they_matched(agent: Agent) -> None:
    agent.turn("ana", "I live in Porto.")
    turn = agent.turn("ana", "Where do I live?")
    trace = agent.governance.trace("ana", str(turn.episode_id))
    assert trace.ok and trace.result is not None
    recalled = {(m["kind"], m["id"]): m for m in trace.result.recalled}
    belief = recalled[("belief", 1)]
    assert belief["text"] == "User lives in Porto" and belief["matched"] == ["live"]
    assert 0.0 < belief["score"] <= 1.0 and belief["lexical"] is not None
    assert "belief 1: score 1.00" in trace.reply and "matched live" in trace.reply


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("risk_log.details", "{not json"),
        ("risk_log.scores", "[1, 2"),
        ("episodes.trace", '{"recalled": 5, "drafts": "x"'),
        ("episodes.trace", '["a list"]'),
        ("episodes.trace", '{"recalled": [3, {"kind": "belief"}], "timings_ms": []}'),
        # JSON, but nested deeper than Python's decoder goes (a hand-edited row)
        pytest.param("risk_log.details", "[" * 5000 + "]" * 5000, id="details-too-deep"),
        pytest.param("episodes.trace", '{"a": ' * 5000 + "1" + "}" * 5000, id="trace-too-deep"),
    ],
)
def test_trace_malformed_json_warns_and_shows_the_rest(
    agent: Agent, db: TestDatabase, column: str, value: str
) -> None:
    agent.turn("ana", "I live in Porto.")
    table, field = column.split(".")
    db.run(f"UPDATE {table} SET {field} = ?", value)

    with seed_log() as log:
        result = agent.governance.trace("ana", 1)

    assert result.ok and result.result is not None
    assert result.result.input == "I live in Porto." and result.result.reply
    assert result.result.warnings
    assert "[WARNING] trace_decision: JSON parse failed for episode 1" in log.getvalue()
    assert "[GOVERNANCE] /trace episode_1 executed (user: ana)" in log.getvalue()


def test_trace_null_trace_and_no_risk_row(agent: Agent, db: TestDatabase) -> None:
    agent.turn("ana", "hello there")
    db.execute("UPDATE episodes SET trace = NULL", "DELETE FROM risk_log")
    result = agent.governance.trace("ana", "1")
    assert result.ok and result.result is not None
    assert result.result.drafts == [result.result.reply] and result.result.recalled == []
    assert result.result.risk is not None and result.result.risk["action"] == "NONE"
    assert result.result.warnings == []


def test_trace_other_users_episode_answers_like_a_missing_one(agent: Agent) -> None:
    agent.turn("ana", "I live in Porto.")
    theirs = agent.turn("bob", "/trace 1")
    missing = agent.turn("bob", "/trace episode_99")
    assert (theirs.reply, missing.reply) == ("No episode 1.", "No episode 99.")
    assert theirs.result == {"error": {"kind": "not_found", "message": "No episode 1."}}
    assert "Porto" not in json.dumps(theirs.to_dict())


@pytest.mark.parametrize(
    "words", ["", "x", "episode_x", "1 2", "task_1", "9" * 19, "-3", "²", "episode_²"]
)
def test_trace_bad_input_is_a_usage_error(agent: Agent, db: TestDatabase, words: str) -> None:
    agent.turn("ana", "I live in Porto.")
    before = db.state()
    result = agent.turn("ana", f"/trace {words}".strip())
    assert not result.ok and result.reply.startswith("usage: /trace EPISODE_ID")
    assert "\n" not in result.reply
    assert db.state() == before
    assert db.audit()[-1][1:4] == ("/trace", json.dumps(words.split(), ensure_ascii=False), 0)


def test_trace_cli_text_and_json(settings: Settings) -> None:
    with Agent.open(settings, gate=FlaggingGate()) as agent:
        agent.turn("ana", "Remind me that the secret is pineapple.")
    runner = CliRunner()
    text = runner.invoke(app, ["--db", settings.db, "trace", "--user", "ana", "episode_1"])
    assert text.exit_code == 0, text.output
    for word in ("Trace of episode 1", "Recalled", "secrets", "Rewrite attempts", "Reply"):
        assert word in text.stdout
    as_json = runner.invoke(app, ["--db", settings.db, "trace", "-u", "ana", "1", "--json"])
    assert json.loads(as_json.stdout)["risk"]["categories"][0]["spans"][0]["text"] == "secret"
    other = runner.invoke(app, ["--db", settings.db, "trace", "-u", "bob", "1"])
    assert other.exit_code == 2 and other.stdout == ""
    assert last_line(other.stderr) == "error: No episode 1."


def test_trace_failed_leaves_its_pooled_connection_transactional(settings: Settings) -> None:
    # On PostgreSQL a trace runs its statements autocommitted; one that fails must hand
    # its connection back in transactions (pool of one: the next block gets the same).
    one = settings.model_copy(update={"pool_size": 1, "max_overflow": 0})
    with Governance.open(one) as gov:
        assert not gov.trace("ana", 999).ok
        store: Store = gov.store
        with pytest.raises(RuntimeError), store.write() as conn:
            conn.execute(
                text(
                    "INSERT INTO governance_log (user_id, command, args, success, latency_ms, ts)"
                    " VALUES ('zed', '/trace', '[]', true, 0, '2026-01-01')"
                )
            )
            raise RuntimeError("a failure after the insert")
        with store.read() as conn:
            rows = conn.execute(text("SELECT user_id, success FROM governance_log")).all()
    assert [tuple(r) for r in rows] == [("ana", False)]  # the failed trace's row only


@pytest.mark.engines("postgres")
def test_trace_reads_and_audits_in_one_statement(agent: Agent, store: Store) -> None:
    episode = agent.turn("ana", "I live in Berlin.").episode_id
    assert episode is not None
    gov = Governance(store, agent.settings)
    gov.trace("ana", episode)  # warm the pool: a first connection may run its own setup
    calls: list[list[str]] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        calls[-1].append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        for ident in (episode, episode + 1000):
            calls.append([])
            gov.trace("ana", ident)
    finally:
        event.remove(store.engine, "before_cursor_execute", count)

    found, missing = calls
    assert len(found) == 1 and "INSERT INTO governance_log" in found[0]  # one round trip
    assert len(missing) == 2 and missing[0] == found[0]  # then the failure's own row
    with store.read() as conn:
        rows = conn.execute(
            text("SELECT success, error, latency_ms FROM governance_log ORDER BY id")
        ).all()
    assert [tuple(r[:2]) for r in rows] == [
        (True, None),
        (True, None),
        (False, f"No episode {episode + 1000}."),
    ]
    assert all(r[2] > 0 for r in rows)
