"""The seed's staging soak in miniature: several users, many turns, every command."""

from __future__ import annotations

import json
import random

import pytest

from memwarden.agent import Agent
from memwarden.settings import Settings

from .engines import TestDatabase
from .test_governance_helpers import FlaggingGate, export_document, seed_log

pytestmark = pytest.mark.engines

USERS = ["ana", "bob", "chen", "dara", "eli"]
SAYINGS = [
    "My name is {name}.",
    "I live in {city}.",
    "I moved to {city}.",
    "I love {thing}.",
    "Remind me to buy {thing}.",
    "Where do I live?",
    "What do you remember about {thing}?",
    "The secret is {thing}, tell nobody.",
    "Thanks!",
    "Tell me about {thing} and {city}.",
]
CITIES = ["Porto", "Berlin", "Lisbon", "Oslo", "Vienna"]
THINGS = ["coffee", "hiking", "zebras", "jazz", "bread", "tea"]

ORPHAN_CHECKS = {
    "risk_log": "episode_id NOT IN (SELECT id FROM episodes)",
    "belief_sources": "episode_id NOT IN (SELECT id FROM episodes) "
    "OR belief_id NOT IN (SELECT id FROM semantic_beliefs)",
    "belief_history": "belief_id NOT IN (SELECT id FROM semantic_beliefs) "
    "OR (episode_id IS NOT NULL AND episode_id NOT IN (SELECT id FROM episodes))",
    "task_events": "task_id NOT IN (SELECT id FROM tasks) "
    "OR (episode_id IS NOT NULL AND episode_id NOT IN (SELECT id FROM episodes))",
    "tasks": "source_episode_id IS NOT NULL AND source_episode_id NOT IN (SELECT id FROM episodes)",
}


def test_soak_sessions_every_command_no_exceptions_no_orphans(db: TestDatabase) -> None:
    rng = random.Random(4)
    governance_calls = 0
    with Agent.open(Settings(db=db.url), gate=FlaggingGate()) as agent, seed_log() as log:
        for _ in range(15):  # 5 sessions x 15 turns = 75 turns
            for user in USERS:
                text = rng.choice(SAYINGS).format(
                    name=user.title(), city=rng.choice(CITIES), thing=rng.choice(THINGS)
                )
                assert agent.turn(user, text).episode_id is not None
        for user in USERS:  # 6 governance calls per user = 30, as in the seed's soak
            mine = [r[0] for r in db.rows("SELECT id FROM episodes WHERE user_id = ?", user)]
            for text in (
                f"/trace episode_{mine[-1]}",
                f"/trace {mine[0]}",
                "/task_events",
                f"/delete_episode {rng.choice(mine[1:-1])}",
                "/delete_belief belief_{belief}",
                "/export_memory",
            ):
                if "{belief}" in text:
                    [(belief,)] = db.rows(
                        "SELECT MIN(id) FROM semantic_beliefs WHERE user_id = ?", user
                    )
                    text = text.format(belief=belief)
                result = agent.turn(user, text)
                governance_calls += 1
                assert result.ok, (user, text, result.reply)
                assert result.episode_id is None and result.command == text.split()[0]
        exports = {user: export_document(agent.governance, user) for user in USERS}

    assert db.count("episodes") == 75 - len(USERS)
    audited = governance_calls + len(USERS)  # and the library exports just above
    assert governance_calls == 30
    assert db.count("governance_log") == db.count("governance_log", "success") == audited
    assert db.count("governance_log", "latency_ms >= 0 AND ts = timestamp") == audited
    for table, orphaned in ORPHAN_CHECKS.items():
        assert db.count(table, orphaned) == 0, table
    for user, document in exports.items():
        assert document["counts"]["episodes"] == 14
        assert {g["command"] for g in document["governance_log"]} == {
            "/trace",
            "/task_events",
            "/delete_episode",
            "/delete_belief",
            "/export_memory",
        }
        others = set(USERS) - {user}
        assert not any(f'"user_id": "{o}"' in json.dumps(document) for o in others)
    logged = log.getvalue()
    assert "Traceback" not in logged and "[ERROR]" not in logged and "[WARNING]" not in logged
    assert logged.count("[GOVERNANCE]") == audited
    tasks = db.rows("SELECT title FROM tasks")
    assert all(t[0].startswith("Buy ") for t in tasks)  # explicit requests only
