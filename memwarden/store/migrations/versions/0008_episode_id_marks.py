"""``episode_id_marks``: the highest episode id each user had deleted.

On SQLite, episode ids come in per-user blocks (``store/blocks.py``); without a record,
deleting a user's newest episode would hand its id to the user's next turn, and a
retried ``/delete_episode`` could then remove that newer turn.  The table is filled from
the audit log: every successful ``/delete_episode`` names its id (``45`` or
``episode_45``).  PostgreSQL's sequences never reuse an id; ``db copy`` still reads the
marks to set them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import json

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
    conn = op.get_bind()
    calls = conn.execute(
        sa.text(
            "SELECT user_id, args FROM governance_log "
            "WHERE command = '/delete_episode' AND success = :ok"
        ),
        {"ok": True},
    )
    marks: dict[str, int] = {}
    for user_id, args in calls:
        episode_id = _episode_id(args)
        if episode_id is not None:
            marks[user_id] = max(marks.get(user_id, 0), episode_id)
    if marks:
        conn.execute(
            sa.text("INSERT INTO episode_id_marks (user_id, last_id) VALUES (:u, :i)"),
            [{"u": u, "i": i} for u, i in marks.items()],
        )


def _episode_id(args: str) -> int | None:
    """The id a successful call named (its one argument, as typed)."""
    try:
        words = json.loads(args)
    except ValueError:
        return None
    if not isinstance(words, list) or len(words) != 1:
        return None
    value = str(words[0]).strip().lower().removeprefix("episode_")
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def downgrade() -> None:
    op.drop_table("episode_id_marks")
