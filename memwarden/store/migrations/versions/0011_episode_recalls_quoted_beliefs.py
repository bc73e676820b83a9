"""``episode_recalls`` also holds the beliefs a turn quoted without recalling them.

Every draft is given the user's beliefs and the values its new facts replace, so a
reply can name a belief that recall did not return ("You told me that your name is
Ana Kowalczyk", "you live in Berlin now (I had Porto before)").  Turns record those
beliefs since this release (``memory/references.py``); this backfills stored turns: a
turn quotes a belief when the words of one of its values (``belief_words``), introduced
by an earlier turn, stand in its draft or reply.  Without the row, a delete of that
belief, or of the turn that introduced the value, would not find the quoting turn.

One pass over each user's episodes that have beliefs, in Python on both engines, with
the turn's own test (``quoted_beliefs``) on its drafts (the rewrites' in the trace) and
reply.  The schema does not change; the downgrade keeps the rows, which only make a
delete look at more turns.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from __future__ import annotations

import json
import re
from typing import Any

import sqlalchemy as sa
from alembic import op

from memwarden.memory.references import belief_words, quoted_beliefs

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

BATCH = 2000

_USERS = sa.text("SELECT DISTINCT user_id FROM semantic_beliefs ORDER BY user_id")
# Each value a belief had, with the turn that gave it (NULL: a hand-made entry).
_VALUES = sa.text(
    "SELECT h.belief_id, b.key, h.new_value, h.episode_id FROM belief_history AS h "
    "JOIN semantic_beliefs AS b ON b.id = h.belief_id WHERE b.user_id = :u"
)
_EPISODES = sa.text(
    "SELECT id, draft, reply, trace FROM episodes WHERE user_id = :u AND id > :last "
    "ORDER BY id LIMIT :n"
)
_LINKED = sa.text(
    "SELECT episode_id, ref_id FROM episode_recalls WHERE user_id = :u AND kind = 'belief'"
)
_ROW = "(episode_id, user_id, kind, ref_id) VALUES (:e, :u, 'belief', :r)"
# A turn committed during the upgrade (PostgreSQL lets turns go on) may have written a
# row the backfill is about to: it is the same row.
_INSERT = {
    "sqlite": sa.text(f"INSERT OR IGNORE INTO episode_recalls {_ROW}"),
    "postgresql": sa.text(f"INSERT INTO episode_recalls {_ROW} ON CONFLICT DO NOTHING"),
}


def upgrade() -> None:
    conn = op.get_bind()
    for (user_id,) in conn.execute(_USERS).all():
        _backfill_user(conn, str(user_id))


def _backfill_user(conn: Any, user_id: str) -> None:
    # (turn that gave the value, belief, key, value), and every value's words in one
    # pattern: a quick test that passes every turn quoted_beliefs() then confirms (no
    # word boundaries here: a superset; 5x faster than quoted_beliefs() on every turn).
    values = [
        (int(since or 0), int(b), str(key), str(value))
        for b, key, value, since in conn.execute(_VALUES, {"u": user_id})
    ]
    words = {w for _, _, key, value in values for w in belief_words(key, value)}
    if not words:
        return
    maybe = re.compile("|".join(map(re.escape, sorted(words, key=len, reverse=True))))
    linked = {(int(e), int(r)) for e, r in conn.execute(_LINKED, {"u": user_id})}
    insert = _INSERT[conn.dialect.name]
    last = 0
    while True:
        batch = conn.execute(_EPISODES, {"u": user_id, "last": last, "n": BATCH}).all()
        if not batch:
            return
        rows = []
        for episode_id, draft, reply, trace in batch:
            episode_id = int(episode_id)
            # What the turn wrote: its first draft, reply, and any rewrite's draft (kept
            # in the trace), as the turn itself checks them.
            texts = [str(draft), str(reply)]
            if trace is not None and maybe.search(str(trace)):
                texts += _drafts(str(trace))
            if not any(maybe.search(t) for t in texts):
                continue
            earlier = [(b, k, v) for since, b, k, v in values if since < episode_id]
            for belief_id in quoted_beliefs(earlier, texts):
                if (episode_id, belief_id) not in linked:
                    linked.add((episode_id, belief_id))
                    rows.append({"e": episode_id, "u": user_id, "r": belief_id})
        if rows:
            conn.execute(insert, rows)
        last = int(batch[-1][0])


def _drafts(trace: str) -> list[str]:
    """The drafts a stored trace lists (none if it does not parse)."""
    try:
        drafts = json.loads(trace).get("drafts")
    except (ValueError, AttributeError):
        return []
    return [d for d in drafts if isinstance(d, str)] if isinstance(drafts, list) else []


def downgrade() -> None:
    pass  # the rows stay: under 0010's reading they are turns a delete looks at, no more
