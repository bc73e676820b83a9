"""``episode_id_marks``: the highest episode id each user had deleted.

On SQLite, episode ids come in per-user blocks (``store/blocks.py``, since 0006's
release); without a record, deleting a user's newest episode would hand its id to the
user's next turn, and a retried ``/delete_episode`` could then remove that newer turn.
Deletes from now on are recorded; earlier ones are not known (PostgreSQL: unused, its
sequences never reuse an id).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

USER = 255


def upgrade() -> None:
    op.create_table(
        "episode_id_marks",
        sa.Column("user_id", sa.String(USER), primary_key=True),
        sa.Column("last_id", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("episode_id_marks")
