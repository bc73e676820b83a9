"""Test helper: take a database back to an older migration, as Alembic would."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine

from memwarden.store.engine import transaction
from memwarden.store.migrate import alembic_config


def downgrade_to(engine: Engine, revision: str) -> None:
    """Downgrade to ``revision`` in one transaction (the upgrade helper's mirror)."""
    with engine.connect() as conn, transaction(conn, write=True):
        config = alembic_config(engine)
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
