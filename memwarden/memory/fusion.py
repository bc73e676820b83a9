"""Fusing lexical and dense evidence into one ranking of a user's episodes.

The score of an episode, in order of application:

1. **Lexical, term by term.**  Each query term contributes its BM25 in the episode, or,
   if more, ``NEIGHBOUR_TERM`` times its BM25 in the turn just before or after (same
   session): a term counts once, from the turn or from its context.  ("What genre is her
   screenplay?" is answered by "A mix of drama and romance!", right after the question
   that names the screenplay.)
2. **Normalised and added.**  Lexical scores become z-scores over the episodes that
   matched; dense cosines z-scores over all the user's episodes; the fused score is
   their sum (each weighted 1).
3. **Smoothed over the session.**  An episode gains ``SMOOTH_PREVIOUS`` of its previous
   turn's fused score and ``SMOOTH_NEXT`` of its next turn's.
4. **Signals**, each a fixed amount in z units: the episode was said by the speaker the
   query names; the query asks "when" and the episode mentions a time; the episode
   happened on a date the query names; a belief the query matched came from it.

Every weight was chosen on the LoCoMo dev conversations, from a handful of round values,
and kept only if it helped on most conversations (docs/benchmarks.md, ## Recall); no rule
names anything from the data.  Pure Python (numpy only feeds the dense scores in), so the
lexical path runs without the ``[embeddings]`` extra.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .query import QueryPlan
from .timeline import Timeline

__all__ = ["Candidate", "DenseLookup", "Weights", "fuse"]


class DenseLookup(Protocol):
    def get(self, episode_id: int) -> float | None:
        """The episode's cosine to the query, None if it has no vector."""
        ...


@dataclass(frozen=True)
class Weights:
    """The fusion's constants (see the module docstring)."""

    lexical: float = 1.0
    dense: float = 1.0
    neighbour_term: float = 0.5
    smooth_previous: float = 0.5
    smooth_next: float = 0.3
    speaker: float = 3.0
    asks_when: float = 1.0
    on_date: float = 4.0
    provenance: float = 1.0


@dataclass
class Candidate:
    """One episode's evidence and score."""

    id: int
    lexical: float = 0.0  # term-wise BM25 with neighbour context (raw)
    dense: float | None = None  # cosine to the query
    fused: float = 0.0  # final score
    matched: list[str] = field(default_factory=list)  # query terms found in the episode
    signals: dict[str, float] = field(default_factory=dict)


def _z(over: Iterable[float]) -> tuple[float, float]:
    pool = list(over)
    if len(pool) < 2:
        return 0.0, 1.0
    mean = sum(pool) / len(pool)
    var = sum((v - mean) ** 2 for v in pool) / len(pool)
    return mean, math.sqrt(var) or 1.0


