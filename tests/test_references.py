"""episode_recalls: what each turn recalled, written with the turn, backfilled by 0006."""

from __future__ import annotations

import json

import pytest

from memwarden.agent import Agent
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


def test_turn_records_each_recalled_memory_once(agent: Agent, db: TestDatabase) -> None:
    _session(agent)

    refs = db.rows(REFS)
    traces = {
        int(e): t for e, t in db.rows("SELECT id, trace FROM episodes WHERE trace IS NOT NULL")
    }
    expected = sorted(
        (e, u, m["kind"], m["id"])
        for e, u in db.rows("SELECT id, user_id FROM episodes")
        for m in json.loads(traces[int(e)])["recalled"]
    )
    assert [tuple(r) for r in refs] == expected
    assert {r[2] for r in refs} == {"episode", "belief"}
    owners = dict(db.rows("SELECT id, user_id FROM episodes"))
    assert all(owners[e] == u for e, u, kind, _ in refs if kind == "episode")


def test_migration_0006_backfills_what_turns_record(agent: Agent, db: TestDatabase) -> None:
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

    assert db.rows(REFS) == [r for r in recorded if r[0] != broken]  # not JSON: no rows


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
