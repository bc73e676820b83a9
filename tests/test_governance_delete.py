"""/delete_episode and /delete_belief: hard, cascading, atomic, and down to the disk."""

from __future__ import annotations

import json

import pytest

from memwarden.agent import Agent
from memwarden.llm import DraftContext
from memwarden.llm.builtin import BuiltinResponder
from memwarden.memory.recall import recall
from memwarden.settings import Settings

from .engines import TestDatabase
from .test_governance_helpers import export_document

pytestmark = pytest.mark.engines

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


def test_delete_episode_cascades_and_says_what_went(agent: Agent, db: TestDatabase) -> None:
    agent.turn("ana", "I live in Porto.")  # 1
    agent.turn("ana", "My name is Zed. I moved to Lisbon. Remind me to pack.")  # 2
    agent.turn("ana", "/task done 1")
    agent.turn("ana", "Where do I live?")  # 3: recalls 2's belief
    before_tasks = db.rows("SELECT id, title, status FROM tasks")

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
    assert db.count("episodes", "id = 2") == 0
    assert db.count("risk_log", "episode_id = 2") == 0
    assert db.count("belief_history", "episode_id = 2") == 0
    assert db.count("belief_sources", "episode_id = 2") == 0
    assert db.rows("SELECT key, value, statement, version FROM semantic_beliefs") == [
        ("location", "Porto", "User lives in Porto", 3)
    ]
    assert db.rows("SELECT change, old_value, new_value FROM belief_history") == [
        ("created", None, "Porto")
    ]
    assert db.rows("SELECT id, title, status FROM tasks") == before_tasks
    assert db.rows("SELECT source_episode_id FROM tasks") == [(None,)]
    assert db.count("risk_log", "episode_id NOT IN (SELECT id FROM episodes)") == 0


def test_delete_episode_belief_with_other_sources_keeps_them(
    agent: Agent, db: TestDatabase
) -> None:
    agent.turn("ana", "I live in Porto.")
    agent.turn("ana", "I live in Porto, still.")
    result = agent.governance.delete_episode("ana", 2)
    assert result.ok and result.result is not None
    assert [(b.id, b.reverted) for b in result.result.beliefs_detached] == [(1, False)]
    assert db.rows("SELECT episode_id FROM belief_sources") == [(1,)]
    assert db.rows("SELECT value FROM semantic_beliefs") == [("Porto",)]


def test_delete_episode_mends_the_history_chain(agent: Agent, db: TestDatabase) -> None:
    for city in ("Porto", "Berlin", "Lisbon"):
        agent.turn("ana", f"I live in {city}.")
    assert agent.governance.delete_episode("ana", "2").ok
    assert db.rows("SELECT change, old_value, new_value FROM belief_history ORDER BY id") == [
        ("created", None, "Porto"),
        ("updated", "Porto", "Lisbon"),
    ]
    assert db.rows("SELECT value FROM semantic_beliefs") == [("Lisbon",)]
    assert not any(
        "Berlin" in repr(row) for t in db.tables() for row in db.rows(f"SELECT * FROM {t}")
    )
    if db.is_sqlite:  # and not on disk either (PostgreSQL keeps dead tuples until VACUUM)
        assert b"Berlin" not in db.disk_bytes()


def test_delete_episode_text_is_nowhere_not_even_on_disk(agent: Agent, db: TestDatabase) -> None:
    episode_id = _marker_session(agent)
    if db.is_sqlite:
        assert MARKER.encode() in db.disk_bytes()
    quoted = db.rows("SELECT id FROM episodes WHERE reply LIKE ?", f"%{MARKER}%")
    assert quoted and quoted[0][0] > episode_id  # a later reply quoted the marked episode

    result = agent.governance.delete_episode("ana", f"episode_{episode_id}")

    assert result.ok, result.reply
    assert result.result is not None and quoted[0][0] in result.result.episodes_redacted
    if db.is_sqlite:
        wal = db.path.with_name(db.path.name + "-wal")
        assert not wal.exists() or wal.stat().st_size == 0  # checkpointed and truncated
    for table in db.tables():
        for row in db.rows(f"SELECT * FROM {table}"):
            if "bob" not in row:  # Bob's own copy stays until he deletes it
                assert MARKER not in repr(row).lower(), (table, row)
    with agent.store.read() as conn:
        hits = {
            user: agent.store.search.search_episodes(conn, user, [MARKER], 5)
            for user in ("ana", "bob")
        }
    [(bobs,)] = db.rows("SELECT id FROM episodes WHERE user_id = 'bob'")
    assert {user: [h[0] for h in found] for user, found in hits.items()} == {
        "ana": [],
        "bob": [bobs],
    }
    assert agent.governance.delete_episode("bob", bobs).ok
    if db.is_sqlite:  # not on disk either (PostgreSQL keeps dead tuples until VACUUM)
        data = db.disk_bytes()
        assert MARKER.encode() not in data and TAIL not in data
    with agent.store.read() as conn:
        assert recall(conn, agent.store.search, "ana", MARKER, episodes=5, beliefs=5) == []
    assert MARKER not in json.dumps(export_document(agent.governance, "ana"))


