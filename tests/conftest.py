"""Shared fixtures: a real database (a SQLite file in tmp_path, or the local PostgreSQL),
settings pointing at it, a store and an agent on it.

A module marked ``pytestmark = pytest.mark.engines`` runs each test that uses the
database once per engine, ``test_x[sqlite]`` and ``test_x[postgres]``
(``pytest.mark.engines("postgres")``: on PostgreSQL only); elsewhere the engine is
SQLite.  ``@pytest.mark.sqlite_only("reason")`` keeps a test that is about
SQLite itself (its file, WAL, FTS5, PRAGMAs) on SQLite, with the reason in the report.
On PostgreSQL every test gets the session's shared database, emptied first (see
``tests/postgres.py``); ``@pytest.mark.own_database`` gives a test a fresh clone instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from memwarden.agent import Agent
from memwarden.settings import Settings
from memwarden.store import Store

from .engines import TestDatabase
from .postgres import SharedDatabase, sqlalchemy_url

ENGINES = ("sqlite", "postgres")


def pytest_configure(config: pytest.Config) -> None:
    for line in (
        "engines(*names): run the module's database tests on each engine (default: all)",
        "sqlite_only(reason): a test about SQLite itself, in a module run on both engines",
        "own_database: on PostgreSQL, a fresh database for this test alone",
    ):
        config.addinivalue_line("markers", line)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "engine" not in metafunc.fixturenames:
        return
    engines = metafunc.definition.get_closest_marker("engines")
    if engines is None:
        return
    chosen = list(engines.args or ENGINES)
    assert set(chosen) <= set(ENGINES), f"unknown engine in {chosen}"
    only = metafunc.definition.get_closest_marker("sqlite_only")
    if only is not None:
        assert only.args and only.args[0], "sqlite_only needs a one-line reason"
        chosen = ["sqlite"]
    metafunc.parametrize(
        "engine",
        [pytest.param(e, marks=[pytest.mark.postgres] if e == "postgres" else []) for e in chosen],
        indirect=True,
    )


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """``sqlite`` or ``postgres``: parametrized in modules marked ``engines``."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's environment, .env or home directory."""
    for name in list(os.environ):
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


@pytest.fixture(scope="session")
def pg_shared() -> Iterator[SharedDatabase]:
    """The session's migrated PostgreSQL template and shared database (made on first use)."""
    shared = SharedDatabase()
    yield shared
    shared.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "memwarden.db"


@pytest.fixture
def db(engine: str, db_path: Path, tmp_path: Path, request: pytest.FixtureRequest) -> TestDatabase:
    """The test's database on its engine, empty (PostgreSQL: migrated, SQLite: no file yet)."""
    if engine == "sqlite":
        return TestDatabase(str(db_path), db_path.parent / "exports")
    exports = tmp_path / "xdg-data" / "memwarden" / "exports"
    shared: SharedDatabase = request.getfixturevalue("pg_shared")
    if request.node.get_closest_marker("own_database") is not None:
        return TestDatabase(sqlalchemy_url(shared.clone()), exports)
    shared.reset()
    return TestDatabase(shared.url, exports)


@pytest.fixture
def settings(db: TestDatabase) -> Settings:
    return Settings(db=db.url)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    store = Store.open(settings)
    yield store
    store.close()


@pytest.fixture
def agent(settings: Settings) -> Iterator[Agent]:
    with Agent.open(settings) as agent:
        yield agent
