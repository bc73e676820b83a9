"""The initial schema: episodes, beliefs, tasks, risk and governance logs, full-text.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

USER = 255


def _user() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("user_id", sa.String(USER), nullable=False)


def upgrade() -> None:
    op.create_table(
        "episodes",
        sa.Column("id", sa.Integer, primary_key=True),
        _user(),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("user_input", sa.Text, nullable=False),
        sa.Column("draft", sa.Text, nullable=False),
        sa.Column("reply", sa.Text, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("draft_total_score", sa.Float, nullable=False),
        sa.Column("final_score", sa.Float, nullable=False),
        sa.Column("occurred_at", sa.DateTime, nullable=True),
        sa.Column("meta", sa.Text, nullable=True),
        sa.Column("trace", sa.Text, nullable=True),
    )
    op.create_index("ix_episodes_user_id_id", "episodes", ["user_id", "id"])
    op.create_index("ix_episodes_ts", "episodes", ["ts"])

    op.create_table(
        "risk_log",
        sa.Column("id", sa.Integer, primary_key=True),
        _user(),
        sa.Column(
            "episode_id",
            sa.Integer,
            sa.ForeignKey("episodes.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("draft_total_score", sa.Float, nullable=False),
        sa.Column("final_score", sa.Float, nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("scores", sa.Text, nullable=False),
        sa.Column("details", sa.Text, nullable=False),
    )
    op.create_index("ix_risk_log_episode_id", "risk_log", ["episode_id"])
    op.create_index("ix_risk_log_ts", "risk_log", ["ts"])
    op.create_index("ix_risk_log_user_id", "risk_log", ["user_id"])

    op.create_table(
        "semantic_beliefs",
        sa.Column("id", sa.Integer, primary_key=True),
        _user(),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("statement", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("user_id", "key", name="uq_semantic_beliefs_user_key"),
    )

    op.create_table(
        "belief_sources",
        sa.Column(
            "belief_id",
            sa.Integer,
            sa.ForeignKey("semantic_beliefs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "episode_id",
            sa.Integer,
            sa.ForeignKey("episodes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        _user(),
        sa.Column("ts", sa.DateTime, nullable=False),
    )
    op.create_index("ix_belief_sources_episode_id", "belief_sources", ["episode_id"])

    op.create_table(
        "belief_history",
        sa.Column("id", sa.Integer, primary_key=True),
        _user(),
        sa.Column(
            "belief_id",
            sa.Integer,
            sa.ForeignKey("semantic_beliefs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "episode_id",
            sa.Integer,
            sa.ForeignKey("episodes.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("change", sa.String(16), nullable=False),
        sa.Column("old_value", sa.Text, nullable=True),
        sa.Column("new_value", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float, nullable=False),
    )
    op.create_index("ix_belief_history_belief_id", "belief_history", ["belief_id"])
    op.create_index("ix_belief_history_episode_id", "belief_history", ["episode_id"])

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        _user(),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column(
            "source_episode_id",
            sa.Integer,
            sa.ForeignKey("episodes.id", ondelete="SET NULL"),
            nullable=True,
        ),
    )
    op.create_index("ix_tasks_user_id_status", "tasks", ["user_id", "status"])
    op.create_index("ix_tasks_created_at", "tasks", ["created_at"])
    op.create_index("ix_tasks_source_episode_id", "tasks", ["source_episode_id"])

    op.create_table(
        "task_events",
        sa.Column("id", sa.Integer, primary_key=True),
        _user(),
        sa.Column(
            "task_id", sa.Integer, sa.ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column(
            "episode_id",
            sa.Integer,
            sa.ForeignKey("episodes.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("detail", sa.Text, nullable=True),
    )
    op.create_index("ix_task_events_user_id_id", "task_events", ["user_id", "id"])
    op.create_index("ix_task_events_task_id", "task_events", ["task_id"])
    op.create_index("ix_task_events_episode_id", "task_events", ["episode_id"])

    op.create_table(
        "governance_log",
        sa.Column("id", sa.Integer, primary_key=True),
        _user(),
        sa.Column("command", sa.String(32), nullable=False),
        sa.Column("args", sa.Text, nullable=False),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("ts", sa.DateTime, nullable=False),
        sa.Column("timestamp", sa.DateTime, sa.Computed("ts", persisted=True)),
    )
    op.create_index("ix_governance_log_ts", "governance_log", ["ts"])
    op.create_index("ix_governance_log_user_id", "governance_log", ["user_id"])

    if op.get_context().dialect.name == "sqlite":
        _sqlite_fulltext()
    elif op.get_context().dialect.name == "postgresql":
        _postgres_fulltext()


def _postgres_fulltext() -> None:
    """Generated ``tsvector`` columns with GIN indexes: always in step with their rows."""
    for table, body in (("episodes", "user_input"), ("semantic_beliefs", "statement")):
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN search_vector tsvector "
            f"GENERATED ALWAYS AS (to_tsvector('english', {body})) STORED"
        )
        op.execute(f"CREATE INDEX ix_{table}_search_vector ON {table} USING gin (search_vector)")


def _sqlite_fulltext() -> None:
    """Contentless FTS5 indexes over episodes and beliefs, kept in sync by triggers.

    The triggers index ``mw_fts(user_id, text)`` (memwarden/store/textindex.py): stems
    tagged with their owner, so each user's postings are separate.  Triggers run inside
    the writing transaction, so a row and its index entry commit or roll back together.
    The function exists only on memwarden's own connections: rows of these two tables
    are written through memwarden, never by hand.
    """
    for table, fts, body in (
        ("episodes", "episodes_fts", "user_input"),
        ("semantic_beliefs", "semantic_beliefs_fts", "statement"),
    ):
        indexed_new = f"mw_fts(new.user_id, new.{body})"
        indexed_old = f"mw_fts(old.user_id, old.{body})"
        op.execute(
            f"CREATE VIRTUAL TABLE {fts} USING fts5(body, content='', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            f"CREATE TRIGGER {table}_ai AFTER INSERT ON {table} BEGIN "
            f"INSERT INTO {fts}(rowid, body) VALUES (new.id, {indexed_new}); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_ad AFTER DELETE ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, body) VALUES ('delete', old.id, {indexed_old}); END"
        )
        op.execute(
            f"CREATE TRIGGER {table}_au AFTER UPDATE OF user_id, {body} ON {table} BEGIN "
            f"INSERT INTO {fts}({fts}, rowid, body) VALUES ('delete', old.id, {indexed_old}); "
            f"INSERT INTO {fts}(rowid, body) VALUES (new.id, {indexed_new}); END"
        )
        # Deleted tokens are removed from the index at once (SQLite >= 3.42), instead of
        # lingering in old segments until a merge.
        if _sqlite_at_least(3, 42):
            op.execute(f"INSERT INTO {fts}({fts}, rank) VALUES ('secure-delete', 1)")


def _sqlite_at_least(*version: int) -> bool:
    row = op.get_bind().exec_driver_sql("SELECT sqlite_version()").scalar()
    return tuple(int(p) for p in str(row).split(".")) >= version


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for table, fts in (
            ("episodes", "episodes_fts"),
            ("semantic_beliefs", "semantic_beliefs_fts"),
        ):
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")
    for table in (
        "governance_log",
        "task_events",
        "tasks",
        "belief_history",
        "belief_sources",
        "semantic_beliefs",
        "risk_log",
        "episodes",
    ):
        op.drop_table(table)
