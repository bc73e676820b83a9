"""Dense recall on PostgreSQL without pgvector: the user's vectors, scored in process.

The server here has no pgvector, so memwarden keeps sentence vectors as ``bytea`` rows of
``memory_vectors`` and scores all of the querying user's vectors with one matrix
product (the same path as on SQLite, docs/scaling.md).  These tests use the real MiniLM
encoder of the ``[embeddings]`` extra and skip, saying why, when it is not installed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import text

from memwarden.agent import Agent
from memwarden.memory.embeddings import Embedder, embedder_for
from memwarden.memory.ingest import Turn, ingest_turns
from memwarden.memory.recall import recall
from memwarden.settings import Settings
from memwarden.store import Store

from .postgres import fresh_database

pytestmark = pytest.mark.postgres

np = pytest.importorskip("numpy", reason="dense recall needs the [embeddings] extra (numpy)")

KITTEN = "We adopted a kitten from the shelter on Saturday."
OTHERS = [
    "The train to work was late again.",
    "I baked sourdough bread this morning.",
    "My knee hurts after the football match.",
    "The quarterly budget meeting ran long.",
    "We planted tomatoes in the garden.",
]
QUESTION = "How is my new pet cat doing?"  # no word in common with KITTEN


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    yield from fresh_database()


@pytest.fixture(scope="module")
def embedder(url: str) -> Embedder:
    loaded = embedder_for(Settings(db=url, embeddings=True))
    if loaded is None:
        pytest.skip("the embeddings runtime ([embeddings] extra) is not installed")
    return loaded


@pytest.fixture
def store(url: str) -> Iterator[Store]:
    store = Store.open(Settings(db=url))
    yield store
    with store.write() as conn:
        conn.execute(text("TRUNCATE episodes, semantic_beliefs RESTART IDENTITY CASCADE"))
    store.close()


def test_dense_recall_postgres_finds_paraphrase_lexical_misses(
    store: Store, embedder: Embedder
) -> None:
    ids = ingest_turns(store, "ana", [Turn(t) for t in [KITTEN, *OTHERS]], embedder=embedder)
    with store.read() as conn:
        lexical = recall(conn, store.search, "ana", QUESTION, episodes=3, beliefs=0)
        dense = recall(
            conn, store.search, "ana", QUESTION, episodes=3, beliefs=0, embedder=embedder
        )
    assert ids[0] not in [m.id for m in lexical]
    assert dense[0].id == ids[0]
    assert dense[0].lexical == 0 and dense[0].dense is not None and dense[0].dense > 0.3
    assert all(m.dense is not None and m.dense < dense[0].dense for m in dense[1:])


def test_dense_recall_postgres_scores_only_users_vectors(store: Store, embedder: Embedder) -> None:
    ana = ingest_turns(store, "ana", [Turn(t) for t in OTHERS], embedder=embedder)
    ingest_turns(store, "bob", [Turn(KITTEN)], embedder=embedder)
    with store.read() as conn:
        found = recall(
            conn, store.search, "ana", QUESTION, episodes=10, beliefs=10, embedder=embedder
        )
    assert found and {m.id for m in found} <= set(ana)


def test_turn_postgres_recalls_paraphrase_through_agent(url: str, embedder: Embedder) -> None:
    with Agent.open(Settings(db=url, embeddings=True)) as agent:
        told = agent.turn("cleo", KITTEN)
        for other in OTHERS:
            agent.turn("cleo", other)
        asked = agent.turn("cleo", QUESTION)
    assert told.episode_id is not None
    recalled = [m for m in asked.recalled if m.kind == "episode"]
    assert recalled and recalled[0].id == told.episode_id


def test_restated_belief_postgres_gets_vector_of_new_statement(
    url: str, embedder: Embedder
) -> None:
    # Same value (casefolded), new wording: the belief is confirmed, and its vector must
    # be of the statement it now has (SQLite drops the old one by trigger; PostgreSQL in
    # code).  The encoder lowercases, so only a casefold-only match ("ß", "SS") differs.
    with Agent.open(Settings(db=url, embeddings=True)) as agent:
        agent.turn("dana", "I live in Straße.")
        agent.turn("dana", "I live in STRASSE.")
        with agent.store.read() as conn:
            belief_id, statement = conn.execute(
                text("SELECT id, statement FROM semantic_beliefs WHERE user_id = 'dana'")
            ).one()
            blobs = (
                conn.execute(
                    text("SELECT vector FROM memory_vectors WHERE belief_id = :b"), {"b": belief_id}
                )
                .scalars()
                .all()
            )
    assert statement == "User lives in STRASSE"
    assert len(blobs) == 1
    stored = np.frombuffer(bytes(blobs[0]), dtype="<f4")
    new, old = embedder.embed([statement, "User lives in Straße"])
    assert float(stored @ new) > 0.98 > 0.8 > float(stored @ old)
