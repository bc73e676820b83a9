"""SQLite: a covering index for the user's timeline, ``episodes(user_id, id, ts,
occurred_at, meta)``.

Recall reads a user's episodes in order (id, time, speaker, session) to know each turn's
neighbours (``memory/timeline.py``), and each turn reads the user's newest ``ts``.  In
SQLite the table is keyed by id alone, so one user's rows lie scattered among everyone's,
each in a leaf page full of other users' turns: loading a user's 1,000 episodes touched
~1,000 pages.  With the columns in an index they sit together in a few pages of that
user's key range (3.2 -> 2.0 ms for 1,000 episodes; docs/benchmarks.md, ## Turns).

SQLite only, like 0004: PostgreSQL's B-tree entries are capped at ~2.7 kB, and ``meta``
(an imported turn's source details) has no such bound.  ``tests/test_schema.py`` pins it.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.create_index(
            "ix_episodes_user_timeline",
            "episodes",
            ["user_id", "id", "ts", "occurred_at", "meta"],
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.drop_index("ix_episodes_user_timeline", table_name="episodes")