def fuse(
    plan: QueryPlan,
    term_hits: Sequence[Sequence[tuple[int, float]]],
    line: Timeline,
    *,
    dense: DenseLookup | None = None,
    dense_seeds: Iterable[int] = (),
    dense_stats: tuple[float, float] | None = None,
    dated: Iterable[int] = (),
    provenance: Mapping[int, float] | None = None,
    weights: Weights = Weights(),
    seed_limit: int = 100,
    keep: int = 50,
    time_mentions: Callable[[Collection[int]], Collection[int]] | None = None,
) -> list[Candidate]:
    """The ``keep`` best candidates (episodes with any evidence, and their neighbours).

    ``term_hits`` has one list of (episode id, BM25) per term of ``plan.terms``;
    ``dense`` gives the cosine of any episode, ``dense_seeds`` are the nearest ones, and
    ``dense_stats`` the cosine's mean and standard deviation over all the user's
    episodes; ``dated`` the episodes in a date range the query names; ``provenance``
    episode id -> strength (0..1) of a matched belief that came from it;
    ``time_mentions`` tells which of the candidates mention a time (asked only when the
    query asks "when").
    """
    positions, ids, joined = line.positions, line.ids, line.joined
    last = len(ids) - 1
    nb = weights.neighbour_term
    # Lexical, term by term: a term scores its BM25 in the episode or ``nb`` times its
    # BM25 in a neighbouring turn, whichever is more; plain BM25 picks the seeds.
    # (The neighbour lookups are Timeline.previous/next, inlined: this loop runs for
    # every hit of every term.)
    lexical: dict[int, float] = {}
    plain: dict[int, float] = {}
    matched: dict[int, list[str]] = {}
    for term, hits in zip(plan.terms, term_hits, strict=False):
        best = dict(hits)
        for j, bm25 in hits:
            plain[j] = plain.get(j, 0.0) + bm25
            terms = matched.get(j)
            if terms is None:
                matched[j] = [term]
            else:
                terms.append(term)
            k = positions.get(j)
            if k is None:
                continue
            context = nb * bm25
            if joined[k] and best.get(n := ids[k - 1], 0.0) < context:
                best[n] = context
            if k < last and joined[k + 1] and best.get(n := ids[k + 1], 0.0) < context:
                best[n] = context
        for k, value in best.items():
            lexical[k] = lexical.get(k, 0.0) + value

    l_mean, l_sd = _z(lexical.values())
    l_floor = min(0.0, (min(lexical.values(), default=l_mean) - l_mean) / l_sd)
    d_mean, d_sd = dense_stats or (0.0, 1.0)
    w_lexical, w_dense = weights.lexical, weights.dense
    base: dict[int, float] = {}

    def evidence(i: int) -> float:
        """Lexical plus dense evidence of episode ``i``, in z units (memoised)."""
        score = base.get(i)
        if score is None:
            found = lexical.get(i)
            score = w_lexical * ((found - l_mean) / l_sd if found else l_floor)
            cosine = dense.get(i) if dense is not None else None
            if cosine is not None:
                score += w_dense * (cosine - d_mean) / d_sd
            base[i] = score
        return score

    # Seeds: the best by plain BM25, the nearest by meaning, the best-supported of the
    # episodes on a date the query names, the sources of matched beliefs; then their
    # neighbours (ring 1), whose smoothing reads the neighbours' own scores.
    seeds = set(heapq.nlargest(seed_limit, plain, key=plain.__getitem__))
    seeds.update(dense_seeds)
    dated = set(dated)
    seeds.update(heapq.nlargest(seed_limit, dated, key=evidence))
    if provenance:
        seeds.update(i for i in provenance if i in positions)
    ring1 = _with_neighbours(seeds, line)

    speaker = _named_speaker(plan, line)
    months = {d.month for d in plan.dates if d.month is not None}
    timed = set(time_mentions(ring1)) if plan.asks_when and time_mentions is not None else set()
    speakers, whens = line.speakers, line.whens
    smooth_previous, smooth_next = weights.smooth_previous, weights.smooth_next
    scored: list[tuple[float, int, dict[str, float]]] = []
    for i in ring1:
        k = positions.get(i)
        score = evidence(i)
        signals: dict[str, float] = {}
        if k is not None:
            if joined[k]:
                score += smooth_previous * evidence(ids[k - 1])
            if k < last and joined[k + 1]:
                score += smooth_next * evidence(ids[k + 1])
            if speaker and (speakers[k] or "").lower() == speaker:
                signals["speaker"] = weights.speaker
        if i in dated or (months and k is not None and whens[k].month in months):
            signals["date"] = weights.on_date
        if i in timed:
            signals["time"] = weights.asks_when
        if provenance and i in provenance:
            signals["belief"] = weights.provenance * provenance[i]
        scored.append((score + sum(signals.values()) if signals else score, i, signals))
    best_first = heapq.nsmallest(keep, scored, key=lambda t: (-t[0], -t[1]))
    return [
        Candidate(
            id=i,
            lexical=lexical.get(i, 0.0),
            dense=dense.get(i) if dense is not None else None,
            fused=score,
            matched=matched.get(i, []),
            signals=signals,
        )
        for score, i, signals in best_first
    ]


def _with_neighbours(ids: Iterable[int], line: Timeline) -> set[int]:
    out = set(ids)
    for i in list(out):
        for j in (line.previous(i), line.next(i)):
            if j is not None:
                out.add(j)
    return out


def _named_speaker(plan: QueryPlan, line: Timeline) -> str | None:
    """The one speaker of the user's episodes that the query names, if exactly one."""
    if not line.speaker_names:
        return None
    named = {n.lower() for n in plan.names} & line.speaker_names
    if len(named) != 1:
        # Names also come lower-cased in terms ("ask ana about ..."): try those too.
        named = named or {t for t in plan.terms if t in line.speaker_names}
    return next(iter(named)) if len(named) == 1 else None