@pytest.mark.sqlite_only("SQLite's secure_delete zeroes freed pages; PostgreSQL has no such pragma")
def test_delete_episode_long_text_on_overflow_pages_is_zeroed(
    agent: Agent, db: TestDatabase
) -> None:
    long_text = " ".join(["filler words about gardens"] * 400) + f" {MARKER}"
    agent.turn("ana", long_text)
    assert agent.governance.delete_episode("ana", 1).ok
    data = db.disk_bytes()
    assert MARKER.encode() not in data and TAIL not in data and b"filler words" not in data


@pytest.mark.sqlite_only("the control for FTS5's secure-delete option")
def test_delete_episode_without_fts_secure_delete_leaves_tokens(
    agent: Agent, db: TestDatabase
) -> None:
    """The control: with FTS5 secure-delete off, the index keeps the deleted token on disk
    (so the test above can fail); 'optimize' is the slower way to drop it."""
    db.execute("INSERT INTO episodes_fts(episodes_fts, rank) VALUES ('secure-delete', 0)")
    for i in range(3):
        agent.turn("ana", f"{MARKER} note {i}")
    agent.turn("ana", "unrelated words")
    for i in (1, 2, 3):
        assert agent.governance.delete_episode("ana", i).ok
    assert TAIL in db.disk_bytes()
    with db.connect() as conn:
        conn.isolation_level = None
        conn.execute("PRAGMA secure_delete = ON")  # zero the pages the merge frees
        conn.execute("INSERT INTO episodes_fts(episodes_fts) VALUES ('optimize')")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert TAIL not in db.disk_bytes()


def test_delete_episode_other_users_id_answers_like_a_missing_one(
    agent: Agent, db: TestDatabase
) -> None:
    agent.turn("ana", "I live in Porto.")
    before = db.state()
    theirs = agent.turn("bob", "/delete_episode 1")
    missing = agent.turn("bob", "/delete_episode 2")

    assert not theirs.ok and not missing.ok
    assert theirs.reply == "No episode 1." and missing.reply == "No episode 2."
    assert theirs.result["error"]["kind"] == missing.result["error"]["kind"] == "not_found"
    assert db.state() == before
    assert [r[:4] for r in db.audit()] == [
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
def test_delete_episode_bad_input_is_a_usage_error(
    agent: Agent, db: TestDatabase, words: str
) -> None:
    agent.turn("ana", "I live in Porto.")
    before = db.state()
    result = agent.turn("ana", f"/delete_episode {words}".strip())
    assert not result.ok
    assert result.reply.startswith("usage: /delete_episode EPISODE_ID") and "\n" not in result.reply
    assert db.state() == before
    assert db.audit()[-1][:2] == ("ana", "/delete_episode")
    assert db.audit()[-1][3] == 0


def _create_failing_trigger(db: TestDatabase, when: str) -> None:
    """A trigger named ``boom`` that aborts the statement with the message 'injected'."""
    if db.is_sqlite:
        db.execute(f"CREATE TRIGGER boom {when} BEGIN SELECT RAISE(ABORT, 'injected'); END")
        return
    db.execute(
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected'; END $$",
        f"CREATE TRIGGER boom {when} FOR EACH ROW EXECUTE FUNCTION boom()",
    )


@pytest.mark.own_database
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
    agent: Agent, db: TestDatabase, trigger: str, table: str
) -> None:
    agent.turn("ana", "I live in Porto.")
    agent.turn("ana", "My name is Zed. Remind me to pack. zebras")
    agent.turn("ana", "zebras")
    _create_failing_trigger(db, trigger)
    before = db.state()

    result = agent.governance.delete_episode("ana", 2)

    assert not result.ok and result.error_kind == "store"
    assert result.reply == "The command failed and nothing was changed: injected"
    assert db.state() == before
    assert db.audit()[-1] == ("ana", "/delete_episode", '["2"]', 0, result.reply)
    db.execute("DROP TRIGGER boom" + ("" if db.is_sqlite else f" ON {table}"))
    assert agent.governance.delete_episode("ana", 2).ok


