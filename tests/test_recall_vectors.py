"""Vectors live and die with their memories, and dense recall reads them (numpy needed)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest

np = pytest.importorskip("numpy")

from memwarden.memory import vectors as vector_cache  # noqa: E402
from memwarden.memory.ingest import Turn, ingest_turns  # noqa: E402
from memwarden.memory.recall import recall  # noqa: E402
from memwarden.memory.vectors import store_belief_vectors, user_vectors  # noqa: E402
from memwarden.store import Store  # noqa: E402


class WordHashEmbedder:
    """Deterministic stand-in: a bag of hashed words, unit length."""

    model = "test/word-hash"
    dim = 64

    def embed(self, texts: Sequence[str]) -> Any:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, hashlib.sha256(word.strip(".,!?").encode()).digest()[0] % self.dim] += 1
            out[row] /= np.linalg.norm(out[row]) or 1.0
        return out


def _count(store: Store, where: str = "1=1") -> int:
    with store.read() as conn:
        return int(
            conn.exec_driver_sql(f"SELECT count(*) FROM memory_vectors WHERE {where}").scalar()
        )


def test_ingest_writes_one_vector_per_episode(store: Store) -> None:
    ids = ingest_turns(
        store, "u", [Turn("red kite"), Turn("blue boat")], embedder=WordHashEmbedder()
    )
    assert _count(store) == 2
    assert _count(store, f"episode_id IN ({ids[0]}, {ids[1]}) AND user_id = 'u'") == 2


def test_delete_episode_removes_its_vector(store: Store) -> None:
    ids = ingest_turns(
        store, "u", [Turn("red kite"), Turn("blue boat")], embedder=WordHashEmbedder()
    )
    with store.write() as conn:
        conn.exec_driver_sql("DELETE FROM episodes WHERE id = ?", (ids[0],))
    assert _count(store, f"episode_id = {ids[0]}") == 0
    assert _count(store) == 1


def test_delete_or_restate_belief_removes_its_vector(agent: Any) -> None:
    agent.turn("ana", "I live in Porto.")
    with agent.store.read() as conn:
        belief_id = conn.exec_driver_sql("SELECT id FROM semantic_beliefs").scalar()
    with agent.store.write() as conn:
        store_belief_vectors(conn, "ana", "test/word-hash", [(belief_id, np.ones(64) / 8)])
        conn.exec_driver_sql(
            "UPDATE semantic_beliefs SET statement = 'User lives in Lisbon' WHERE id = ?",
            (belief_id,),
        )
    assert _count(agent.store, f"belief_id = {belief_id}") == 0
    with agent.store.write() as conn:
        store_belief_vectors(conn, "ana", "test/word-hash", [(belief_id, np.ones(64) / 8)])
        conn.exec_driver_sql("DELETE FROM semantic_beliefs WHERE id = ?", (belief_id,))
    assert _count(agent.store, f"belief_id = {belief_id}") == 0


def test_vector_cache_follows_inserts_and_deletes(store: Store) -> None:
    embedder = WordHashEmbedder()
    vector_cache.clear_cache()
    first = ingest_turns(store, "u", [Turn("red kite"), Turn("blue boat")], embedder=embedder)
    with store.read() as conn:
        assert len(user_vectors(conn, "u", embedder.model, embedder.dim).episode_ids) == 2
    ingest_turns(store, "u", [Turn("green tent")], embedder=embedder)
    with store.read() as conn:
        assert len(user_vectors(conn, "u", embedder.model, embedder.dim).episode_ids) == 3
    with store.write() as conn:
        conn.exec_driver_sql("DELETE FROM episodes WHERE id = ?", (first[0],))
    with store.read() as conn:
        cached = user_vectors(conn, "u", embedder.model, embedder.dim)
    assert first[0] not in cached.positions and len(cached.episode_ids) == 2


def test_dense_recall_reports_lexical_dense_and_fused(store: Store) -> None:
    embedder = WordHashEmbedder()
    day = datetime(2023, 5, 1)
    ids = ingest_turns(
        store,
        "u",
        [Turn("the kite is red", occurred_at=day), Turn("a blue boat", occurred_at=day)],
        embedder=embedder,
    )
    with store.read() as conn:
        found = recall(
            conn, store.search, "u", "red kite", episodes=2, beliefs=0, embedder=embedder
        )
    assert found[0].id == ids[0]
    assert found[0].dense is not None and found[0].dense > 0.5
    assert found[0].lexical > 0 and found[0].fused > found[1].fused


def test_vectors_of_another_user_are_never_read(store: Store) -> None:
    embedder = WordHashEmbedder()
    ingest_turns(store, "ana", [Turn("secret red kite")], embedder=embedder)
    with store.read() as conn:
        assert len(user_vectors(conn, "bob", embedder.model, embedder.dim).episode_ids) == 0
        found = recall(
            conn, store.search, "bob", "red kite", episodes=5, beliefs=5, embedder=embedder
        )
    assert found == []


def test_rewritten_episode_loses_its_vector(store: Store) -> None:
    ids = ingest_turns(
        store, "u", [Turn("my secret plan"), Turn("blue boat")], embedder=WordHashEmbedder()
    )
    with store.write() as conn:
        conn.exec_driver_sql(
            "UPDATE episodes SET user_input = '[redacted]' WHERE id = ?", (ids[0],)
        )
        conn.exec_driver_sql("UPDATE episodes SET trace = '{}' WHERE id = ?", (ids[1],))
    assert _count(store, f"episode_id = {ids[0]}") == 0
    assert _count(store, f"episode_id = {ids[1]}") == 1


def test_vector_cache_after_delete_and_insert_matches_a_fresh_load(store: Store) -> None:
    embedder = WordHashEmbedder()
    vector_cache.clear_cache()
    texts = [Turn("red kite"), Turn("blue boat"), Turn("green tent")]
    ids = ingest_turns(store, "u", texts, embedder=embedder)
    with store.read() as conn:
        user_vectors(conn, "u", embedder.model, embedder.dim)
    with store.write() as conn:
        conn.exec_driver_sql("DELETE FROM episodes WHERE id = ?", (ids[1],))
    more = ingest_turns(store, "u", [Turn("grey owl")], embedder=embedder)
    with store.read() as conn:
        kept = user_vectors(conn, "u", embedder.model, embedder.dim)
        vector_cache.clear_cache()
        fresh = user_vectors(conn, "u", embedder.model, embedder.dim)
    assert kept is not fresh and kept.key == fresh.key
    assert kept.episode_ids.tolist() == fresh.episode_ids.tolist() == [ids[0], ids[2], more[0]]
    assert np.array_equal(kept.episodes, fresh.episodes) and kept.positions == fresh.positions
    assert np.allclose(kept.episodes[1], embedder.embed(["green tent"])[0])


def test_vector_cache_drops_least_recent_users_over_its_budget(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedder = WordHashEmbedder()
    vector_cache.clear_cache()
    held = []
    for user in ("a", "b", "c"):
        ingest_turns(store, user, [Turn("red kite"), Turn("blue boat")], embedder=embedder)
        with store.read() as conn:
            held.append(user_vectors(conn, user, embedder.model, embedder.dim).nbytes)
        if user == "a":  # room for two users like this one
            monkeypatch.setattr(vector_cache, "CACHE_BYTES", 2 * held[0])
    assert held[0] == held[1] == held[2] > 2 * embedder.dim * 4
    assert [user for _, user, _ in vector_cache._cache] == ["b", "c"]
    vector_cache.clear_cache()


def test_delete_episode_drops_the_users_cached_vectors_and_timeline(agent: Any) -> None:
    from memwarden.memory import timeline

    ids = ingest_turns(
        agent.store, "ana", [Turn("red kite"), Turn("blue boat")], embedder=WordHashEmbedder()
    )
    ingest_turns(agent.store, "bob", [Turn("green hat")], embedder=WordHashEmbedder())
    url = agent.store.engine.url.render_as_string(hide_password=True)
    with agent.store.read() as conn:
        for user in ("ana", "bob"):
            user_vectors(conn, user, WordHashEmbedder.model, WordHashEmbedder.dim)
            timeline.timeline(conn, user)

    def cached() -> set[str]:
        users = {k[1] for k in vector_cache._cache if k[0] == url}
        return users | {f"timeline:{k[1]}" for k in timeline._cache if k[0] == url}

    assert cached() == {"ana", "bob", "timeline:ana", "timeline:bob"}
    assert agent.governance.delete_episode("ana", ids[0]).ok
    assert cached() == {"bob", "timeline:bob"}  # Ana's go at once; Bob's stay
