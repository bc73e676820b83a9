"""Alembic, driven from code: upgrade to head and read the current revision.

Each migration runs in its own transaction together with its ``alembic_version`` record
(``transaction_per_migration``), and DDL is transactional on both dialects.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config pointing at memwarden's migrations (no ini file needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", "memwarden.store:migrations")
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    """The newest migration this code ships."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "memwarden ships at least one migration"
    return head


def current_revision(conn: Connection) -> str | None:
    """The revision the database is at, or None for a blank database."""
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every missing migration, each in one transaction with its record."""
    command.upgrade(alembic_config(engine), revision)
