"""PostgreSQL: ``risk_log`` and ``governance_log`` indexed by ``(user_id, id)``.

Both tables are read per user in id order (the export pages them by ``id > :last ORDER
BY id LIMIT :n``).  SQLite's index on ``user_id`` already holds the rowid, which is the id,
so it serves that order.  PostgreSQL's does not: once psycopg prepares the statement (its
fifth run), the generic plan walked the primary key in id order, filtering by user,
through other users' rows: 19 ms for a 1,000-row user's risk rows, against 2 ms with this
index.  The indexes keep their names, with ``id`` added.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("risk_log", "governance_log")


def upgrade() -> None:
    # The new index is built first (readers and writers of other tables go on; writers
    # of these two wait for the build), then swapped in under a lock held for an instant.
    # On a large database, build it beforehand without blocking writes:
    #   CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_risk_log_user_id_id ON risk_log (user_id, id);
    # (and the same for governance_log): this migration then only swaps names.
    if op.get_context().dialect.name == "postgresql":
        for table in TABLES:
            op.execute(f"CREATE INDEX IF NOT EXISTS ix_{table}_user_id_id ON {table} (user_id, id)")
        for table in TABLES:
            op.drop_index(f"ix_{table}_user_id", table_name=table)
            op.execute(f"ALTER INDEX ix_{table}_user_id_id RENAME TO ix_{table}_user_id")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in TABLES:
            op.drop_index(f"ix_{table}_user_id", table_name=table)
            op.create_index(f"ix_{table}_user_id", table, ["user_id"])
