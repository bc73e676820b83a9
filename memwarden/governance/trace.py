"""``/trace``: why the agent replied what it replied, from what the turn stored.

Sources: the ``episodes`` row (input, first draft, reply, action, scores), its
``episodes.trace`` JSON (recalled memories with scores and matched words, every draft,
timings per stage) and its ``risk_log`` row (per-category scores, flagged spans, rewrite
attempts).  Stored JSON is read defensively: a value that does not parse, or has an
unexpected shape, is skipped with a note in ``warnings`` and one log line

    [WARNING] trace_decision: JSON parse failed for episode 456

and the trace shows everything else.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, text

from ..errors import NotFound
from ..logs import logger
from .audit import AUDITED_READ

__all__ = ["DecisionTrace", "build_trace", "iso"]

# The episode and its (first) risk_log row in one indexed lookup; both scoped to the user.
_EPISODE_SQL = (
    "SELECT e.ts, e.user_input, e.draft, e.reply, e.action, e.draft_total_score, "
    "e.final_score, e.trace, r.id, r.draft_total_score, r.final_score, r.action, r.scores, "
    "r.details FROM episodes AS e LEFT JOIN risk_log AS r "
    "ON r.id = (SELECT MIN(id) FROM risk_log WHERE episode_id = e.id AND user_id = e.user_id) "
    "WHERE e.id = :e AND e.user_id = :u"
)
_EPISODE = text(_EPISODE_SQL)
# PostgreSQL: the same read, and the call's audit row inserted when it finds the episode.
_EPISODE_AUDITED = text(f"WITH found AS ({_EPISODE_SQL}), {AUDITED_READ} SELECT * FROM found")


@dataclass(frozen=True)
class DecisionTrace:
    """One episode's decision, end to end (``trace --json`` prints this)."""

    episode_id: int
    ts: str
    input: str
    recalled: list[dict[str, Any]]
    drafts: list[str]
    risk: dict[str, Any] | None  # draft/final score, per-category scores with spans
    action: str
    rewrite_attempts: list[dict[str, Any]]
    reply: str
    timings_ms: dict[str, float]
    llm: str | None
    warnings: list[str] = field(default_factory=list)


def build_trace(
    conn: Connection,
    user_id: str,
    episode_id: int,
    *,
    audit_row: Mapping[str, Any] | None = None,
) -> DecisionTrace:
    """The trace of the user's episode; :class:`NotFound` for an id they do not own.

    ``audit_row`` (PostgreSQL, on an autocommitting connection only): the call's success
    row (:func:`.audit.row`), which the read's statement then inserts when it finds the
    episode.  The statement turns ``synchronous_commit`` off for its own transaction,
    which in autocommit is the statement alone."""
    params = {"e": episode_id, "u": user_id}
    if audit_row is None:
        row = conn.execute(_EPISODE, params).first()
    else:
        row = conn.execute(_EPISODE_AUDITED, {**audit_row, **params}).first()
    if row is None:
        raise NotFound(f"No episode {episode_id}.")
    risk_row = row[8:] if row[8] is not None else None
    warnings: list[str] = []
    stored = _load(row[7], "episodes.trace", warnings, want=dict) or {}
    recalled = [_recalled(m, warnings) for m in _list(stored, "recalled", warnings)]
    drafts = [str(d) for d in _list(stored, "drafts", warnings) if isinstance(d, str)]
    timings = {
        str(k): float(v)
        for k, v in _dict(stored, "timings_ms", warnings).items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
    risk: dict[str, Any] | None = None
    attempts: list[dict[str, Any]] = []
    if risk_row is not None:
        scores = _load(risk_row[4], "risk_log.scores", warnings, want=dict) or {}
        details = _load(risk_row[5], "risk_log.details", warnings, want=dict) or {}
        risk = {
            "draft_total_score": _float(risk_row[1]),
            "final_score": _float(risk_row[2]),
            "action": str(risk_row[3]),
            "scores": {str(k): _float(v) for k, v in scores.items()},
            "categories": [
                _category(c) for c in _list(details, "categories", warnings) if isinstance(c, dict)
            ],
        }
        attempts = [
            _attempt(a) for a in _list(details, "attempts", warnings) if isinstance(a, dict)
        ]
    if not drafts:
        # No stored draft list: the first draft plus every rewrite attempt's draft.
        drafts = [str(row[2])] + [a["draft"] for a in attempts if a.get("draft") is not None]
    if warnings:
        logger.warning("trace_decision: JSON parse failed for episode %d", episode_id)
    return DecisionTrace(
        episode_id=episode_id,
        ts=iso(row[0]),
        input=str(row[1]),
        recalled=recalled,
        drafts=drafts,
        risk=risk
        or {
            "draft_total_score": _float(row[5]),
            "final_score": _float(row[6]),
            "action": str(row[4]),
            "scores": {},
            "categories": [],
        },
        action=str(row[4]),
        rewrite_attempts=attempts,
        reply=str(row[3]),
        timings_ms=timings,
        llm=str(stored["llm"]) if isinstance(stored.get("llm"), str) else None,
        warnings=warnings,
    )


def iso(value: Any) -> str:
    """A stored timestamp as ISO 8601 (``2026-01-21T18:04:11.532000``)."""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).replace(" ", "T", 1)


def _load(raw: Any, where: str, warnings: list[str], *, want: type) -> Any:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except (TypeError, ValueError, RecursionError):  # nested past the decoder's depth too
        warnings.append(f"{where} is not valid JSON")
        return None
    if not isinstance(value, want):
        warnings.append(f"{where} is not a JSON {want.__name__}")
        return None
    return value


def _list(container: dict[str, Any], key: str, warnings: list[str]) -> list[Any]:
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        warnings.append(f"{key} is not a list")
        return []
    return value


def _dict(container: dict[str, Any], key: str, warnings: list[str]) -> dict[str, Any]:
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        warnings.append(f"{key} is not an object")
        return {}
    return value


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _recalled(m: Any, warnings: list[str]) -> dict[str, Any]:
    if not isinstance(m, dict):
        warnings.append("a recalled memory is not an object")
        return {
            "kind": None,
            "id": None,
            "text": None,
            "score": None,
            "lexical": None,
            "matched": [],
        }
    matched = m.get("matched")
    return {
        "kind": m.get("kind"),
        "id": m.get("id"),
        "text": m.get("text"),
        "score": _float(m.get("score")),
        "lexical": _float(m.get("lexical")),
        "matched": [str(w) for w in matched] if isinstance(matched, list) else [],
        **({"deleted": True} if m.get("deleted") else {}),
    }


def _category(c: dict[str, Any]) -> dict[str, Any]:
    spans = c.get("spans")
    return {
        "category": str(c.get("category")),
        "score": _float(c.get("score")),
        "spans": [
            {
                "start": s.get("start"),
                "end": s.get("end"),
                "text": s.get("text"),
                "reason": s.get("reason"),
            }
            for s in (spans if isinstance(spans, list) else [])
            if isinstance(s, dict)
        ],
    }


def _attempt(a: dict[str, Any]) -> dict[str, Any]:
    scores = a.get("scores")
    return {
        "method": a.get("method"),
        "extra_context": a.get("extra_context"),
        "draft": a.get("draft") if isinstance(a.get("draft"), str) else None,
        "score": _float(a.get("score")),
        "action": a.get("action"),
        "scores": {str(k): _float(v) for k, v in scores.items()}
        if isinstance(scores, dict)
        else {},
    }
