"""Ids in per-user blocks (store/blocks.py): a user's rows lie together in SQLite."""

from __future__ import annotations

import pytest

from memwarden.agent import Agent
from memwarden.store.blocks import BLOCK, next_in_block

from .engines import TestDatabase


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


@pytest.mark.sqlite_only("PostgreSQL keeps its sequences: its heap is in insertion order")
def test_turn_after_deleting_all_of_a_users_episodes_opens_a_new_block(
    agent: Agent, db: TestDatabase
) -> None:
    first = agent.turn("ana", "the dentist is on Monday").episode_id
    agent.turn("bob", "my sister plays the piano")
    assert first is not None and agent.governance.delete_episode("ana", first).ok

    again = agent.turn("ana", "the dentist moved to Tuesday").episode_id

    rows = db.rows("SELECT user_id, id FROM episodes ORDER BY id")
    blocks = {(i - 1) // BLOCK: u for u, i in rows}
    assert len(blocks) == len(rows) == 2 and again is not None and again > BLOCK
