"""Ids in per-user blocks (store/blocks.py): a user's rows lie together in SQLite."""

from __future__ import annotations

import pytest

from memwarden.agent import Agent
from memwarden.store.blocks import BLOCK, next_in_block
from memwarden.store.migrate import upgrade

from .engines import TestDatabase
from .migrations import downgrade_to


def test_next_in_block_continues_inside_the_block() -> None:
    assert next_in_block(None, None) == 1
    assert next_in_block(1, 700) == 2
    assert next_in_block(BLOCK - 1, 700) == BLOCK


def test_next_in_block_opens_a_new_block_above_the_table() -> None:
    assert next_in_block(None, 5) == BLOCK + 1  # a new user never joins another's block
    assert next_in_block(BLOCK, BLOCK) == BLOCK + 1  # the block is full
    assert next_in_block(BLOCK, 3 * BLOCK + 7) == 4 * BLOCK + 1
    assert next_in_block(None, 2 * BLOCK) == 2 * BLOCK + 1  # exactly at a block's end


@pytest.mark.sqlite_only("PostgreSQL keeps its sequences: its heap is in insertion order")
def test_turns_of_interleaved_users_fill_their_own_blocks(agent: Agent, db: TestDatabase) -> None:
    for i in range(6):
        for user in ("ana", "bob", "cy"):
            agent.turn(user, f"note {i} for {user}: the museum opens at nine")

    rows = db.rows("SELECT user_id, id FROM episodes ORDER BY id")
    owners: dict[int, set[str]] = {}
    for user, episode_id in rows:
        owners.setdefault((episode_id - 1) // BLOCK, set()).add(user)
    assert sorted(len(users) for users in owners.values()) == [1, 1, 1]
    for user in ("ana", "bob", "cy"):
        ids = [i for u, i in rows if u == user]
        assert ids == list(range(ids[0], ids[0] + 6))  # adjacent, in turn order
    risk = db.rows("SELECT r.id, e.id FROM risk_log r JOIN episodes e ON e.id = r.episode_id")
    assert len(risk) == 18 and all(r == e for r, e in risk)  # the same rule, the same ids


@pytest.mark.sqlite_only("PostgreSQL's sequences never hand an id out twice")
def test_turn_after_deleting_the_newest_never_gets_its_id(agent: Agent, db: TestDatabase) -> None:
    first = agent.turn("ana", "the dentist is on Monday").episode_id
    second = agent.turn("ana", "the dentist is at nine").episode_id
    agent.turn("bob", "my sister plays the piano")
    assert first is not None and second == first + 1
    assert agent.governance.delete_episode("ana", second).ok
    assert agent.governance.delete_episode("ana", first).ok  # ana has no episode left

    again = agent.turn("ana", "the dentist moved to Tuesday").episode_id

    assert again == second + 1  # in ana's block, above every id she ever had
    retried = agent.governance.delete_episode("ana", second)  # a client's retry
    assert not retried.ok and db.rows("SELECT id FROM episodes WHERE id = ?", again)


@pytest.mark.sqlite_only("PostgreSQL's sequences never hand an id out twice")
def test_delete_marks_only_the_users_newest_episode(agent: Agent, db: TestDatabase) -> None:
    ids = [agent.turn("ana", f"the museum opens at {k}").episode_id for k in range(4)]
    assert None not in ids

    assert agent.governance.delete_episode("ana", ids[1]).ok  # older than ids[2], ids[3]
    assert db.rows("SELECT last_id FROM episode_id_marks") == []
    assert agent.governance.delete_episode("ana", ids[3]).ok  # her newest
    assert db.rows("SELECT last_id FROM episode_id_marks") == [(ids[3],)]
    assert agent.governance.delete_episode("ana", ids[2]).ok  # newest left, below the mark
    assert agent.governance.delete_episode("ana", ids[0]).ok
    assert db.rows("SELECT last_id FROM episode_id_marks") == [(ids[3],)]  # never lowered

    again = agent.turn("ana", "the museum moved").episode_id
    assert again == ids[3] + 1  # above every id she ever had


@pytest.mark.sqlite_only("ids written before blocks are SQLite's rowids, interleaved by user")
def test_turns_on_ids_interleaved_before_blocks_never_collide(
    agent: Agent, db: TestDatabase
) -> None:
    columns = "id, user_id, ts, user_input, draft, reply, action, draft_total_score, final_score"
    db.execute(
        *(
            f"INSERT INTO {table} VALUES ({i}, '{'ana' if i % 2 else 'bob'}', "
            f"'2026-01-01 00:00:0{i}.000000', 'old {i}', 'ok', 'ok', 'NONE', 0.0, 0.0)"
            for i in range(1, 7)
            for table in [f"episodes ({columns})"]
        ),
    )
    db.execute(
        *(
            f"INSERT INTO risk_log (id, user_id, episode_id, ts, draft_total_score, "
            f"final_score, action, scores, details) VALUES ({i}, "
            f"'{'ana' if i % 2 else 'bob'}', {i}, '2026-01-01 00:00:00', 0, 0, 'NONE', '{{}}', '{{}}')"
            for i in range(1, 7)
        )
    )

    results = [agent.turn(user, f"new note {k}") for k in range(3) for user in ("ana", "bob")]

    assert all(r.episode_id is not None for r in results)  # no IntegrityError: all stored
    ids = db.rows("SELECT id, user_id FROM episodes WHERE id > 6 ORDER BY id")
    assert len(ids) == 6 and len({i for i, _ in ids}) == 6
    ana = [i for i, u in ids if u == "ana"]
    assert ana == list(range(ana[0], ana[0] + 3)) and ana[0] > BLOCK  # a block of her own


def test_migration_0008_marks_the_deletes_the_audit_log_names(
    agent: Agent, db: TestDatabase
) -> None:
    ids = [agent.turn("ana", f"note {k}").episode_id for k in range(3)]
    assert ids[0] is not None and ids[2] is not None
    assert agent.governance.delete_episode("ana", f"episode_{ids[2]}").ok
    assert agent.governance.delete_episode("ana", ids[0]).ok
    assert not agent.governance.delete_episode("ana", 10**9).ok  # refused: no mark
    downgrade_to(agent.store.engine, "0007")

    upgrade(agent.store.engine)

    assert db.rows("SELECT user_id, last_id FROM episode_id_marks") == [("ana", ids[2])]
