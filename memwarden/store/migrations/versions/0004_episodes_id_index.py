"""SQLite: a narrow index on ``episodes(id)``, so that orphans are counted by a merge.

``episodes.id`` is SQLite's rowid: its only key-ordered structure is the table itself,
whose leaves hold whole turns (text, trace).  The orphan count of ``memwarden health``
proves that no reference points nowhere by merging two key-ordered scans
(``risk_log.episode_id EXCEPT episodes.id ORDER BY 1``); with this index the episodes
side reads ~12 MB per million episodes instead of the whole table, and the sparse
probes of smaller tables stay in its few pages (docs/benchmarks.md, Operations).

PostgreSQL's primary key already is such an index (and it plans its own anti-joins), so
nothing changes there.  Like the full-text seam, the index is dialect-specific and is
not in ``store/schema.py``; ``tests/test_schema.py`` pins it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.create_index("ix_episodes_id", "episodes", ["id"])


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.drop_index("ix_episodes_id", table_name="episodes")
