"""Recall: find the user's memories that bear on what they just said.

Hybrid: lexical BM25 over the full-text index (term by term, with each turn's
neighbours as context), dense cosine over sentence embeddings when the ``[embeddings]``
extra is installed, fused with a few signals (:mod:`.fusion`): the named speaker, the
time a "when" question asks about, a date the query names, and the beliefs the query
matched (their source episodes).  Without embeddings the same pipeline runs on the
lexical evidence alone.

Each recalled memory carries its evidence for ``/trace``: ``lexical`` (BM25), ``dense``
(cosine, None without embeddings), ``fused`` (the ranking score, z units) and the
``signals`` that added to it; ``score`` is ``fused`` scaled to 0..1 within its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from ..store.schema import belief_sources, episodes
from ..store.search import SearchBackend
from .beliefs import get_beliefs
from .embeddings import Embedder, submit
from .fusion import Candidate, Weights, fuse
from .query import STOP_WORDS, QueryPlan, plan_query, query_terms
from .timeline import Timeline, time_mentions, timeline
from .timeline import forget_user as _forget_timeline
from .vectors import forget_user as _forget_vectors

__all__ = ["STOP_WORDS", "RecalledMemory", "forget_cached", "query_terms", "recall"]


def forget_cached(conn: Connection, user_id: str) -> None:
    """Drop what recall keeps in memory of the user (vectors, timeline) in this process,
    after a delete commits.  Best effort: a recall running at that moment may cache the
    older rows again, and other processes keep theirs; each recall checks its cache
    against the database before using it, so deleted rows are never recalled, and they
    leave the cache at the user's next recall at the latest."""
    _forget_vectors(conn, user_id)
    _forget_timeline(conn, user_id)


DATE_LIMIT = 500  # episodes looked at on a date the query names


def _pool_size(limit: int) -> int:
    """How many seeds each kind of evidence adds: twice what is asked, at least 50
    (for 50 asked, 200 dense seeds gave the same recall as 100 on LoCoMo dev)."""
    return max(50, 2 * limit)


def _term_limit(limit: int) -> int:
    """BM25 hits read per query term: twice the seeds (for 50 asked, 200 per term; 100
    cost 0.7 points of R@10 on LoCoMo dev, 50 cost 1.6)."""
    return 2 * _pool_size(limit)


@dataclass(frozen=True)
class RecalledMemory:
    """A memory brought back for a turn, with why it matched."""

    kind: str  # "episode" or "belief"
    id: int
    text: str
    score: float  # fused score scaled to 0..1 within its kind
    lexical: float  # BM25 (episodes: term by term, with neighbouring turns as context)
    matched: tuple[str, ...] = field(default=())
    when: datetime | None = None
    dense: float | None = None  # cosine similarity to the query; None without embeddings
    fused: float = 0.0  # the score the ranking used (z units)
    signals: dict[str, float] = field(default_factory=dict, compare=False, hash=False)

    def as_trace(self) -> dict[str, Any]:
        """What an episode's trace keeps of it: every field but ``when`` (shallow, for
        JSON: ``dataclasses.asdict`` deep-copies, a tenth of a millisecond a turn)."""
        return {name: getattr(self, name) for name in _TRACE_FIELDS}


_TRACE_FIELDS = tuple(f.name for f in fields(RecalledMemory) if f.name != "when")