def test_delete_belief_removes_history_and_sources(agent: Agent, db: TestDatabase) -> None:
    agent.turn("ana", "I live in Porto.")
    agent.turn("ana", "I moved to Berlin.")
    agent.turn("ana", "My name is Zed.")

    result = agent.turn("ana", "/delete_belief belief_1")

    assert result.ok, result.reply
    assert result.result["key"] == "location" and result.result["history_rows"] == 2
    assert result.result["source_episodes"] == [1, 2]
    assert "Deleted belief 1 (location) with its 2 history entries" in result.reply
    assert db.count("semantic_beliefs", "id = 1") == 0
    assert db.count("belief_history", "belief_id = 1") == 0
    assert db.count("belief_sources", "belief_id = 1") == 0
    assert db.count("episodes") == 3  # the episodes stay
    assert not any("lives in Berlin" in repr(r) for r in db.rows("SELECT * FROM semantic_beliefs"))
    if db.is_sqlite:  # not on disk either
        assert b"User lives in Berlin" not in db.disk_bytes()
    again = agent.turn("ana", "I live in Porto.")
    assert [b.change for b in again.beliefs] == ["created"]  # may come back, as expected


def test_delete_belief_two_users_and_bad_input(agent: Agent, db: TestDatabase) -> None:
    agent.turn("ana", "I live in Porto.")
    before = db.state()
    theirs = agent.governance.delete_belief("bob", "belief_1")
    missing = agent.governance.delete_belief("bob", 7)
    assert (theirs.reply, missing.reply) == ("No belief 1.", "No belief 7.")
    for words in ("", "x", "1 2", "episode_1", "1" * 30):
        bad = agent.turn("ana", f"/delete_belief {words}".strip())
        assert not bad.ok and bad.reply.startswith("usage: /delete_belief BELIEF_ID")
    assert db.state() == before
    assert [r[3] for r in db.audit()] == [0] * 7


def test_delete_episode_removes_derived_vectors(agent: Agent, db: TestDatabase) -> None:
    """Sentence vectors are derived from the text: they go too (by ON DELETE CASCADE for
    the episode and its only-source beliefs, by trigger for a reverted belief)."""
    agent.turn("ana", "I live in Porto.")  # episode 1, belief 1
    agent.turn("ana", "My name is Zed. I moved to Berlin.")  # episode 2, belief 2; 1 updated
    if db.count("memory_vectors") == 0:
        pytest.skip("embeddings are off")
    assert agent.governance.delete_episode("ana", 2).ok
    assert db.count("memory_vectors", "episode_id = 2 OR belief_id = 2") == 0
    assert db.count("memory_vectors", "belief_id = 1") == 0  # "lives in Berlin" is stale
    assert db.count("memory_vectors", "episode_id = 1") == 1


def test_delete_episode_scrubs_a_later_reply_that_quoted_its_belief_unrecalled(
    agent: Agent, db: TestDatabase
) -> None:
    agent.turn("ana", "My name is Anastasia Kowalczyk.")  # 1: the name's only source
    who = agent.turn("ana", "Who am I?")  # 2: answered from the beliefs, recalls nothing
    agent.turn("bob", "My name is Anastasia Kowalczyk.")
    assert "Anastasia Kowalczyk" in who.reply and who.recalled == ()
    # Recorded as drawn on: the reply quotes the belief's value
    assert db.rows("SELECT kind, ref_id FROM episode_recalls WHERE episode_id = 2") == [
        ("belief", 1)
    ]

    result = agent.governance.delete_episode("ana", "1")

    assert result.ok and result.result is not None and result.result.episodes_redacted == [2]
    assert db.rows("SELECT reply FROM episodes WHERE id = 2") == [
        ("You told me that your name is [deleted].",)
    ]
    for table in db.tables():
        for row in db.rows(f"SELECT * FROM {table}"):
            if "bob" not in row:
                assert "Kowalczyk" not in repr(row), (table, row)
    assert "Kowalczyk" not in json.dumps(export_document(agent.governance, "ana"))


def test_delete_episode_scrubs_replaced_values_but_not_a_later_turns_own_words(
    agent: Agent, db: TestDatabase
) -> None:
    agent.turn("ana", "I live in Porto.")  # 1
    moved = agent.turn("ana", "I moved to Berlin.")  # 2: "... (I had Porto before)"
    agent.turn("ana", "Is Porto nice in winter?")  # 3: quotes 1 and 2
    about = agent.turn("ana", "Tell me about Porto.")  # 4: quotes 1 and 3
    assert "(I had Porto before)" in moved.reply
    assert '"I live in Porto."' in about.reply and '"Is Porto nice in winter?"' in about.reply

    result = agent.governance.delete_episode("ana", "1")

    assert result.ok and result.result is not None
    assert result.result.episodes_redacted == [2, 3, 4]
    replies = dict(db.rows("SELECT id, reply FROM episodes"))
    assert replies[2].endswith("(I had [deleted] before).")
    assert "I live in Porto" not in replies[3] + replies[4]
    # Turns 3 and 4 typed "Porto" themselves: their words, and quotes of them, stay.
    assert '"Is Porto nice in winter?"' in replies[4]
    assert db.rows("SELECT user_input FROM episodes WHERE id = 3") == [
        ("Is Porto nice in winter?",)
    ]


