"""Which memories each turn drew on (``episode_recalls``): written with the turn, read
by deletes to find the later turns that may quote what they delete.

A turn draws on the memories it recalled, and on the beliefs its draft quotes without
recalling them: every draft is given the user's beliefs and the values the turn's new
facts replace ("you live in Berlin now (I had Porto before)").  Those are found by their
words in the drafts and the reply (:func:`quoted_beliefs`) and recorded as beliefs too.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from functools import lru_cache

from sqlalchemy import Connection, insert, text

from ..store import driver
from ..store.schema import episode_recalls
from .facts import statement_for

__all__ = [
    "BELIEF",
    "EPISODE",
    "belief_words",
    "forget_references",
    "quoted_beliefs",
    "recalling_episodes",
    "record_recalls",
    "still_there",
]

EPISODE, BELIEF = "episode", "belief"

# Keys whose value is a verb or a flag ("likes", "speaks", "yes"): the words worth
# finding are in the statement, not the value.
_GENERIC_VALUES = ("preference:", "language:", "allergy:")


@lru_cache(maxsize=8192)  # a turn looks at up to 200 beliefs, mostly the same each turn
def belief_words(key: str, value: str) -> tuple[str, ...]:
    """The words by which a belief's value is quoted: the value itself when it names
    something (a place, a person, an employer), and its statement."""
    statement = statement_for(key, value)
    if not key.startswith(_GENERIC_VALUES) and len(value.strip()) >= 3:
        return (value.strip(), statement)
    return (statement,)


def quoted_beliefs(beliefs: Iterable[tuple[int, str, str]], texts: Iterable[str]) -> list[int]:
    """Ids of the ``(id, key, value)`` beliefs whose words stand, as whole words, in one of
    ``texts`` (a turn's drafts and reply)."""
    written = "\n".join(t for t in texts if t)
    found: list[int] = []
    for belief_id, key, value in beliefs:
        for word in belief_words(key, value):
            # A substring test first: most beliefs are in no reply.
            if word in written and re.search(rf"\b{re.escape(word)}\b", written):
                found.append(belief_id)
                break
    return list(dict.fromkeys(found))


_INSERT = insert(episode_recalls)
_FORGET = driver.AnyOf(
    "DELETE FROM episode_recalls WHERE user_id = :u AND kind = :k AND ref_id {ids}"
)


def record_recalls(
    conn: Connection, user_id: str, episode_id: int, recalled: Iterable[tuple[str, int]]
) -> None:
    """Record that ``episode_id``'s turn recalled each ``(kind, id)``."""
    rows = [
        {"episode_id": episode_id, "user_id": user_id, "kind": kind, "ref_id": ref}
        for kind, ref in dict.fromkeys(recalled)
    ]
    if rows:
        conn.execute(_INSERT, rows)


def recalling_episodes(
    conn: Connection,
    user_id: str,
    after: int,
    *,
    episode: int | None = None,
    beliefs: Collection[int] = (),
) -> list[int]:
    """The user's episodes after ``after`` whose turn recalled ``episode`` or one of
    ``beliefs``, in order."""
    if episode is None and not beliefs:
        return []
    if not beliefs:
        found = driver.rows(conn, _RECALLING, {"u": user_id, "a": after, "e": episode})
    else:
        statement = _RECALLING_BELIEFS if episode is None else _RECALLING_WITH_BELIEFS
        found = driver.rows(conn, *statement.bind(conn, u=user_id, a=after, e=episode, b=beliefs))
    return [int(r[0]) for r in found]


# Built once: every delete runs one (building the statement cost as much as running it).
_RECALLING = text(
    "SELECT DISTINCT episode_id FROM episode_recalls WHERE user_id = :u "
    "AND kind = 'episode' AND ref_id = :e AND episode_id > :a ORDER BY episode_id"
)
_RECALLING_WITH_BELIEFS = driver.AnyOf(
    "SELECT DISTINCT episode_id FROM episode_recalls WHERE user_id = :u AND episode_id > :a "
    "AND ((kind = 'episode' AND ref_id = :e) OR (kind = 'belief' AND ref_id {b})) "
    "ORDER BY episode_id"
)
_RECALLING_BELIEFS = driver.AnyOf(
    "SELECT DISTINCT episode_id FROM episode_recalls WHERE user_id = :u AND episode_id > :a "
    "AND kind = 'belief' AND ref_id {b} ORDER BY episode_id"
)


def still_there(conn: Connection, user_id: str, refs: Iterable[tuple[str, int]]) -> bool:
    """Whether every ``(kind, id)`` memory is still the user's (one statement)."""
    wanted = {kind: sorted({i for k, i in refs if k == kind}) for kind in (EPISODE, BELIEF)}
    if not wanted[EPISODE] and not wanted[BELIEF]:
        return True
    found = driver.first(
        conn, *_STILL_THERE.bind(conn, u=user_id, e=wanted[EPISODE], b=wanted[BELIEF])
    )
    assert found is not None  # two counts: always one row
    return (int(found[0]), int(found[1])) == (len(wanted[EPISODE]), len(wanted[BELIEF]))


# The ids as one array parameter, not an expanding IN list: the statement text never
# changes, so it is compiled (and on PostgreSQL prepared) once (SQLite 0.20 -> 0.09 ms
# a turn, benchmarks/bench_drawn_on.py).
_STILL_THERE = driver.AnyOf(
    "SELECT (SELECT COUNT(*) FROM episodes WHERE user_id = :u AND id {e}), "
    "(SELECT COUNT(*) FROM semantic_beliefs WHERE user_id = :u AND id {b})"
)


def forget_references(conn: Connection, user_id: str, kind: str, ids: Collection[int]) -> None:
    """Drop the rows that point at deleted memories (their turns were scrubbed)."""
    if ids:
        driver.execute(conn, *_FORGET.bind(conn, ids=ids, u=user_id, k=kind))
