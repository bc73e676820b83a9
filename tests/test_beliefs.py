"""Beliefs: distilled from the user's words, superseded with history."""

from __future__ import annotations

import pytest

from memwarden.agent import Agent
from memwarden.memory.beliefs import history, list_beliefs, sources
from memwarden.memory.extract import extract_facts


def test_supersede_contradiction_keeps_one_belief_with_history(agent: Agent) -> None:
    first = agent.turn("ana", "I live in Porto.")
    second = agent.turn("ana", "I moved to Berlin last month.")

    with agent.store.read() as conn:
        beliefs = [b for b in list_beliefs(conn, "ana") if b.key == "location"]
        assert len(beliefs) == 1
        belief = beliefs[0]
        entries = history(conn, "ana", belief.id)
        assert sources(conn, "ana", belief.id) == [first.episode_id, second.episode_id]
    assert belief.value == "Berlin"
    assert belief.version == 2
    assert [(e.change, e.old_value, e.new_value) for e in entries] == [
        ("created", None, "Porto"),
        ("updated", "Porto", "Berlin"),
    ]
    assert "Berlin now (I had Porto before)" in second.reply


def test_supersede_preference_flips_polarity(agent: Agent) -> None:
    agent.turn("ana", "I love coffee.")
    agent.turn("ana", "Honestly, I don't like coffee anymore.")
    with agent.store.read() as conn:
        prefs = [b for b in list_beliefs(conn, "ana") if b.key == "preference:coffee"]
    assert [(p.value, p.statement) for p in prefs] == [("dislikes", "User dislikes coffee")]


def test_confirm_same_fact_raises_confidence_not_duplicates(agent: Agent) -> None:
    agent.turn("ana", "I work at Siemens.")
    agent.turn("ana", "As I said, I work at Siemens.")
    with agent.store.read() as conn:
        beliefs = list_beliefs(conn, "ana")
        assert len(beliefs) == 1
        assert [e.change for e in history(conn, "ana", beliefs[0].id)] == ["created", "confirmed"]
    assert beliefs[0].confidence > 0.9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("My name is Ana Silva.", {("name", "Ana Silva")}),
        ("I live in New York.", {("location", "New York")}),
        (
            "I work at Acme Corp and I love climbing.",
            {("employer", "Acme Corp"), ("preference:climbing", "likes")},
        ),
        ("My sister is called Maria.", {("family:sister", "Maria")}),
        ("I'm 34 years old.", {("age", "34")}),
        ("I work as a nurse.", {("occupation", "nurse")}),
        (
            "I speak English and Portuguese.",
            {("language:english", "speaks"), ("language:portuguese", "speaks")},
        ),
        ("I'm allergic to peanuts.", {("allergy:peanuts", "yes")}),
        ("I am vegetarian.", {("diet", "vegetarian")}),
        ("My favorite band is Radiohead.", {("favorite:band", "Radiohead")}),
    ],
)
def test_extract_first_person_facts(text: str, expected: set[tuple[str, str]]) -> None:
    assert {(f.key, f.value) for f in extract_facts(text)} == expected


@pytest.mark.parametrize(
    "text",
    [
        "Where do I live?",
        "If I lived in Paris I would walk more.",
        "My friend lives in Rome.",
        "I don't live in Porto.",
        "I like it.",
        "I'd like to book a table.",
        "My passport expires soon.",
        "Do you like jazz?",
        "She works at Google.",
    ],
)
def test_extract_skips_questions_hypotheticals_and_others(text: str) -> None:
    assert extract_facts(text) == []