def test_delete_belief_scrubs_its_values_from_later_replies_and_traces(
    agent: Agent, db: TestDatabase
) -> None:
    agent.turn("ana", "I work at Acme Rocketworks.")  # 1: the belief's source
    where = agent.turn("ana", "Where do I work?")  # 2: recalls the belief and quotes it
    assert ("belief", 1) in [(m.kind, m.id) for m in where.recalled]
    source_before = db.rows("SELECT user_input, reply FROM episodes WHERE id = 1")

    result = agent.turn("ana", "/delete_belief 1")

    assert result.ok and result.result["episodes_redacted"] == [2]
    assert "Removed its values from the traces and replies of later episodes 2." in result.reply
    assert db.rows("SELECT reply FROM episodes WHERE id = 2") == [
        ("You told me that you work at [deleted].",)
    ]
    [(raw,)] = db.rows("SELECT trace FROM episodes WHERE id = 2")
    [belief] = [m for m in json.loads(raw)["recalled"] if m["kind"] == "belief"]
    assert belief["deleted"] and belief["text"] is None
    assert "Acme" not in raw
    assert db.rows("SELECT user_input, reply FROM episodes WHERE id = 1") == source_before


def test_delete_belief_scrubs_a_value_the_later_turn_typed_only_inside_a_word(
    agent: Agent, db: TestDatabase
) -> None:
    agent.turn("ana", "I live in Paris.")  # 1
    later = agent.turn("ana", "Where do I live? The Parisian cafes are great.")  # 2
    assert "you live in Paris." in later.reply

    result = agent.turn("ana", "/delete_belief 1")

    assert result.ok and result.result["episodes_redacted"] == [2]
    [(reply,)] = db.rows("SELECT reply FROM episodes WHERE id = 2")
    assert "you live in [deleted]." in reply and "Paris." not in reply


class _DeleteWhileDrafting:
    """The built-in responder, but the first draft waits for a delete to commit: the
    race of a reply drafted from a belief another request deletes meanwhile."""

    name = "builtin-racing"

    def __init__(self, other: Agent, user: str, belief: int) -> None:
        self.inner = BuiltinResponder()
        self.other, self.user, self.belief = other, user, belief
        self.deleted = False

    def generate_draft(
        self, user_input: str, context: DraftContext, extra_context: str | None = None
    ) -> str:
        draft = self.inner.generate_draft(user_input, context, extra_context)
        if not self.deleted:
            self.deleted = True
            assert self.other.governance.delete_belief(self.user, self.belief).ok
        return draft


def test_turn_drafted_while_its_belief_is_deleted_is_answered_again(
    agent: Agent, settings: Settings, db: TestDatabase
) -> None:
    agent.turn("ana", "My name is Anastasia Kowalczyk.")
    racing = _DeleteWhileDrafting(agent, "ana", 1)
    with Agent.open(settings, llm=racing) as other:
        result = other.turn("ana", "Who am I?")

    assert racing.deleted and "Kowalczyk" not in result.reply
    assert result.reply.startswith("I don't know that yet")
    for table in db.tables():
        for row in db.rows(f"SELECT * FROM {table}"):
            if table != "episodes" or row[0] != 1:  # Ana's own words in turn 1 stay
                assert "Kowalczyk" not in repr(row), (table, row)


def test_delete_episode_later_json_nested_too_deep_is_scrubbed_as_text(
    agent: Agent, db: TestDatabase
) -> None:
    agent.turn("ana", "I moved to Lisbon, by the old harbour.")  # 1
    agent.turn("ana", "Where do I live?")  # 2: recalls 1
    assert db.count("episode_recalls", "episode_id = 2") > 0
    # JSON nested deeper than Python's decoder goes, quoting episode 1 (a hand edit).
    deep = '{"a": ' * 5000 + '"I moved to Lisbon, by the old harbour."' + "}" * 5000
    db.run("UPDATE episodes SET trace = ? WHERE id = 2", deep)
    db.run("UPDATE risk_log SET details = ? WHERE episode_id = 2", deep)

    result = agent.turn("ana", "/delete_episode 1")

    assert result.ok, result.reply
    assert 2 in result.result["episodes_redacted"]
    (trace,) = db.rows("SELECT trace FROM episodes WHERE id = 2")[0]
    (details,) = db.rows("SELECT details FROM risk_log WHERE episode_id = 2")[0]
    for text_ in (trace, details):
        assert "by the old harbour" not in text_ and "[deleted]" in text_
        assert text_.startswith('{"a": {"a": ')  # the rest of it kept
