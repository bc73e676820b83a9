"""episode_recalls: what each turn recalled or quoted, written with the turn, backfilled
by migrations 0006 (recalled) and 0011 (quoted)."""

from __future__ import annotations

import json

import pytest

from memwarden.agent import Agent
from memwarden.memory.references import quoted_beliefs, still_there
from memwarden.store.migrate import upgrade

from .engines import TestDatabase
from .migrations import downgrade_to

pytestmark = pytest.mark.engines

REFS = "SELECT episode_id, user_id, kind, ref_id FROM episode_recalls ORDER BY 1, 3, 4"


def _session(agent: Agent) -> None:
    agent.turn("ana", "I live in Porto and I keep bees on the roof.")
    agent.turn("ana", "The bees on the roof made honey this week.")
    agent.turn("ana", "Where do I live, and what do the bees make?")
    agent.turn("bob", "My bees are in Oslo.")
    agent.turn("bob", "Tell me about my bees.")


def test_turn_records_each_recalled_or_quoted_memory_once(agent: Agent, db: TestDatabase) -> None:
    _session(agent)

    refs = db.rows(REFS)
    traces = {
        int(e): t for e, t in db.rows("SELECT id, trace FROM episodes WHERE trace IS NOT NULL")
    }
    recalled = {
        (e, u, m["kind"], m["id"])
        for e, u in db.rows("SELECT id, user_id FROM episodes")
        for m in json.loads(traces[int(e)])["recalled"]
    }
    # Turn 2 recalled episode 1 only, and its reply quotes it: "I live in Porto ...",
    # the words of belief 1.  Quoted, so drawn on.
    assert "Porto" in db.rows("SELECT reply FROM episodes WHERE id = 2")[0][0]
    assert (2, "ana", "belief", 1) not in recalled
    assert [tuple(r) for r in refs] == sorted(recalled | {(2, "ana", "belief", 1)})
    assert {r[2] for r in refs} == {"episode", "belief"}
    owners = dict(db.rows("SELECT id, user_id FROM episodes"))
    assert all(owners[e] == u for e, u, kind, _ in refs if kind == "episode")


def test_migrations_0006_and_0011_backfill_what_turns_record(
    agent: Agent, db: TestDatabase
) -> None:
    _session(agent)
    recorded = db.rows(REFS)
    [(broken,)] = db.rows("SELECT max(id) FROM episodes WHERE user_id = 'ana'")
    db.execute(f"UPDATE episodes SET trace = '{{\"recalled\": [' WHERE id = {broken}")
    [(with_nan,)] = db.rows("SELECT max(episode_id) FROM episode_recalls WHERE user_id = 'bob'")
    db.execute(  # json.dumps writes NaN for a float that is not a number: still read
        "UPDATE episodes SET trace = replace(trace, '\"recalled\": [', "
        f'\'"nan": NaN, "recalled": [\') WHERE id = {with_nan}'
    )
    assert db.rows(f"SELECT 1 FROM episodes WHERE id = {with_nan} AND trace LIKE '%NaN%'")
    downgrade_to(agent.store.engine, "0005")

    upgrade(agent.store.engine)

    # A trace that is not JSON names nothing it recalled; its reply still quotes belief 1.
    assert (broken, "ana", "belief", 1) in recorded
    assert db.rows(REFS) == [r for r in recorded if r[0] != broken or r[2:] == ("belief", 1)]


def test_delete_forgets_references_to_what_it_deleted(agent: Agent, db: TestDatabase) -> None:
    _session(agent)
    [(first,)] = db.rows("SELECT min(id) FROM episodes WHERE user_id = 'ana'")
    assert db.rows(f"SELECT 1 FROM episode_recalls WHERE kind = 'episode' AND ref_id = {first}")

    assert agent.governance.delete_episode("ana", first).ok

    assert not db.rows(f"SELECT 1 FROM episode_recalls WHERE episode_id = {first}")
    assert not db.rows(f"SELECT 1 FROM episode_recalls WHERE kind = 'episode' AND ref_id = {first}")
    beliefs = {b for (b,) in db.rows("SELECT id FROM semantic_beliefs")}
    assert {
        r for (r,) in db.rows("SELECT ref_id FROM episode_recalls WHERE kind = 'belief'")
    } <= beliefs


def test_quoted_beliefs_match_whole_words_of_naming_values() -> None:
    beliefs = [
        (1, "location", "Porto"),
        (2, "employer", "Acme"),
        (3, "preference:tea", "likes"),  # a flag: only its statement counts
        (4, "name", "Al"),  # too short to name anything on its own
    ]
    texts = ["You live in Porto; Acmeville is nearby.", "You likes tea, Al."]
    assert quoted_beliefs(beliefs, texts) == [1]
    assert quoted_beliefs(beliefs, ["User likes tea."]) == [3]
    assert quoted_beliefs(beliefs, ["", "Acme, then Porto."]) == [1, 2]


def test_migration_0011_links_a_belief_quoted_only_in_a_rewritten_draft(
    agent: Agent, db: TestDatabase
) -> None:
    agent.turn("ana", "I work at Acme Rocketworks.")
    joke = agent.turn("ana", "Hello!")  # recalls and quotes nothing
    [(raw,)] = db.rows("SELECT trace FROM episodes WHERE id = ?", joke.episode_id)
    trace = json.loads(raw)
    trace["drafts"].append("Ask your colleagues at Acme Rocketworks for one.")
    db.run("UPDATE episodes SET trace = ? WHERE id = ?", json.dumps(trace), joke.episode_id)
    assert not db.rows("SELECT 1 FROM episode_recalls WHERE episode_id = ?", joke.episode_id)
    downgrade_to(agent.store.engine, "0010")

    upgrade(agent.store.engine)

    assert db.rows(
        "SELECT kind, ref_id FROM episode_recalls WHERE episode_id = ?", joke.episode_id
    ) == [("belief", 1)]


def test_still_there_counts_only_the_users_own_memories(agent: Agent) -> None:
    agent.turn("ana", "I live in Porto.")  # episode 1, belief 1
    bob = agent.turn("bob", "I live in Oslo.")
    assert bob.episode_id is not None
    with agent.store.read() as conn:
        assert still_there(conn, "ana", [("episode", 1), ("belief", 1)])
        assert still_there(conn, "ana", [])
        assert not still_there(conn, "ana", [("episode", 1), ("episode", bob.episode_id)])
        assert not still_there(conn, "bob", [("belief", 1)])
        assert not still_there(conn, "ana", [("belief", 99)])
