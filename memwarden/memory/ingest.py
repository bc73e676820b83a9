"""Bulk ingestion: past conversation turns as a user's episodes (imports, evaluation).

    ids = ingest_turns(store, "ana", [Turn("We moved to Porto", occurred_at=..., speaker="Ana")])

Each turn becomes one episode with ``occurred_at`` (when it was said) and ``meta``
(speaker, session, dialog id, image caption, ...).  Turns are written in transactions of
``batch`` turns; each episode's full-text entry (by trigger) and its vector (when an
embedder is given) are written in the same transaction as the episode, so a failed
batch leaves nothing behind.  Vectors are computed before the transaction opens, so the
write lock is held only for the writes.

Imported turns are not run through belief extraction: in a transcript "I" is whichever
speaker is talking, not necessarily the user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from ..clock import utcnow
from ..errors import InputError
from ..store import Store
from .embeddings import Embedder
from .episodes import insert_episode

__all__ = ["Turn", "ingest_turns", "turn_text"]

MAX_TURN_CHARS = 20_000


@dataclass(frozen=True)
class Turn:
    """One past turn of a conversation."""

    text: str
    occurred_at: datetime | None = None
    speaker: str | None = None
    session: str | None = None  # turns of one session are each other's context
    image_caption: str | None = None  # a description of an image shared with the turn
    meta: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"dialog_id": "D1:3"}


def turn_text(turn: Turn) -> str:
    """What the episode stores (and recall indexes): the words, then any image caption."""
    text = turn.text.strip()
    if turn.image_caption and turn.image_caption.strip():
        text = f"{text} [image: {turn.image_caption.strip()}]".strip()
    return text


def _meta(turn: Turn) -> dict[str, Any]:
    meta = dict(turn.meta)
    for key, value in (
        ("speaker", turn.speaker),
        ("session", turn.session),
        ("image_caption", turn.image_caption),
    ):
        if value is not None:
            meta[key] = value
    return meta


def ingest_turns(
    store: Store,
    user_id: str,
    turns: Iterable[Turn],
    *,
    embedder: Embedder | None = None,
    batch: int = 256,
    progress: Callable[[int], None] | None = None,
) -> list[int]:
    """Store ``turns`` as episodes of ``user_id``, in order; their ids.

    ``progress`` is called with the number of turns written after each batch.
    """
    ids: list[int] = []
    pending: list[Turn] = []
    for turn in turns:
        if not turn.text.strip() and not turn.image_caption:
            continue
        pending.append(turn)
        if len(pending) >= batch:
            ids.extend(_write(store, user_id, pending, embedder))
            if progress:
                progress(len(pending))
            pending = []
    if pending:
        ids.extend(_write(store, user_id, pending, embedder))
        if progress:
            progress(len(pending))
    return ids


def _write(
    store: Store, user_id: str, turns: Sequence[Turn], embedder: Embedder | None
) -> list[int]:
    texts = [turn_text(t) for t in turns]
    for text in texts:
        if len(text) > MAX_TURN_CHARS:
            raise InputError(f"a turn is too long ({len(text)} > {MAX_TURN_CHARS} characters)")
    vectors = embedder.embed(texts) if embedder is not None else None
    now = utcnow()
    with store.write() as conn:
        ids = [
            _insert(conn, user_id, now, turn, text) for turn, text in zip(turns, texts, strict=True)
        ]
        if embedder is not None and vectors is not None:
            from .vectors import store_episode_vectors

            store_episode_vectors(
                conn, user_id, embedder.model, list(zip(ids, vectors, strict=True))
            )
    return ids


def _insert(conn: Connection, user_id: str, now: datetime, turn: Turn, text: str) -> int:
    return insert_episode(
        conn,
        user_id=user_id,
        ts=now,
        user_input=text,
        draft="",
        reply="",
        action="NONE",
        draft_total_score=0.0,
        final_score=0.0,
        occurred_at=turn.occurred_at,
        meta=_meta(turn),
    )
