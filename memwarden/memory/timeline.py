"""A user's episodes in order: who said each, when, and which ones sit next to it.

Recall scores a turn partly by its neighbours (an answer is often the turn after the
question that names its subject), prefers what a named speaker said, and looks up the
turns of a date the query names.  All of that needs the user's episodes in order, which
is cheap to keep and dear to re-read, so it is cached per database and user like the
vectors.  The cache is checked against the user's episode count, largest id and sum of
ids (one walk of the user's ``(user_id, id)`` index range); new episodes are appended
when those add up, deleted ones are found
by reading the user's ids alone (the same index) and dropped, and only a cache that
cannot be reconciled is reloaded.  The cache holds up to :data:`CACHE_EPISODES` episodes
over all users (~200 bytes each), least recently used users first out.

Whether a turn's text mentions a time (for "when" questions) is decided only for the
candidates of such a question, and remembered (:func:`time_mentions`).

(A user's ids only grow: a new episode's id is above every id the user ever had, also
deleted ones (deleted since migration 0008), ``store/blocks.py``.  Rows written by hand or copied in may follow no such
order; count, largest id and sum can then still match a changed set only by arithmetic
coincidence.  Recall uses the cached ids as the owner check of its full-text hits, and
reads every text it returns with ``user_id`` in the query, which stays the proof of
ownership.  A text rewritten in place keeps its time mention here.  Recall texts are
always read fresh, so neither can bring back words that are gone.)
"""

from __future__ import annotations

import bisect
import json
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, select

from ..store.schema import episodes

__all__ = [
    "CACHE_EPISODES",
    "SAME_SESSION_GAP",
    "Timeline",
    "clear_cache",
    "forget_user",
    "mentions_time",
    "time_mentions",
    "timeline",
]

# Written in lower case and matched case-sensitively on lower-cased text: the same
# matches as with re.IGNORECASE, about four times faster in CPython's re.
_TIME_WORDS = re.compile(
    r"\b(?:yesterday|today|tonight|tomorrow|ago|last|next|week|weekend|weeks|month|months|"
    r"year|years|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|"
    r"march|april|may|june|july|august|september|october|november|december|since|recently|"
    r"earlier|later|(?:19|20)\d\d)\b"
)


def mentions_time(text: str) -> bool:
    """Whether ``text`` says when something happened ("last week", "in May", "2022")."""
    return bool(_TIME_WORDS.search(text.lower()))


# Two consecutive turns without a session id belong together if this close in time.
SAME_SESSION_GAP = timedelta(minutes=30)
# Episodes kept in memory over all cached users (each user also counts _USER_WEIGHT).
CACHE_EPISODES = 500_000
_USER_WEIGHT = 16


@dataclass(frozen=True)
class Timeline:
    """The user's episodes by id: neighbours within a session, speakers and times."""

    key: tuple[int, int, int]  # (episode count, largest id, sum of ids) it was built from
    ids: list[int]  # ascending
    positions: dict[int, int]
    whens: list[datetime]
    speakers: list[str | None]
    sessions: list[str | None]
    joined: list[bool]  # joined[k]: episode k continues the session of episode k - 1
    order: list[int]  # positions sorted by (when, id)
    speaker_names: frozenset[str]  # lower case
    # Episode id -> whether its text mentions a time; filled on demand (time_mentions).
    timed: dict[int, bool] = field(default_factory=dict, compare=False, repr=False)

    def previous(self, episode_id: int) -> int | None:
        """The episode just before, in the same session."""
        k = self.positions.get(episode_id)
        return self.ids[k - 1] if k is not None and self.joined[k] else None

    def next(self, episode_id: int) -> int | None:
        """The episode just after, in the same session."""
        k = self.positions.get(episode_id)
        return (
            self.ids[k + 1]
            if k is not None and k + 1 < len(self.ids) and self.joined[k + 1]
            else None
        )

    def speaker(self, episode_id: int) -> str | None:
        k = self.positions.get(episode_id)
        return self.speakers[k] if k is not None else None

    def when(self, episode_id: int) -> datetime | None:
        k = self.positions.get(episode_id)
        return self.whens[k] if k is not None else None

    def between(self, start: datetime, end: datetime, limit: int) -> list[int]:
        """Up to ``limit`` episode ids with ``start <= when < end``, earliest first."""
        whens = self.whens
        lo = bisect.bisect_left(self.order, start, key=whens.__getitem__)
        hi = bisect.bisect_left(self.order, end, lo=lo, key=whens.__getitem__)
        return [self.ids[k] for k in self.order[lo : min(hi, lo + limit)]]


