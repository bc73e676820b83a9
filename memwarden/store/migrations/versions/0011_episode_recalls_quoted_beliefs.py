"""``episode_recalls`` also holds the beliefs a turn quoted without recalling them.

Every draft is given the user's beliefs and the values its new facts replace, so a
reply can name a belief that recall did not return ("You told me that your name is
Ana Kowalczyk", "you live in Berlin now (I had Porto before)").  Turns record those
beliefs since this release (``memory/references.py``); this backfills stored turns: a
turn quotes a belief when the words of one of its values (``belief_words``), introduced
by an earlier turn, stand in its draft or reply.  Without the row, a delete of that
belief, or of the turn that introduced the value, would not find the quoting turn.

One pass over each user's episodes that have beliefs, in Python on both engines (the
whole-word test is the turn's own).  The schema does not change; the downgrade keeps the
rows, which only make a delete look at more turns.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from alembic import op

from memwarden.memory.references import belief_words

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
    "SELECT id, draft, reply FROM episodes WHERE user_id = :u AND id > :last ORDER BY id LIMIT :n"
)
_LINKED = sa.text(
    "SELECT episode_id, ref_id FROM episode_recalls WHERE user_id = :u AND kind = 'belief'"
)
_INSERT = sa.text(
    "INSERT INTO episode_recalls (episode_id, user_id, kind, ref_id) VALUES (:e, :u, 'belief', :r)"
)


def upgrade() -> None:
    conn = op.get_bind()
    for (user_id,) in conn.execute(_USERS).all():
        _backfill_user(conn, str(user_id))


def _backfill_user(conn: Any, user_id: str) -> None:
    # word -> (turn that gave the value, belief) for every word of every value; one
    # pattern finds them all in a turn (the test of quoted_beliefs(), ~5x faster here)
    sources: dict[str, list[tuple[int, int]]] = {}
    for b, key, value, since in conn.execute(_VALUES, {"u": user_id}):
        for word in belief_words(str(key), str(value)):
            sources.setdefault(word, []).append((int(since or 0), int(b)))
    if not sources:
        return
    words = sorted(sources, key=len, reverse=True)  # the longest of overlapping words
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")
    linked = {(int(e), int(r)) for e, r in conn.execute(_LINKED, {"u": user_id})}
    last = 0
    while True:
        batch = conn.execute(_EPISODES, {"u": user_id, "last": last, "n": BATCH}).all()
        if not batch:
            return
        rows = []
        for episode_id, draft, reply in batch:
            episode_id = int(episode_id)
            found = set(pattern.findall(f"{draft}\n{reply}"))
            quoted = {b for w in found for since, b in sources[w] if since < episode_id}
            for belief_id in sorted(quoted):
                if (episode_id, belief_id) not in linked:
                    linked.add((episode_id, belief_id))
                    rows.append({"e": episode_id, "u": user_id, "r": belief_id})
        if rows:
            conn.execute(_INSERT, rows)
        last = int(batch[-1][0])


def downgrade() -> None:
    pass  # the rows stay: under 0010's reading they are turns a delete looks at, no more
