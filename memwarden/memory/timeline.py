"""A user's episodes in order: who said each, when, and which ones sit next to it.

Recall scores a turn partly by its neighbours (an answer is often the turn after the
question that names its subject), prefers what a named speaker said, and looks up the
turns of a date the query names.  All of that needs the user's episodes in order, which
is cheap to keep and dear to re-read, so it is cached per database and user like the
vectors.  The cache is checked against the user's episode count and largest id (an
indexed query); new episodes are appended, anything else reloads.

(An episode id is reused only if the newest episode of the whole table is deleted and
another is written at once; the cache would then keep the deleted one's time and speaker
for the new one until the next change.  Recall texts are always read fresh.)
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from ..store.schema import episodes

__all__ = ["SAME_SESSION_GAP", "Timeline", "clear_cache", "mentions_time", "timeline"]

_TIME_WORDS = re.compile(
    r"\b(?:yesterday|today|tonight|tomorrow|ago|last|next|week|weekend|weeks|month|months|"
    r"year|years|monday|tuesday|wednesday|thursday|friday|saturday|sunday|january|february|"
    r"march|april|may|june|july|august|september|october|november|december|since|recently|"
    r"earlier|later|(?:19|20)\d\d)\b",
    re.I,
)


def mentions_time(text: str) -> bool:
    """Whether ``text`` says when something happened ("last week", "in May", "2022")."""
    return bool(_TIME_WORDS.search(text))


# Two consecutive turns without a session id belong together if this close in time.
SAME_SESSION_GAP = timedelta(minutes=30)
CACHE_USERS = 32


@dataclass(frozen=True)
class Timeline:
    """The user's episodes by id: neighbours within a session, speakers and times."""

    key: tuple[int, int]
    ids: list[int]
    positions: dict[int, int]
    whens: list[datetime]
    speakers: list[str | None]
    sessions: list[str | None]
    joined: list[bool]  # joined[k]: episode k continues the session of episode k - 1
    timed: list[bool]  # the text says when something happened ("last week", "in May")
    by_time: list[tuple[datetime, int]]  # sorted (when, id)
    speaker_names: frozenset[str]  # lower case

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

    def mentions_time(self, episode_id: int) -> bool:
        k = self.positions.get(episode_id)
        return self.timed[k] if k is not None else False

    def speaker(self, episode_id: int) -> str | None:
        k = self.positions.get(episode_id)
        return self.speakers[k] if k is not None else None

    def when(self, episode_id: int) -> datetime | None:
        k = self.positions.get(episode_id)
        return self.whens[k] if k is not None else None

    def between(self, start: datetime, end: datetime, limit: int) -> list[int]:
        """Up to ``limit`` episode ids with ``start <= when < end``."""
        lo = bisect.bisect_left(self.by_time, (start, -1))
        hi = bisect.bisect_left(self.by_time, (end, -1))
        return [i for _, i in self.by_time[lo : min(hi, lo + limit)]]


_lock = threading.Lock()
_cache: OrderedDict[tuple[str, str], Timeline] = OrderedDict()


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def timeline(conn: Connection, user_id: str) -> Timeline:
    """The user's current timeline, from the cache when it is current."""
    cache_key = (conn.engine.url.render_as_string(hide_password=True), user_id)
    count, last = conn.execute(
        select(func.count(), func.coalesce(func.max(episodes.c.id), 0)).where(
            episodes.c.user_id == user_id
        )
    ).one()
    key = (int(count), int(last))
    with _lock:
        cached = _cache.get(cache_key)
        if cached is not None:
            _cache.move_to_end(cache_key)
    if cached is not None and cached.key == key:
        return cached
    fresh = _load(conn, user_id, key, cached)
    with _lock:
        _cache[cache_key] = fresh
        _cache.move_to_end(cache_key)
        while len(_cache) > CACHE_USERS:
            _cache.popitem(last=False)
    return fresh


def _together(sa: str | None, sb: str | None, wa: datetime, wb: datetime) -> bool:
    if sa is not None and sb is not None:
        return sa == sb
    return abs(wa - wb) <= SAME_SESSION_GAP


def _meta(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _load(
    conn: Connection, user_id: str, key: tuple[int, int], previous: Timeline | None
) -> Timeline:
    def fetch(after: int) -> list[Any]:
        return list(
            conn.execute(
                select(
                    episodes.c.id,
                    episodes.c.ts,
                    episodes.c.occurred_at,
                    episodes.c.meta,
                    episodes.c.user_input,
                )
                .where(episodes.c.user_id == user_id, episodes.c.id > after)
                .order_by(episodes.c.id)
            )
        )

    after = previous.ids[-1] if previous is not None and previous.ids else 0
    rows = fetch(after)
    if previous is not None and len(previous.ids) + len(rows) != key[0]:
        previous = None  # something was deleted: start over
        rows = fetch(0)
    ids = list(previous.ids) if previous else []
    whens = list(previous.whens) if previous else []
    speakers = list(previous.speakers) if previous else []
    sessions = list(previous.sessions) if previous else []
    timed = list(previous.timed) if previous else []
    for row in rows:
        timed.append(mentions_time(row.user_input or ""))
        meta = _meta(row.meta)
        ids.append(int(row.id))
        whens.append((row.occurred_at or row.ts).replace(tzinfo=None))
        speaker = meta.get("speaker")
        speakers.append(str(speaker) if speaker else None)
        session = meta.get("session")
        sessions.append(str(session) if session is not None else None)
    joined = list(previous.joined) if previous else []
    for k in range(len(joined), len(ids)):
        joined.append(k > 0 and _together(sessions[k - 1], sessions[k], whens[k - 1], whens[k]))
    start = len(previous.ids) if previous else 0
    if previous is None:
        positions = {i: k for k, i in enumerate(ids)}
        by_time = sorted(zip(whens, ids, strict=True))
        names = frozenset(s.lower() for s in speakers if s)
    else:  # appended: extend the copies instead of rebuilding them
        positions = dict(previous.positions)
        by_time = list(previous.by_time)
        for k in range(start, len(ids)):
            positions[ids[k]] = k
            bisect.insort(by_time, (whens[k], ids[k]))
        names = previous.speaker_names | {s.lower() for s in speakers[start:] if s}
    return Timeline(
        key=key,
        ids=ids,
        positions=positions,
        whens=whens,
        speakers=speakers,
        sessions=sessions,
        joined=joined,
        timed=timed,
        by_time=by_time,
        speaker_names=frozenset(names),
    )