# Count, largest id and sum of ids: count and largest id alone can match a changed set
# of rows written by hand or copied in (ids reused); the sum must match too.  One walk
# of the user's index range.
_KEY = select(
    func.count(),
    func.coalesce(func.max(episodes.c.id), 0),
    func.coalesce(func.sum(episodes.c.id), 0),
).where(episodes.c.user_id == bindparam("user_id"))
_ROWS = (
    select(episodes.c.id, episodes.c.ts, episodes.c.occurred_at, episodes.c.meta)
    .where(episodes.c.user_id == bindparam("user_id"), episodes.c.id > bindparam("after"))
    .order_by(episodes.c.id)
)
_IDS = select(episodes.c.id).where(episodes.c.user_id == bindparam("user_id"))

_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str], Timeline] = OrderedDict()
_held = 0  # episodes (plus per-user weight) in _cache


def clear_cache() -> None:
    global _held
    with _lock:
        _cache.clear()
        _held = 0


def forget_user(conn: Connection, user_id: str) -> None:
    """Drop the user's cached timeline (see ``recall.forget_cached``)."""
    global _held
    url = conn.engine.url.render_as_string(hide_password=True)
    with _lock:
        old = _cache.pop((url, user_id), None)
        if old is not None:
            _held -= len(old.ids) + _USER_WEIGHT


def timeline(conn: Connection, user_id: str) -> Timeline:
    """The user's current timeline, from the cache when it is current."""
    global _held
    cache_key = (conn.engine.url.render_as_string(hide_password=True), user_id)
    count, last, total = (int(v) for v in conn.execute(_KEY, {"user_id": user_id}).one())
    with _lock:
        cached = _cache.get(cache_key)
        if cached is not None:
            _cache.move_to_end(cache_key)
    if cached is not None and cached.key == (count, last, total):
        return cached
    fresh = _load(conn, user_id, count, total, cached)
    with _lock:
        old = _cache.pop(cache_key, None)
        if old is not None:
            _held -= len(old.ids) + _USER_WEIGHT
        _cache[cache_key] = fresh
        _held += len(fresh.ids) + _USER_WEIGHT
        while _held > CACHE_EPISODES and len(_cache) > 1:
            _, evicted = _cache.popitem(last=False)
            _held -= len(evicted.ids) + _USER_WEIGHT
    return fresh


def time_mentions(conn: Connection, user_id: str, line: Timeline, ids: Iterable[int]) -> set[int]:
    """Which of the user's episodes ``ids`` mention a time; texts not yet seen are read
    (one query per 500) and the answer is remembered in ``line``."""
    wanted = [i for i in ids if i in line.positions]
    missing = [i for i in wanted if i not in line.timed]
    for start in range(0, len(missing), 500):
        rows = conn.execute(
            select(episodes.c.id, episodes.c.user_input).where(
                episodes.c.user_id == user_id, episodes.c.id.in_(missing[start : start + 500])
            )
        )
        for episode_id, text in rows:
            line.timed[int(episode_id)] = mentions_time(text or "")
    return {i for i in wanted if line.timed.get(i)}


def _together(sa: str | None, sb: str | None, wa: datetime, wb: datetime) -> bool:
    if sa is not None and sb is not None:
        return sa == sb
    return abs(wa - wb) <= SAME_SESSION_GAP


