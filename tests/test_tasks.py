"""Tasks exist only when the user explicitly asks; every change writes an event."""

from __future__ import annotations

import pytest

from memwarden.agent import Agent
from memwarden.memory.tasks import list_events, list_tasks, parse_task_request


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Remind me to call mom tomorrow", "Call mom tomorrow"),
        ("add a task: renew passport", "Renew passport"),
        ("Please create a reminder to water the plants.", "Water the plants"),
        ("Could you remind me to book the dentist?", "Book the dentist"),
        ("Add oat milk to my shopping list? no - add oat milk to my todo list", "Oat milk"),
        ("/task add buy bread", "Buy bread"),
    ],
)
def test_parse_task_request_explicit(text: str, title: str) -> None:
    assert parse_task_request(text) == title


@pytest.mark.parametrize(
    "text",
    [
        "My passport expires soon.",
        "I need to call mom at some point.",
        "Can you remind me what I said yesterday?",
        "Don't remind me to do that.",
        "I should add salt to the soup.",
        "What tasks do I have?",
        "Did you remind me to pay rent?",
    ],
)
def test_parse_task_request_implicit_creates_nothing(text: str) -> None:
    assert parse_task_request(text) is None


def test_turn_creates_task_with_event_only_when_asked(agent: Agent) -> None:
    agent.turn("ana", "My passport expires soon.")
    result = agent.turn("ana", "Remind me to renew my passport.")

    assert [t.title for t in result.tasks] == ["Renew my passport"]
    assert 'added a task to your list: "Renew my passport"' in result.reply
    with agent.store.read() as conn:
        tasks = list_tasks(conn, "ana")
        events = list_events(conn, "ana")
    assert [t.title for t in tasks] == ["Renew my passport"]
    assert [(e.event, e.episode_id) for e in events] == [("created", result.episode_id)]


def test_task_command_completes_and_cancels_with_events(agent: Agent) -> None:
    agent.turn("ana", "/task add buy bread")
    agent.turn("ana", "/task add water plants")
    done = agent.turn("ana", "/task done 1")
    cancelled = agent.turn("ana", "/task cancel 2")
    listing = agent.turn("ana", "/task list all")

    assert done.ok and "is done" in done.reply
    assert cancelled.ok and "is cancelled" in cancelled.reply
    assert listing.reply == "1. [done] Buy bread\n2. [cancelled] Water plants"
    with agent.store.read() as conn:
        events = [(e.task_id, e.event) for e in list_events(conn, "ana")]
    assert events == [(2, "cancelled"), (1, "completed"), (2, "created"), (1, "created")]


def test_task_command_other_users_task_is_not_found(agent: Agent) -> None:
    agent.turn("ana", "/task add secret plan")
    result = agent.turn("bob", "/task done 1")
    missing = agent.turn("bob", "/task done 999")
    assert not result.ok
    assert result.reply == "no task 1"
    assert missing.reply == "no task 999"


@pytest.mark.parametrize(
    "text", ["/task", "/task done", "/task done x", "/task done 1 2", "/task fly"]
)
def test_task_command_bad_input_is_usage_error(agent: Agent, text: str) -> None:
    result = agent.turn("ana", text)
    assert not result.ok
    assert result.reply.startswith(("usage:", "not a task id"))
