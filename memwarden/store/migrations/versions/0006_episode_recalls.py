"""``episode_recalls``: which memories each turn recalled, one row per memory.

A turn's trace keeps the memories it recalled, text included, and its reply may quote
them; deleting an episode (or the beliefs it sourced) must scrub those later turns.
Finding them meant reading every later trace of the user.  With this table it is an
index lookup on ``(user_id, kind, ref_id)``; the turn writes its rows with the episode.

The backfill reads the ``recalled`` list of every stored trace that parses (JSON, or
Python's NaN/Infinity): in SQL on SQLite (``json_each``), in batches in Python
elsewhere.  A trace that does not parse names nothing it recalled and gets no rows; a
delete then cannot find that turn (only a hand-edited trace is such).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from memwarden.store.engine import sqlite_version

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

USER = 255
KINDS = ("episode", "belief")
BATCH = 2000


def upgrade() -> None:
    op.create_table(
        "episode_recalls",
        sa.Column(
            "episode_id",
            sa.Integer,
            sa.ForeignKey("episodes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("user_id", sa.String(USER), nullable=False),
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("ref_id", sa.Integer, primary_key=True),
        sqlite_with_rowid=False,
    )
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        # Python's json.dumps writes NaN and Infinity, which JSON5 (flag 2, SQLite 3.45+)
        # reads, as the Python backfill does.
        valid = "json_valid(e.trace, 2)" if sqlite_version() >= (3, 45) else "json_valid(e.trace)"
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO episode_recalls (episode_id, user_id, kind, ref_id) "
            "SELECT e.id, e.user_id, json_extract(m.value, '$.kind'), "
            "json_extract(m.value, '$.id') "
            "FROM episodes AS e, json_each(e.trace, '$.recalled') AS m "
            f"WHERE e.trace IS NOT NULL AND {valid} "
            "AND json_type(e.trace, '$.recalled') = 'array' AND m.type = 'object' "
            "AND json_extract(m.value, '$.kind') IN ('episode', 'belief') "
            "AND json_type(m.value, '$.id') = 'integer'"
        )
    else:
        _backfill_in_batches(conn)
    # After the backfill: one sorted build instead of an insert per row.
    op.create_index(
        "ix_episode_recalls_user_id_ref", "episode_recalls", ["user_id", "kind", "ref_id"]
    )


def _backfill_in_batches(conn: Any) -> None:
    rows = sa.text(
        "SELECT id, user_id, trace FROM episodes WHERE trace IS NOT NULL AND id > :last "
        "ORDER BY id LIMIT :n"
    )
    insert = sa.text(
        "INSERT INTO episode_recalls (episode_id, user_id, kind, ref_id) VALUES (:e, :u, :k, :r)"
    )
    last = 0
    while True:
        batch = conn.execute(rows, {"last": last, "n": BATCH}).all()
        if not batch:
            return
        refs = [
            ref for episode_id, user_id, trace in batch for ref in _refs(episode_id, user_id, trace)
        ]
        if refs:
            conn.execute(insert, refs)
        last = int(batch[-1][0])


def _refs(episode_id: int, user_id: str, trace: str) -> list[dict[str, Any]]:
    try:
        recalled = json.loads(trace).get("recalled")
    except (ValueError, AttributeError):
        return []
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for m in recalled if isinstance(recalled, list) else []:
        if not isinstance(m, dict):
            continue
        kind, ref = m.get("kind"), m.get("id")
        if kind in KINDS and isinstance(ref, int) and not isinstance(ref, bool):
            seen[(kind, ref)] = {"e": episode_id, "u": user_id, "k": kind, "r": ref}
    return list(seen.values())


def downgrade() -> None:
    op.drop_index("ix_episode_recalls_user_id_ref", table_name="episode_recalls")
    op.drop_table("episode_recalls")