def _meta(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # nested past the decoder's depth too
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class _Columns:
    ids: list[int]
    whens: list[datetime]
    speakers: list[str | None]
    sessions: list[str | None]

    def add(self, rows: Iterable[Any]) -> None:
        for episode_id, ts, occurred_at, raw in rows:
            when = occurred_at or ts
            if when.tzinfo is not None:
                when = when.replace(tzinfo=None)
            self.ids.append(int(episode_id))
            self.whens.append(when)
            meta = _meta(raw) if raw else {}
            speaker = meta.get("speaker")
            self.speakers.append(sys.intern(str(speaker)) if speaker else None)
            session = meta.get("session")
            self.sessions.append(sys.intern(str(session)) if session is not None else None)


def _load(
    conn: Connection, user_id: str, count: int, total: int, previous: Timeline | None
) -> Timeline:
    after = previous.ids[-1] if previous is not None and previous.ids else 0
    rows = conn.execute(_ROWS, {"user_id": user_id, "after": after}).all()
    if (
        previous is not None
        and len(previous.ids) + len(rows) == count
        and previous.key[2] + sum(int(r[0]) for r in rows) == total
    ):
        return _appended(previous, rows)
    if previous is not None and previous.ids:
        # Something was deleted: keep the cached episodes that are still there.
        present = set(conn.execute(_IDS, {"user_id": user_id}).scalars())
        keep = [k for k, i in enumerate(previous.ids) if i in present]
        if len(keep) + len(rows) == len(present):
            kept = _Columns(
                [previous.ids[k] for k in keep],
                [previous.whens[k] for k in keep],
                [previous.speakers[k] for k in keep],
                [previous.sessions[k] for k in keep],
            )
            kept.add(rows)
            timed = {i: t for i, t in previous.timed.items() if i in present}
            return _built(kept, timed)
    fresh = _Columns([], [], [], [])
    fresh.add(rows if previous is None else conn.execute(_ROWS, {"user_id": user_id, "after": 0}))
    return _built(fresh, {})


def _joined(columns: _Columns, k: int) -> bool:
    c = columns
    return k > 0 and _together(c.sessions[k - 1], c.sessions[k], c.whens[k - 1], c.whens[k])


def _built(columns: _Columns, timed: dict[int, bool]) -> Timeline:
    ids, whens = columns.ids, columns.whens
    return Timeline(
        key=(len(ids), ids[-1] if ids else 0, sum(ids)),
        ids=ids,
        positions={i: k for k, i in enumerate(ids)},
        whens=whens,
        speakers=columns.speakers,
        sessions=columns.sessions,
        joined=[_joined(columns, k) for k in range(len(ids))],
        order=sorted(range(len(ids)), key=whens.__getitem__),  # stable: ties by id
        speaker_names=frozenset(s.lower() for s in set(columns.speakers) if s),
        timed=timed,
    )


def _appended(previous: Timeline, rows: Sequence[Any]) -> Timeline:
    """``previous`` with new episodes at the end (copies: readers may hold the old one)."""
    columns = _Columns(
        list(previous.ids), list(previous.whens), list(previous.speakers), list(previous.sessions)
    )
    start = len(columns.ids)
    columns.add(rows)
    ids, whens = columns.ids, columns.whens
    positions = dict(previous.positions)
    joined = list(previous.joined)
    order = list(previous.order)
    for k in range(start, len(ids)):
        positions[ids[k]] = k
        joined.append(_joined(columns, k))
        bisect.insort(order, k, key=lambda j: (whens[j], j))
    names = previous.speaker_names | {s.lower() for s in columns.speakers[start:] if s}
    return Timeline(
        key=(len(ids), ids[-1] if ids else 0, previous.key[2] + sum(ids[start:])),
        ids=ids,
        positions=positions,
        whens=whens,
        speakers=columns.speakers,
        sessions=columns.sessions,
        joined=joined,
        order=order,
        speaker_names=frozenset(names),
        timed=previous.timed,  # keyed by id; the new timeline holds every old id
    )
