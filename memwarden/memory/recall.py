"""Recall: find the user's memories that bear on what they just said.

Lexical recall over the store's full-text index (BM25), for episodes and beliefs.
Scores are normalised per kind to 0..1 so that they can be compared and shown in traces.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from ..store.search import SearchBackend
from .beliefs import get_beliefs
from .episodes import get_episodes

__all__ = ["RecalledMemory", "query_terms", "recall"]

STOP_WORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't cannot could couldn't did didn't do does
    doesn't doing don't down during each few for from further had hadn't has hasn't have
    haven't having he he'd he'll he's her here here's hers herself him himself his how how's
    i i'd i'll i'm i've if in into is isn't it it's its itself let's me more most mustn't my
    myself no nor not of off on once only or other ought our ours ourselves out over own same
    shan't she she'd she'll she's should shouldn't so some such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've this
    those through to too under until up very was wasn't we we'd we'll we're we've were weren't
    what what's when when's where where's which while who who's whom why why's with won't
    would wouldn't you you'd you'll you're you've your yours yourself yourselves tell know
    please just also really like yes ok okay hey hi hello thanks thank""".split()
)
_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")


@dataclass(frozen=True)
class RecalledMemory:
    """A memory brought back for a turn, with why it matched."""

    kind: str  # "episode" or "belief"
    id: int
    text: str
    score: float  # fused score, 0..1
    lexical: float  # raw BM25 (higher is better)
    matched: tuple[str, ...] = field(default=())
    when: datetime | None = None


def query_terms(text: str) -> list[str]:
    """The words of ``text`` worth searching for: lower-case, no stop words."""
    words = [w.strip("'-") for w in _WORD.findall(text.lower())]
    return [w for w in dict.fromkeys(words) if len(w) > 1 and w not in STOP_WORDS]


def _stem(word: str) -> str:
    # Crude, only for explaining matches ("lives", "living", "live" -> "liv"); the
    # index itself stems with Porter.
    for suffix in ("ing", "ies", "ied", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _matched(terms: Sequence[str], text: str) -> tuple[str, ...]:
    stems = {_stem(w) for w in _WORD.findall(text.lower())}
    return tuple(t for t in terms if _stem(t) in stems)


def _normalise(hits: list[tuple[int, float]]) -> dict[int, tuple[float, float]]:
    if not hits:
        return {}
    top = max(score for _, score in hits) or 1.0
    return {i: (max(0.0, s) / top if top > 0 else 0.0, s) for i, s in hits}


def recall(
    conn: Connection,
    search: SearchBackend,
    user_id: str,
    query: str,
    *,
    episodes: int,
    beliefs: int,
) -> list[RecalledMemory]:
    """The user's memories most relevant to ``query``: beliefs first, then episodes."""
    terms = query_terms(query)
    if not terms:
        return []
    out: list[RecalledMemory] = []
    belief_hits = _normalise(search.search_beliefs(conn, user_id, terms, beliefs))
    for belief_id, belief in get_beliefs(conn, user_id, list(belief_hits)).items():
        score, raw = belief_hits[belief_id]
        out.append(
            RecalledMemory(
                "belief", belief_id, belief.statement, score, raw,
                _matched(terms, belief.statement), belief.updated_at,
            )
        )
    episode_hits = _normalise(search.search_episodes(conn, user_id, terms, episodes))
    for episode_id, episode in get_episodes(conn, user_id, list(episode_hits)).items():
        score, raw = episode_hits[episode_id]
        out.append(
            RecalledMemory(
                "episode", episode_id, episode.user_input, score, raw,
                _matched(terms, episode.user_input), episode.when,
            )
        )
    out.sort(key=lambda m: (m.kind != "belief", -m.score, -m.id))
    return out
