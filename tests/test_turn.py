"""The turn pipeline end to end on a real SQLite file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from memwarden.agent import Agent
from memwarden.errors import InputError, LLMUnavailable
from memwarden.llm import DraftContext
from memwarden.settings import Settings


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_turn_stores_episode_risk_row_and_belief(agent: Agent, db_path: Path) -> None:
    result = agent.turn("ana", "Hi! My name is Ana and I live in Porto.")

    assert result.episode_id is not None
    assert result.action == "NONE"
    assert result.draft_total_score == 0.0
    assert "Porto" in result.reply
    assert {b.key for b in result.beliefs} == {"name", "location"}
    with sqlite3.connect(db_path) as conn:
        row = conn.execute(
            "SELECT user_id, user_input, reply, action, draft_total_score FROM episodes WHERE id = ?",
            (result.episode_id,),
        ).fetchone()
        risk = conn.execute(
            "SELECT episode_id, draft_total_score, action, scores FROM risk_log"
        ).fetchall()
    assert row == ("ana", "Hi! My name is Ana and I live in Porto.", result.reply, "NONE", 0.0)
    assert risk == [(result.episode_id, 0.0, "NONE", "{}")]


def test_turn_recalls_memory_and_answers_from_it(agent: Agent) -> None:
    agent.turn("ana", "I live in Porto.")
    result = agent.turn("ana", "Where do I live?")

    assert result.reply == "You told me that you live in Porto."
    kinds = {(m.kind, m.text) for m in result.recalled}
    assert ("belief", "User lives in Porto") in kinds
    assert all(0.0 <= m.score <= 1.0 for m in result.recalled)


def test_turn_recall_never_crosses_users(agent: Agent) -> None:
    agent.turn("ana", "I live in Porto and I love sailing.")
    result = agent.turn("bob", "Where do I live? Do I love sailing?")

    assert result.recalled == ()
    assert "Porto" not in result.reply


def test_turn_logs_episode_line(agent: Agent, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    logging.getLogger("memwarden").propagate = True
    with caplog.at_level(logging.INFO, logger="memwarden"):
        result = agent.turn("ana", "hello")
    assert f"Episode {result.episode_id} created (score: 0.0, action: NONE)" in caplog.text


def test_turn_rejects_empty_text_and_user(agent: Agent, db_path: Path) -> None:
    with pytest.raises(InputError):
        agent.turn("ana", "   ")
    with pytest.raises(InputError):
        agent.turn("", "hello")
    with pytest.raises(InputError):
        agent.turn("ana", "x" * 20_001)
    assert _count(db_path, "episodes") == 0


class _FailingLLM:
    name = "failing"

    def generate_draft(
        self, user_input: str, context: DraftContext, extra_context: str | None = None
    ) -> str:
        raise LLMUnavailable("LLM server unreachable: connection refused")


def test_turn_rolls_back_when_llm_fails(settings: Settings, db_path: Path) -> None:
    with Agent.open(settings) as ok_agent:
        ok_agent.turn("ana", "I live in Porto.")
    before = {t: _count(db_path, t) for t in ("episodes", "risk_log", "semantic_beliefs", "tasks")}

    with Agent.open(settings, llm=_FailingLLM()) as agent, pytest.raises(LLMUnavailable):
        agent.turn("ana", "I moved to Berlin. Remind me to buy boxes.")

    after = {t: _count(db_path, t) for t in before}
    assert after == before
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT value FROM semantic_beliefs").fetchall() == [("Porto",)]


def test_turn_rolls_back_whole_write_when_store_fails(agent: Agent, db_path: Path) -> None:
    # A trigger makes the task insert fail after the episode, risk row and belief were
    # written in the same transaction: none of them may survive.
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON tasks BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )
    from memwarden.errors import StoreError

    with pytest.raises(StoreError):
        agent.turn("ana", "I live in Porto. Remind me to call the bank.")
    for table in ("episodes", "risk_log", "semantic_beliefs", "belief_history", "tasks"):
        assert _count(db_path, table) == 0, table
    with sqlite3.connect(db_path) as conn:
        hits = conn.execute("SELECT COUNT(*) FROM episodes_fts")
        assert hits.fetchone()[0] == 0


def test_turn_trace_json_records_recall_and_timings(agent: Agent, db_path: Path) -> None:
    agent.turn("ana", "I love hiking in the mountains.")
    result = agent.turn("ana", "Any hiking ideas?")
    with sqlite3.connect(db_path) as conn:
        trace = json.loads(
            conn.execute(
                "SELECT trace FROM episodes WHERE id = ?", (result.episode_id,)
            ).fetchone()[0]
        )
    # The store stage is still running when the trace is written, so it is not in it.
    assert {"extract_ms", "recall_ms", "draft_ms", "gate_ms"} <= set(trace["timings_ms"])
    assert any("hiking" in m["matched"] for m in trace["recalled"])
    assert trace["drafts"][0]


def test_command_unknown_answers_without_episode(agent: Agent, db_path: Path) -> None:
    result = agent.turn("ana", "/frobnicate now")
    assert result.episode_id is None
    assert not result.ok
    assert "unknown command /frobnicate" in result.reply
    assert _count(db_path, "episodes") == 0


def test_turn_stores_no_secret_from_user_or_draft(agent: Agent, db_path: Path) -> None:
    card = "4111 1111 1111 1111"
    result = agent.turn("ana", f"My card number is {card}, remind me to pay the bill with it.")
    raw = b"".join(p.read_bytes() for p in db_path.parent.glob("memwarden.db*"))
    assert card.encode() not in raw
    assert card.replace(" ", "").encode() not in raw
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute("SELECT user_input FROM episodes").fetchone()[0]
    assert "remind me to pay the bill" in stored
    assert card not in result.reply


class _CountingEmbedder:
    """Deterministic vectors (one dimension per word hash), counting its calls."""

    model = "test/counting"
    dim = 32

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts: Sequence[str]) -> Any:
        import numpy as np

        self.calls.append(list(texts))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, sum(word.encode()) % self.dim] += 1.0
            out[row] /= np.linalg.norm(out[row]) or 1.0
        return out


def test_turn_embeds_its_text_once_for_recall_and_the_episode_vector(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("numpy")
    from memwarden.memory import embeddings
    from memwarden.memory.vectors import user_vectors

    embedder = _CountingEmbedder()
    monkeypatch.setattr(embeddings, "_loaded", embedder)
    agent.turn("ana", "My sister Rita plays the cello.")
    result = agent.turn("ana", "Who plays the cello?")

    assert embedder.calls == [["My sister Rita plays the cello."], ["Who plays the cello?"]]
    assert result.timings_ms is not None and "embed_ms" in result.timings_ms
    episodes = [m for m in result.recalled if m.kind == "episode"]
    assert episodes[0].text == "My sister Rita plays the cello." and episodes[0].dense
    with agent.store.read() as conn:
        stored = user_vectors(conn, "ana", embedder.model, embedder.dim)
    assert stored.episode_ids.tolist() == [episodes[0].id, result.episode_id]
    assert (stored.episodes[1] == embedder.embed(["Who plays the cello?"])[0]).all()
