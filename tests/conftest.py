"""Shared fixtures: a real SQLite file in tmp_path, settings, and an agent on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from memwarden.agent import Agent
from memwarden.settings import Settings
from memwarden.store import Store


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's environment, .env or home directory."""
    for name in list(__import__("os").environ):
        if name.startswith("MEMWARDEN_") or name in (
            "GOVERNANCE_SURFACES_ENABLED",
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "OPENAI_MODEL",
        ):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "memwarden.db"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(db=str(db_path))


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    store = Store.open(settings)
    yield store
    store.close()


@pytest.fixture
def agent(settings: Settings) -> Iterator[Agent]:
    with Agent.open(settings) as agent:
        yield agent
