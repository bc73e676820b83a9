"""Alembic, driven from code: upgrade to head and read the current revision.

An upgrade applies every missing migration and its ``alembic_version`` record in one
transaction (DDL is transactional on both dialects): all of them, or none.  That
transaction first takes the migration lock, and reads the current revision under it, so
workers that start together against one database migrate one at a time: the first
applies what is missing, the others then find the database at head.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, text

from .engine import LOCK_SPACE, transaction
from .revisions import current_revision, head_revision, newer_than_code

if TYPE_CHECKING:  # Alembic is imported when migrating, not to read revisions
    from alembic.config import Config

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config pointing at memwarden's migrations (no ini file needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "memwarden.store:migrations")
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


_MIGRATION_LOCK = text(f"SELECT pg_advisory_xact_lock({LOCK_SPACE}, 0)")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every missing migration, all in one transaction that first takes the
    migration lock: all of them are applied or none, and workers that start together
    migrate one at a time (the first applies what is missing, the others find head)."""
    from alembic import command

    with engine.connect() as conn, transaction(conn, write=True):
        _lock_migrations(conn)
        newer = newer_than_code(current_revision(conn))
        if newer is not None:  # Alembic would only say it cannot locate the revision
            raise newer
        config = alembic_config(engine)
        config.attributes["connection"] = conn  # env.py migrates in this transaction
        command.upgrade(config, revision)


def _lock_migrations(conn: Connection) -> None:
    """Hold the migration lock until the transaction ends.

    SQLite: the write transaction began with ``BEGIN IMMEDIATE``, which already holds
    the database's write lock, so the current revision is read under it.  PostgreSQL: a
    transaction-scoped advisory lock, waited for without lock_timeout: a worker waits
    as long as another one's migrations take.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL lock_timeout = 0"))
        conn.execute(_MIGRATION_LOCK)
