"""SQLite: the timeline index also holds whether ``meta`` and ``trace`` are valid JSON.

An export embeds each stored JSON column verbatim when it is valid JSON and as a string
when it is not, so a hand-edited row never breaks the document.  Checking ~1 MB of
traces for a 1,000-episode user took 1.5 ms of the export's ~6.  As expressions of the
covering index of migration 0005, ``json_valid(meta)`` and ``json_valid(trace)`` are
computed once when a row is written (or changed, however it is changed) and read back
by the export (``governance/export_sqlite.py``, ``INDEXED BY``) instead of re-parsed.

SQLite only, like 0005; ``tests/test_schema.py`` pins the index's definition.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NAME = "ix_episodes_user_timeline"
COLUMNS = ["user_id", "id", "ts", "occurred_at", "meta"]


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.drop_index(NAME, table_name="episodes")
        op.create_index(
            NAME, "episodes", [*COLUMNS, sa.text("json_valid(meta)"), sa.text("json_valid(trace)")]
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.drop_index(NAME, table_name="episodes")
        op.create_index(NAME, "episodes", COLUMNS)