def recall(
    conn: Connection,
    search: SearchBackend,
    user_id: str,
    query: str,
    *,
    episodes: int,
    beliefs: int,
    embedder: Embedder | None = None,
    query_vector: Any = None,
    pending_vector: Callable[[], Any] | None = None,
    weights: Weights | None = None,
) -> list[RecalledMemory]:
    """The user's memories most relevant to ``query``: beliefs first, then episodes.

    With ``embedder`` (or a precomputed unit ``query_vector`` of its model), recall is
    hybrid; without, lexical.  ``pending_vector``, if given, returns the query vector
    (say, of an embedding still running on another thread): it is called only once the
    full-text index has been read.
    """
    plan = plan_query(query)
    if not plan.terms and not plan.dates:
        return []  # nothing but stop words ("ok", "how are you?"): nothing to look for
    if pending_vector is None and embedder is not None and query_vector is None:
        # Embed on the helper thread while this one reads the index (both release the GIL).
        pending_vector = submit(lambda: embedder.embed([query])[0]).result
    weights = weights or Weights()
    lexical = _lexical(conn, search, user_id, plan, beliefs, episodes)
    if pending_vector is not None:
        query_vector = pending_vector()
    vectors = None
    if embedder is not None and query_vector is not None:
        from .vectors import user_vectors

        vectors = user_vectors(conn, user_id, embedder.model, embedder.dim)
    found_beliefs, provenance = (
        _beliefs(conn, user_id, plan, beliefs, lexical.beliefs, vectors, query_vector)
        if beliefs > 0
        else ([], {})
    )
    found_episodes = (
        _episodes(
            conn, user_id, plan, episodes, lexical, vectors, query_vector, provenance, weights
        )
        if episodes > 0
        else []
    )
    return found_beliefs + found_episodes


@dataclass
class _Lexical:
    beliefs: dict[int, float]
    line: Timeline | None
    term_hits: list[list[tuple[int, float]]]


def _lexical(
    conn: Connection,
    search: SearchBackend,
    user_id: str,
    plan: QueryPlan,
    beliefs: int,
    episodes: int,
) -> _Lexical:
    """Everything recall reads from the full-text index and the timeline."""
    found = (
        dict(search.search_beliefs(conn, user_id, plan.terms, beliefs * 2))
        if beliefs > 0 and plan.terms
        else {}
    )
    line = timeline(conn, user_id) if episodes > 0 else None
    hits = (
        # The timeline holds the user's episode ids as of this transaction (checked
        # against their count, largest id and sum): the hits' owner check uses them.
        search.search_episode_terms(
            conn, user_id, plan.terms, _term_limit(episodes), owned=line.positions
        )
        if line is not None and line.ids and plan.terms
        else []
    )
    return _Lexical(found, line, hits)


def _beliefs(
    conn: Connection,
    user_id: str,
    plan: QueryPlan,
    limit: int,
    lexical: dict[int, float],
    vectors: Any,
    query_vector: Any,
) -> tuple[list[RecalledMemory], dict[int, float]]:
    """Beliefs by BM25 (scaled to the best) plus cosine; and, for provenance, each
    matched belief's source episodes with the belief's 0..1 score."""
    dense: dict[int, float] = {}
    if vectors is not None and len(vectors.belief_ids):
        cosines = vectors.belief_scores(query_vector)
        order = cosines.argsort()[::-1][: limit * 2]
        dense = {int(vectors.belief_ids[k]): float(cosines[k]) for k in order}
    top = max(lexical.values(), default=0.0) or 1.0
    scored = {
        i: lexical.get(i, 0.0) / top + max(0.0, dense.get(i, 0.0))
        for i in set(lexical) | set(dense)
    }
    # A belief the query does not share a word with must be close in meaning to count.
    scored = {i: s for i, s in scored.items() if i in lexical or dense.get(i, 0.0) >= 0.5}
    ranked = sorted(scored, key=lambda i: (-scored[i], -i))[:limit]
    rows = get_beliefs(conn, user_id, ranked)
    best = max((scored[i] for i in ranked), default=1.0) or 1.0
    out = [
        RecalledMemory(
            kind="belief",
            id=i,
            text=rows[i].statement,
            score=round(scored[i] / best, 4),
            lexical=round(lexical.get(i, 0.0), 6),
            matched=_matched(plan.terms, rows[i].statement),
            when=rows[i].updated_at,
            dense=round(dense[i], 4) if i in dense else None,
            fused=round(scored[i], 4),
        )
        for i in ranked
        if i in rows
    ]
    provenance: dict[int, float] = {}
    if out:
        strength = {m.id: m.score for m in out}
        for episode_id, belief_id in conn.execute(
            _SOURCES, {"user_id": user_id, "ids": list(strength)}
        ):
            provenance[int(episode_id)] = max(
                provenance.get(int(episode_id), 0.0), strength[belief_id]
            )
    return out, provenance


