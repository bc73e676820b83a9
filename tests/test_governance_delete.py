"""/delete_episode and /delete_belief: hard, cascading, atomic, and down to the disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memwarden.agent import Agent
from memwarden.memory.recall import recall
from memwarden.store.search import fts5_phrase
from memwarden.store.textindex import query_tokens

from .test_governance_helpers import audit, connect, count, disk_bytes, export_document, rows, state

MARKER = "qzxmk7k9w4v8p"  # lower case and Porter-stable: FTS5 stores it as is
TAIL = MARKER[5:].encode()  # survives FTS5's prefix compression of index terms


def _marker_session(agent: Agent) -> int:
    """Ana mentions the marker once: a belief comes only from it, a later turn recalls
    and quotes it, another belief and a task come from it too."""
    agent.turn("ana", "I live in Porto.")
    marked = agent.turn("ana", f"My name is Zed. I moved to Lisbon. {MARKER} zebras are great")
    agent.turn("ana", "zebras again")  # recalls the marked episode and quotes it
    agent.turn("ana", "Remind me to feed the zebras.")
    agent.turn("ana", "Where do I live? What is my name?")
    agent.turn("bob", f"zebras {MARKER}")  # another user's copy of the marker
    assert marked.episode_id is not None
    return marked.episode_id


def test_delete_episode_cascades_and_says_what_went(agent: Agent, db_path: Path) -> None:
    agent.turn("ana", "I live in Porto.")  # 1
    agent.turn("ana", "My name is Zed. I moved to Lisbon. Remind me to pack.")  # 2
    agent.turn("ana", "/task done 1")
    agent.turn("ana", "Where do I live?")  # 3: recalls 2's belief
    before_tasks = rows(db_path, "SELECT id, title, status FROM tasks")

    result = agent.turn("ana", "/delete_episode episode_2")

    assert result.ok, result.reply
    report = result.result
    assert report["episode_id"] == 2 and report["risk_log_rows"] == 1
    assert [(b["id"], b["key"]) for b in report["beliefs_deleted"]] == [(2, "name")]
    assert report["beliefs_detached"] == [{"id": 1, "key": "location", "reverted": True}]
    assert report["tasks_kept"] == [{"id": 1, "title": "Pack"}]
    assert report["task_events_unlinked"] == 1  # "created"; "completed" came from /task done
    assert report["checkpoint"]["complete"] is True
    assert "Deleted episode 2 and its 1 risk_log row." in result.reply
    assert "only source of: 2 (name)" in result.reply
    assert "1 (location, reverted to its previous value)" in result.reply
    assert 'Kept 1 task you asked for in it (1 "Pack")' in result.reply
    assert count(db_path, "episodes", "id = 2") == 0
    assert count(db_path, "risk_log", "episode_id = 2") == 0
    assert count(db_path, "belief_history", "episode_id = 2") == 0
    assert count(db_path, "belief_sources", "episode_id = 2") == 0
    assert rows(db_path, "SELECT key, value, statement, version FROM semantic_beliefs") == [
        ("location", "Porto", "User lives in Porto", 3)
    ]
    assert rows(db_path, "SELECT change, old_value, new_value FROM belief_history") == [
        ("created", None, "Porto")
    ]
    assert rows(db_path, "SELECT id, title, status FROM tasks") == before_tasks
    assert rows(db_path, "SELECT source_episode_id FROM tasks") == [(None,)]
    assert count(db_path, "risk_log", "episode_id NOT IN (SELECT id FROM episodes)") == 0


def test_delete_episode_belief_with_other_sources_keeps_them(agent: Agent, db_path: Path) -> None:
    agent.turn("ana", "I live in Porto.")
    agent.turn("ana", "I live in Porto, still.")
    result = agent.governance.delete_episode("ana", 2)
    assert result.ok and result.result is not None
    assert [(b.id, b.reverted) for b in result.result.beliefs_detached] == [(1, False)]
    assert rows(db_path, "SELECT episode_id FROM belief_sources") == [(1,)]
    assert rows(db_path, "SELECT value FROM semantic_beliefs") == [("Porto",)]


def test_delete_episode_mends_the_history_chain(agent: Agent, db_path: Path) -> None:
    for city in ("Porto", "Berlin", "Lisbon"):
        agent.turn("ana", f"I live in {city}.")
    assert agent.governance.delete_episode("ana", "2").ok
    assert rows(db_path, "SELECT change, old_value, new_value FROM belief_history ORDER BY id") == [
        ("created", None, "Porto"),
        ("updated", "Porto", "Lisbon"),
    ]
    assert rows(db_path, "SELECT value FROM semantic_beliefs") == [("Lisbon",)]
    assert MARKER.encode() not in disk_bytes(db_path)
    assert b"Berlin" not in disk_bytes(db_path)


def test_delete_episode_text_is_nowhere_not_even_on_disk(agent: Agent, db_path: Path) -> None:
    episode_id = _marker_session(agent)
    assert MARKER.encode() in disk_bytes(db_path)
    quoted = rows(db_path, "SELECT id FROM episodes WHERE reply LIKE ?", f"%{MARKER}%")
    assert quoted and quoted[0][0] > episode_id  # a later reply quoted the marked episode

    result = agent.governance.delete_episode("ana", f"episode_{episode_id}")

    assert result.ok, result.reply
    assert result.result is not None and quoted[0][0] in result.result.episodes_redacted
    wal = db_path.with_name(db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated
    with connect(db_path) as conn:
        tables = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '%fts%'"
        ).fetchall()
        for (table,) in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):
                if "bob" not in row:  # Bob's own copy stays until he deletes it
                    assert MARKER not in repr(row).lower(), (table, row)
        hits = {
            user: conn.execute(
                "SELECT rowid FROM episodes_fts WHERE episodes_fts MATCH ?",
                (fts5_phrase(query_tokens(user, [MARKER])[0]),),
            ).fetchall()
            for user in ("ana", "bob")
        }
    assert hits == {"ana": [], "bob": [(6,)]}
    assert agent.governance.delete_episode("bob", 6).ok
    data = disk_bytes(db_path)
    assert MARKER.encode() not in data and TAIL not in data
    with agent.store.read() as conn:
        assert recall(conn, agent.store.search, "ana", MARKER, episodes=5, beliefs=5) == []
    assert MARKER not in json.dumps(export_document(agent.governance, "ana"))


def test_delete_episode_long_text_on_overflow_pages_is_zeroed(agent: Agent, db_path: Path) -> None:
    long_text = " ".join(["filler words about gardens"] * 400) + f" {MARKER}"
    agent.turn("ana", long_text)
    assert agent.governance.delete_episode("ana", 1).ok
    data = disk_bytes(db_path)
    assert MARKER.encode() not in data and TAIL not in data and b"filler words" not in data


def test_delete_episode_without_fts_secure_delete_leaves_tokens(
    agent: Agent, db_path: Path
) -> None:
    """The control: with FTS5 secure-delete off, the index keeps the deleted token on disk
    (so the test above can fail); 'optimize' is the slower way to drop it."""
    with connect(db_path) as conn:
        conn.execute("INSERT INTO episodes_fts(episodes_fts, rank) VALUES ('secure-delete', 0)")
    for i in range(3):
        agent.turn("ana", f"{MARKER} note {i}")
    agent.turn("ana", "unrelated words")
    for i in (1, 2, 3):
        assert agent.governance.delete_episode("ana", i).ok
    assert TAIL in disk_bytes(db_path)
    conn = connect(db_path)
    conn.isolation_level = None
    conn.execute("PRAGMA secure_delete = ON")  # zero the pages the merge frees
    conn.execute("INSERT INTO episodes_fts(episodes_fts) VALUES ('optimize')")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    assert TAIL not in disk_bytes(db_path)


def test_delete_episode_other_users_id_answers_like_a_missing_one(
    agent: Agent, db_path: Path
) -> None:
    agent.turn("ana", "I live in Porto.")
    before = state(db_path)
    theirs = agent.turn("bob", "/delete_episode 1")
    missing = agent.turn("bob", "/delete_episode 2")

    assert not theirs.ok and not missing.ok
    assert theirs.reply == "No episode 1." and missing.reply == "No episode 2."
    assert theirs.result["error"]["kind"] == missing.result["error"]["kind"] == "not_found"
    assert state(db_path) == before
    assert [r[:4] for r in audit(db_path)] == [
        ("bob", "/delete_episode", '["1"]', 0),
        ("bob", "/delete_episode", '["2"]', 0),
    ]


@pytest.mark.parametrize(
    "words",
    [
        "",
        "abc",
        "-1",
        "1.5",
        "99999999999999999999999",
        "1 2",
        "episode_",
        "belief_1",
        "1 now",
        "²",
        "episode_1²",
        "١٢",
    ],
)
def test_delete_episode_bad_input_is_a_usage_error(agent: Agent, db_path: Path, words: str) -> None:
    agent.turn("ana", "I live in Porto.")
    before = state(db_path)
    result = agent.turn("ana", f"/delete_episode {words}".strip())
    assert not result.ok
    assert result.reply.startswith("usage: /delete_episode EPISODE_ID") and "\n" not in result.reply
    assert state(db_path) == before
    assert audit(db_path)[-1][:2] == ("ana", "/delete_episode")
    assert audit(db_path)[-1][3] == 0


@pytest.mark.parametrize(
    ("trigger", "table"),
    [
        ("BEFORE DELETE ON episodes", "episodes"),  # the very last step
        ("BEFORE UPDATE ON tasks", "tasks"),
        ("BEFORE DELETE ON semantic_beliefs", "semantic_beliefs"),
        ("BEFORE UPDATE ON episodes", "episodes"),  # redacting a later episode
        ("AFTER DELETE ON risk_log", "risk_log"),  # the very first step
    ],
)
def test_delete_episode_failure_half_way_changes_nothing(
    agent: Agent, db_path: Path, trigger: str, table: str
) -> None:
    agent.turn("ana", "I live in Porto.")
    agent.turn("ana", "My name is Zed. Remind me to pack. zebras")
    agent.turn("ana", "zebras")
    with connect(db_path) as conn:
        conn.execute(f"CREATE TRIGGER boom {trigger} BEGIN SELECT RAISE(ABORT, 'injected'); END")
    before = state(db_path)

    result = agent.governance.delete_episode("ana", 2)

    assert not result.ok and result.error_kind == "store"
    assert result.reply == "The command failed and nothing was changed: injected"
    assert state(db_path) == before
    assert audit(db_path)[-1] == ("ana", "/delete_episode", '["2"]', 0, result.reply)
    with connect(db_path) as conn:
        conn.execute("DROP TRIGGER boom")
    assert agent.governance.delete_episode("ana", 2).ok


def test_delete_belief_removes_history_and_sources(agent: Agent, db_path: Path) -> None:
    agent.turn("ana", "I live in Porto.")
    agent.turn("ana", "I moved to Berlin.")
    agent.turn("ana", "My name is Zed.")

    result = agent.turn("ana", "/delete_belief belief_1")

    assert result.ok, result.reply
    assert result.result["key"] == "location" and result.result["history_rows"] == 2
    assert result.result["source_episodes"] == [1, 2]
    assert "Deleted belief 1 (location) with its 2 history entries" in result.reply
    assert count(db_path, "semantic_beliefs", "id = 1") == 0
    assert count(db_path, "belief_history", "belief_id = 1") == 0
    assert count(db_path, "belief_sources", "belief_id = 1") == 0
    assert count(db_path, "episodes") == 3  # the episodes stay
    assert b"User lives in Berlin" not in disk_bytes(db_path)
    again = agent.turn("ana", "I live in Porto.")
    assert [b.change for b in again.beliefs] == ["created"]  # may come back, as expected


def test_delete_belief_two_users_and_bad_input(agent: Agent, db_path: Path) -> None:
    agent.turn("ana", "I live in Porto.")
    before = state(db_path)
    theirs = agent.governance.delete_belief("bob", "belief_1")
    missing = agent.governance.delete_belief("bob", 7)
    assert (theirs.reply, missing.reply) == ("No belief 1.", "No belief 7.")
    for words in ("", "x", "1 2", "episode_1", "1" * 30):
        bad = agent.turn("ana", f"/delete_belief {words}".strip())
        assert not bad.ok and bad.reply.startswith("usage: /delete_belief BELIEF_ID")
    assert state(db_path) == before
    assert [r[3] for r in audit(db_path)] == [0] * 7


def test_delete_episode_removes_derived_vectors(agent: Agent, db_path: Path) -> None:
    """Sentence vectors are derived from the text: they go too (by ON DELETE CASCADE for
    the episode and its only-source beliefs, by trigger for a reverted belief)."""
    tables = {r[0] for r in rows(db_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "memory_vectors" not in tables:
        pytest.skip("this schema has no memory_vectors table")
    agent.turn("ana", "I live in Porto.")  # episode 1, belief 1
    agent.turn("ana", "My name is Zed. I moved to Berlin.")  # episode 2, belief 2; 1 updated
    if count(db_path, "memory_vectors") == 0:
        pytest.skip("embeddings are off")
    assert agent.governance.delete_episode("ana", 2).ok
    assert count(db_path, "memory_vectors", "episode_id = 2 OR belief_id = 2") == 0
    assert count(db_path, "memory_vectors", "belief_id = 1") == 0  # "lives in Berlin" is stale
    assert count(db_path, "memory_vectors", "episode_id = 1") == 1
