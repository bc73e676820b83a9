"""Sentence vectors of episodes and beliefs, for dense recall.

One row per memory: the vector of an episode's text or of a belief's statement, owned by
the memory's user.  Each row points at exactly one episode or one belief with
``ON DELETE CASCADE``, so deleting the memory deletes its vector in the same statement.
A belief whose statement changes, or an episode whose text is rewritten, loses its vector
at once (triggers below); the agent stores a fresh belief vector in the same transaction.

``id`` is AUTOINCREMENT (never reused), so a reader's cache of a user's vectors is
current exactly when the user's row count and largest id are unchanged.

Revision ID: 0002
Revises: 0001 (see the note on down_revision)
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
# NOTE for whoever commits: planned as ``"0001"``.  0010_api_keys.py (written at the same
# time) revises 0001 too, and two heads break every Store.open, so this one follows 0010
# for now.  If 0010 lands later or not at all, set this back to "0001" and chain 0010 after.
down_revision = "0001"
branch_labels = None
depends_on = None

USER = 255


def upgrade() -> None:
    op.create_table(
        "memory_vectors",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.String(USER), nullable=False),
        sa.Column(
            "episode_id",
            sa.Integer,
            sa.ForeignKey("episodes.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column(
            "belief_id",
            sa.Integer,
            sa.ForeignKey("semantic_beliefs.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("vector", sa.LargeBinary, nullable=False),
        sa.CheckConstraint(
            "(episode_id IS NULL) <> (belief_id IS NULL)", name="ck_memory_vectors_one_owner"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_memory_vectors_user_id_id", "memory_vectors", ["user_id", "id"])
    op.create_index("ux_memory_vectors_episode_id", "memory_vectors", ["episode_id"], unique=True)
    op.create_index("ux_memory_vectors_belief_id", "memory_vectors", ["belief_id"], unique=True)
    if op.get_context().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER semantic_beliefs_vector_stale AFTER UPDATE OF statement "
            "ON semantic_beliefs WHEN new.statement IS NOT old.statement BEGIN "
            "DELETE FROM memory_vectors WHERE belief_id = old.id; END"
        )
        # A rewritten episode (e.g. words of a deleted memory scrubbed from it) must not
        # keep a vector of its old text.
        op.execute(
            "CREATE TRIGGER episodes_vector_stale AFTER UPDATE OF user_input "
            "ON episodes WHEN new.user_input IS NOT old.user_input BEGIN "
            "DELETE FROM memory_vectors WHERE episode_id = old.id; END"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS semantic_beliefs_vector_stale")
        op.execute("DROP TRIGGER IF EXISTS episodes_vector_stale")
    op.drop_index("ux_memory_vectors_belief_id", table_name="memory_vectors")
    op.drop_index("ux_memory_vectors_episode_id", table_name="memory_vectors")
    op.drop_index("ix_memory_vectors_user_id_id", table_name="memory_vectors")
    op.drop_table("memory_vectors")
