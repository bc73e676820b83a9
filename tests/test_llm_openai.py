"""The OpenAI-compatible backend against a real chat-completions server on loopback."""

from __future__ import annotations

import json
import logging
import socket
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from memwarden.agent import Agent
from memwarden.errors import LLMUnavailable
from memwarden.llm import DraftContext, OpenAICompatible
from memwarden.settings import Settings

from .chat_server import ChatServer


def _is_extraction(body: dict[str, Any]) -> bool:
    return "Extract durable facts" in body["messages"][0]["content"]


def _settings(db_path: Path, base_url: str, **more: Any) -> Settings:
    return Settings(
        db=str(db_path),
        llm="openai",
        llm_base_url=base_url,
        llm_model="test-model",
        llm_retries=0,
        llm_timeout_s=5,
        **more,
    )


def test_openai_draft_carries_memory_and_extra_context() -> None:
    with ChatServer(lambda body: (200, "Hello from the model")) as server:
        model = OpenAICompatible(
            model="m", base_url=server.base_url, api_key="k", timeout_s=5, retries=0
        )
        reply = model.generate_draft(
            "hi", DraftContext(open_tasks=["Buy milk"]), "remove the card number"
        )
    assert reply == "Hello from the model"
    [request] = server.requests
    system = request["body"]["messages"][0]["content"]
    assert "Open tasks: Buy milk" in system
    assert "Fix this: remove the card number" in system
    assert request["auth"] == "Bearer k"
    assert request["path"] == "/v1/chat/completions"


def test_openai_turn_uses_llm_extractor_json(db_path: Path) -> None:
    def respond(body: dict[str, Any]) -> tuple[int, str]:
        if _is_extraction(body):
            return 200, json.dumps(
                {"facts": [{"key": "location", "value": "Lisbon", "confidence": 0.9}]}
            )
        return 200, "Nice, Lisbon is lovely."

    with ChatServer(respond) as server, Agent.open(_settings(db_path, server.base_url)) as agent:
        result = agent.turn("ana", "We finally settled down in Lisbon last spring.")
    assert result.reply == "Nice, Lisbon is lovely."
    assert [(b.key, b.new_value) for b in result.beliefs] == [("location", "Lisbon")]


def test_openai_malformed_extractor_json_is_warning_not_crash(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def respond(body: dict[str, Any]) -> tuple[int, str]:
        return (200, "{not json") if _is_extraction(body) else (200, "Okay.")

    logging.getLogger("memwarden").propagate = True
    with (
        ChatServer(respond) as server,
        Agent.open(_settings(db_path, server.base_url)) as agent,
        caplog.at_level(logging.WARNING, logger="memwarden"),
    ):
        result = agent.turn("ana", "I live in Porto.")
    assert result.episode_id is not None
    assert result.beliefs == ()
    assert "extract_beliefs: JSON parse failed" in caplog.text


def test_openai_server_error_fails_turn_cleanly(db_path: Path) -> None:
    with (
        ChatServer(lambda body: (503, "overloaded")) as server,
        Agent.open(_settings(db_path, server.base_url)) as agent,
        pytest.raises(LLMUnavailable, match="HTTP 503"),
    ):
        agent.turn("ana", "I live in Porto.")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM episodes").fetchone() == (0,)
        assert conn.execute("SELECT COUNT(*) FROM semantic_beliefs").fetchone() == (0,)


def test_openai_retries_then_succeeds(db_path: Path) -> None:
    calls = {"n": 0}

    def respond(body: dict[str, Any]) -> tuple[int, str]:
        calls["n"] += 1
        return (500, "flaky") if calls["n"] == 1 else (200, "Recovered.")

    with ChatServer(respond) as server:
        model = OpenAICompatible(
            model="m", base_url=server.base_url, api_key=None, timeout_s=5, retries=2
        )
        assert model.generate_draft("hi", DraftContext()) == "Recovered."
    assert calls["n"] == 2


def test_openai_server_down_is_clear_error(db_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        Agent.open(
            _settings(db_path, f"http://127.0.0.1:{port}/v1", llm_extract_beliefs=False)
        ) as agent,
        pytest.raises(LLMUnavailable, match="unreachable"),
    ):
        agent.turn("ana", "hello")
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM episodes").fetchone() == (0,)
