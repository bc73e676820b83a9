"""The local PostgreSQL for contract tests: a fresh database per test session.

Outside CI an unreachable server skips the PostgreSQL tests with the reason; in CI
(``CI=true``) it fails them, because CI promises a running server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

ADMIN_URL = os.environ.get("MEMWARDEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _unreachable(reason: str) -> None:
    message = f"PostgreSQL at {ADMIN_URL} is not reachable: {reason}"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def fresh_database() -> Iterator[str]:
    """Create a uniquely named database, yield its SQLAlchemy URL, then drop it."""
    try:
        import psycopg
    except ImportError as e:  # pragma: no cover - psycopg is a dependency
        _unreachable(f"psycopg is not installed ({e})")
        raise
    name = f"memwarden_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as e:
        _unreachable(str(e).strip().splitlines()[0])
        raise
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
