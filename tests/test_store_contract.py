"""The store contract on both engines: the same turns give the same memory."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from memwarden.agent import Agent
from memwarden.errors import LLMUnavailable
from memwarden.llm import DraftContext
from memwarden.memory.beliefs import history, list_beliefs
from memwarden.memory.tasks import list_events
from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.migrate import head_revision

pytestmark = pytest.mark.engines

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


def test_contract_turn_supersedes_and_recalls(agent: Agent) -> None:
    agent.turn("ana", "My name is Ana and I live in Porto.")
    agent.turn("ana", "I moved to Berlin last month.")
    answer = agent.turn("ana", "Where do I live?")

    assert answer.reply == "You told me that you live in Berlin."
    assert any(m.kind == "belief" and "Berlin" in m.text for m in answer.recalled)
    with agent.store.read() as conn:
        location = next(b for b in list_beliefs(conn, "ana") if b.key == "location")
        changes = [(h.change, h.old_value, h.new_value) for h in history(conn, "ana", location.id)]
    assert changes == [("created", None, "Porto"), ("updated", "Porto", "Berlin")]


def test_contract_recall_is_scoped_to_user(agent: Agent) -> None:
    agent.turn("ana", "I adore sailing on the river.")
    result = agent.turn("bob", "Tell me about sailing on the river.")
    assert result.recalled == ()


def test_contract_tasks_with_events(agent: Agent) -> None:
    created = agent.turn("ana", "Remind me to call the bank.")
    agent.turn("ana", "/task done 1")
    with agent.store.read() as conn:
        events = [(e.event, e.episode_id) for e in list_events(conn, "ana")]
    assert events == [("completed", None), ("created", created.episode_id)]


class _DownLLM:
    name = "down"

    def generate_draft(
        self, user_input: str, context: DraftContext, extra_context: str | None = None
    ) -> str:
        raise LLMUnavailable("LLM server unreachable")


def test_contract_failed_turn_stores_nothing(settings: Settings) -> None:
    with Agent.open(settings, llm=_DownLLM()) as agent:
        with pytest.raises(LLMUnavailable):
            agent.turn("ana", "I live in Porto. Remind me to pack.")
        with agent.store.read() as conn:
            counts = [conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar() for t in TABLES]
    assert counts == [0] * len(TABLES)


def test_contract_schema_at_head(settings: Settings) -> None:
    store = Store.open(settings)
    try:
        store.require_head()  # raises SchemaError when behind
        assert store.revision() == head_revision()
    finally:
        store.close()


@pytest.mark.engines("postgres")
def test_migrate_postgres_pages_per_user_tables_by_user_and_id(store: Store) -> None:
    # Migration 0009: a prepared statement's generic plan pages these by (user_id, id),
    # not by walking the primary key through everyone's rows.
    with store.read() as conn:
        definitions = dict(
            conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN "
                    "('ix_risk_log_user_id', 'ix_governance_log_user_id')"
                )
            ).all()
        )
    assert set(definitions) == {"ix_risk_log_user_id", "ix_governance_log_user_id"}
    assert all(d.endswith("(user_id, id)") for d in definitions.values()), definitions


@pytest.mark.engines("postgres")
def test_search_postgres_is_never_a_prepared_statement(agent: Agent) -> None:
    # Its best plan depends on the user's size and the words' frequency, which a
    # prepared statement's generic plan ignores (store/search.py).  psycopg prepares a
    # statement after five runs on a connection; a pool of one keeps them on one.
    agent.turn("ana", "I adore sailing on the river near Porto.")
    store = Store.open(Settings(db=agent.settings.db, pool_size=1, max_overflow=0))
    try:
        with store.read() as conn:
            for _ in range(8):
                assert store.search.search_episodes(conn, "ana", ["sailing"], 5)
                assert store.search.search_episode_terms(conn, "ana", ["river"], 5) != [[]]
                conn.execute(text("SELECT count(*) FROM episodes WHERE user_id = :u"), {"u": "x"})
            prepared = conn.execute(text("SELECT statement FROM pg_prepared_statements")).all()
        statements = [s for (s,) in prepared]
        assert any("count(*) FROM episodes" in s for s in statements)  # psycopg prepares
        assert not any("ts_rank_cd" in s for s in statements), statements
    finally:
        store.close()


def test_read_sees_one_snapshot_across_statements(store: Store, agent: Agent) -> None:
    # An export's sections are separate statements of one read: a turn committed in
    # between must not show in the later ones (PostgreSQL: REPEATABLE READ).
    agent.turn("ana", "I adore sailing on the river.")
    count = text("SELECT count(*) FROM episodes WHERE user_id = 'ana'")
    with store.read() as conn:
        before = conn.execute(count).scalar_one()
        agent.turn("ana", "I moved to Berlin.")  # another connection, committed
        during = conn.execute(count).scalar_one()
    with store.read() as conn:
        after = conn.execute(count).scalar_one()
    assert (before, during, after) == (1, 1, 2)