def _episodes(
    conn: Connection,
    user_id: str,
    plan: QueryPlan,
    limit: int,
    lexical: _Lexical,
    vectors: Any,
    query_vector: Any,
    provenance: dict[int, float],
    weights: Weights,
) -> list[RecalledMemory]:
    line = lexical.line
    if line is None or not line.ids:
        return []
    term_hits = lexical.term_hits
    dense_seeds: list[int] = []
    dense_of = None
    dense_stats = None
    if vectors is not None and len(vectors.episode_ids):
        cosines = vectors.episode_scores(query_vector)
        k = min(_pool_size(limit), len(cosines))
        best = cosines.argpartition(len(cosines) - k)[len(cosines) - k :]
        dense_seeds = [int(vectors.episode_ids[j]) for j in best]
        dense_stats = (float(cosines.mean()), float(cosines.std()) or 1.0)
        dense_of = _DenseScores(vectors.positions, cosines)
    candidates = fuse(
        plan,
        term_hits,
        line,
        dense=dense_of,
        dense_seeds=dense_seeds,
        dense_stats=dense_stats,
        dated=_dated(plan, line),
        provenance=provenance,
        weights=weights,
        keep=limit,
        seed_limit=_pool_size(limit),
        time_mentions=lambda ids: time_mentions(conn, user_id, line, ids),
    )
    return _episode_memories(conn, user_id, candidates)


class _DenseScores:
    """Cosine of an episode by id (None for an episode without a vector)."""

    def __init__(self, positions: dict[int, int], cosines: Any) -> None:
        self._positions = positions
        self._cosines = cosines

    def get(self, episode_id: int) -> float | None:
        k = self._positions.get(episode_id)
        return None if k is None else float(self._cosines[k])


def _dated(plan: QueryPlan, line: Timeline) -> set[int]:
    out: set[int] = set()
    for span in plan.dates:
        if span.start is not None and span.end is not None:
            out.update(line.between(span.start, span.end, DATE_LIMIT))
    return out


_SOURCES = select(belief_sources.c.episode_id, belief_sources.c.belief_id).where(
    belief_sources.c.user_id == bindparam("user_id"),
    belief_sources.c.belief_id.in_(bindparam("ids", expanding=True)),
)
_CHOSEN = select(episodes.c.id, episodes.c.user_input, episodes.c.occurred_at, episodes.c.ts).where(
    episodes.c.user_id == bindparam("user_id"), episodes.c.id.in_(bindparam("ids", expanding=True))
)


def _episode_memories(
    conn: Connection, user_id: str, chosen: Sequence[Candidate]
) -> list[RecalledMemory]:
    if not chosen:
        return []
    rows = {
        r.id: r for r in conn.execute(_CHOSEN, {"user_id": user_id, "ids": [c.id for c in chosen]})
    }
    low = chosen[-1].fused
    span = (chosen[0].fused - low) or 1.0
    return [
        RecalledMemory(
            kind="episode",
            id=c.id,
            text=rows[c.id].user_input,
            score=round((c.fused - low) / span, 4) if len(chosen) > 1 else 1.0,
            lexical=round(c.lexical, 6),
            matched=tuple(c.matched),
            when=rows[c.id].occurred_at or rows[c.id].ts,
            dense=round(c.dense, 4) if c.dense is not None else None,
            fused=round(c.fused, 4),
            signals=dict(c.signals),
        )
        for c in chosen
        if c.id in rows
    ]


def _stem(word: str) -> str:
    # Crude, only to explain a match ("lives", "living", "live" -> "liv"); the index
    # itself stems with Snowball.
    for suffix in ("ing", "ies", "ied", "es", "ed", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _matched(terms: Sequence[str], text: str) -> tuple[str, ...]:
    stems = {_stem(w) for w in query_terms(text)}
    return tuple(t for t in terms if " " not in t and _stem(t) in stems)
