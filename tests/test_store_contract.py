"""The store contract on both engines: the same turns give the same memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from memwarden.agent import Agent
from memwarden.errors import LLMUnavailable
from memwarden.llm import DraftContext
from memwarden.memory.beliefs import history, list_beliefs
from memwarden.memory.tasks import list_events
from memwarden.settings import Settings
from memwarden.store import Store

from .postgres import fresh_database

TABLES = (
    "governance_log",
    "task_events",
    "tasks",
    "belief_history",
    "belief_sources",
    "semantic_beliefs",
    "risk_log",
    "episodes",
)


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    yield from fresh_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(db=str(tmp_path / "contract.db"))
        return
    url = request.getfixturevalue("pg_url")
    settings = Settings(db=url)
    yield settings
    store = Store.open(settings)
    with store.write() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    store.close()


@pytest.fixture
def contract_agent(engine_settings: Settings) -> Iterator[Agent]:
    with Agent.open(engine_settings) as agent:
        yield agent


def test_contract_turn_supersedes_and_recalls(contract_agent: Agent) -> None:
    contract_agent.turn("ana", "My name is Ana and I live in Porto.")
    contract_agent.turn("ana", "I moved to Berlin last month.")
    answer = contract_agent.turn("ana", "Where do I live?")

    assert answer.reply == "You told me that you live in Berlin."
    assert any(m.kind == "belief" and "Berlin" in m.text for m in answer.recalled)
    with contract_agent.store.read() as conn:
        location = next(b for b in list_beliefs(conn, "ana") if b.key == "location")
        changes = [(h.change, h.old_value, h.new_value) for h in history(conn, "ana", location.id)]
    assert changes == [("created", None, "Porto"), ("updated", "Porto", "Berlin")]


def test_contract_recall_is_scoped_to_user(contract_agent: Agent) -> None:
    contract_agent.turn("ana", "I adore sailing on the river.")
    result = contract_agent.turn("bob", "Tell me about sailing on the river.")
    assert result.recalled == ()


def test_contract_tasks_with_events(contract_agent: Agent) -> None:
    created = contract_agent.turn("ana", "Remind me to call the bank.")
    contract_agent.turn("ana", "/task done 1")
    with contract_agent.store.read() as conn:
        events = [(e.event, e.episode_id) for e in list_events(conn, "ana")]
    assert events == [("completed", None), ("created", created.episode_id)]


class _DownLLM:
    name = "down"

    def generate_draft(
        self, user_input: str, context: DraftContext, extra_context: str | None = None
    ) -> str:
        raise LLMUnavailable("LLM server unreachable")


def test_contract_failed_turn_stores_nothing(engine_settings: Settings) -> None:
    with Agent.open(engine_settings, llm=_DownLLM()) as agent:
        with pytest.raises(LLMUnavailable):
            agent.turn("ana", "I live in Porto. Remind me to pack.")
        with agent.store.read() as conn:
            counts = [conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in TABLES]
    assert counts == [0] * len(TABLES)


def test_contract_schema_at_head(engine_settings: Settings) -> None:
    store = Store.open(engine_settings)
    store.require_head()
    store.close()
