"""Removing deleted words from the later episodes that recalled or quoted them.

A turn's trace stores the memories it recalled, text included, and a reply may quote a
recalled episode, or a belief the draft was given without recalling it (every draft
sees the user's beliefs, and the value a new fact replaces: "you live in Berlin now
(I had Porto before)").  ``episode_recalls`` records both for each turn
(:mod:`memwarden.memory.references`).  So when an episode or a belief is deleted, the
later episodes of the user that drew on it, or on a belief the delete removed, reverted
or took a value from, are rewritten: a recalled entry of a deleted memory loses its
text and is marked ``"deleted": true``, and verbatim copies of the deleted episode's
text and of the removed values become ``[deleted]`` in the episode's drafts, reply,
trace and risk details.  A value that the later turn's own input holds ("Is Porto
nice?") is that turn's own word, not a copy, and stays.  A paraphrase by an external
LLM cannot be recognised; see the README.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Connection, text

from ..memory.references import recalling_episodes
from ..store import driver

__all__ = ["REDACTED", "quote_forms", "redact_later_episodes", "replace_first"]

REDACTED = "[deleted]"
SHORT = 12  # a text shorter than this is only redacted where it is quoted ("...")
SLICE = 500  # later episodes read and rewritten per statement
CLIP = 160  # the built-in responder quotes at most this many characters


def quote_forms(text_: str) -> list[str]:
    """The forms in which ``text_`` can be copied into a reply: verbatim, whitespace-
    normalised, and clipped (longest first)."""
    normalised = " ".join(text_.split())
    forms = {text_.strip(), normalised}
    if len(normalised) > CLIP:
        forms.add(normalised[: CLIP - 1].rstrip())
    return sorted((f for f in forms if f), key=len, reverse=True)


class _Redactor:
    """Replaces the deleted text's forms and the removed values with ``[deleted]``."""

    def __init__(self, forms: Sequence[str], values: Collection[str]) -> None:
        self.literals = [f if len(f) >= SHORT else f'"{f}"' for f in forms]
        self.values = sorted(values, key=len, reverse=True)
        # Values need a regex (whole words).  The forms of a deleted text alone do not:
        # compiling one for each delete's unique text cost ~0.2 ms of it (the regex
        # parser is Python), so they are found with str.find (:func:`replace_first`).
        self.pattern = (
            re.compile(
                "|".join(
                    [re.escape(x) for x in self.literals]
                    + [rf"\b{re.escape(v)}\b" for v in self.values]
                )
            )
            if self.values
            else None
        )

    def text(self, value: str) -> str:
        if self.pattern is not None:
            return self.pattern.sub(REDACTED, value)
        return replace_first(value, self.literals, REDACTED)

    def walk(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.walk(v) for v in value]
        if isinstance(value, dict):
            return {k: self.walk(v) for k, v in value.items()}
        return value

    def raw_json(self, raw: str) -> str:
        """Redact a stored JSON text: structurally if it parses, else as plain text."""
        try:
            return json.dumps(self.walk(json.loads(raw)))
        except (ValueError, RecursionError):  # nested past what Python's JSON goes too
            out = self.text(raw)
            for literal in [*self.literals, *self.values]:
                out = out.replace(json.dumps(literal)[1:-1], REDACTED)
            return out


def replace_first(value: str, literals: Sequence[str], by: str) -> str:
    """``value`` with each occurrence of ``literals`` replaced by ``by``, as the regex
    alternation of the escaped literals would: scanning left to right, at each place the
    first literal (in their order) that occurs there.  Each literal's next occurrence is
    kept and looked for again only once the scan has passed it: linear in ``value``."""
    literals = [literal for literal in literals if literal]  # "" would match everywhere
    at = 0
    following = [value.find(literal) for literal in literals]
    out: list[str] = []
    while True:
        found, chosen = -1, -1
        for i, position in enumerate(following):
            if position != -1 and (found == -1 or position < found):
                found, chosen = position, i
        if chosen == -1:
            break
        out += [value[at:found], by]
        at = found + len(literals[chosen])
        for i, position in enumerate(following):
            if position != -1 and position < at:
                following[i] = value.find(literals[i], at)
    if not out:
        return value
    out.append(value[at:])
    return "".join(out)


def redact_later_episodes(
    conn: Connection,
    user_id: str,
    *,
    after: int,
    deleted_episode: int | None,
    deleted_text: str,
    deleted_beliefs: Collection[int],
    reverted_beliefs: Collection[int],
    removed_values: Collection[str],
    touched_beliefs: Collection[int] = (),
) -> list[int]:
    """Scrub the user's episodes after ``after`` that drew on the deleted episode or on
    the deleted, reverted or ``touched`` beliefs (which lost a value but keep their
    current one); their ids.  A belief's delete has no ``deleted_episode`` and no
    ``deleted_text``."""
    forms = quote_forms(deleted_text)  # none for a belief's delete
    values = frozenset(removed_values)
    gone, stale = set(deleted_beliefs), set(reverted_beliefs)
    changed: list[int] = []
    candidates = recalling_episodes(
        conn, user_id, after, episode=deleted_episode, beliefs=gone | stale | set(touched_beliefs)
    )
    redactors: dict[frozenset[str], _Redactor] = {}
    # In slices: a belief recalled by every turn of a long history makes tens of
    # thousands of candidates, read and rewritten 500 at a time (bounded memory).
    for start in range(0, len(candidates), SLICE):
        ids = candidates[start : start + SLICE]
        by_episode: dict[int, _Redactor] = {}
        for later_id, said, draft, reply, trace in driver.rows(
            conn, *_LATER.bind(conn, ids=ids, u=user_id)
        ):
            kept = frozenset(v for v in values if not _says(str(said), v))
            if kept not in redactors:
                redactors[kept] = _Redactor(forms, kept)
            redactor = by_episode[int(later_id)] = redactors[kept]
            new = (
                redactor.text(str(draft)),
                redactor.text(str(reply)),
                None
                if trace is None
                else _redact_trace(str(trace), redactor, deleted_episode, gone, stale),
            )
            if new != (draft, reply, trace):
                driver.execute(
                    conn, _UPDATE_EPISODE, {"d": new[0], "r": new[1], "t": new[2], "id": later_id}
                )
                changed.append(int(later_id))
        for risk_id, later_id, details in driver.rows(conn, *_RISK.bind(conn, ids=ids)):
            new_details = by_episode[int(later_id)].raw_json(str(details))
            if new_details != details:
                driver.execute(conn, _UPDATE_RISK, {"d": new_details, "id": risk_id})
                if later_id not in changed:
                    changed.append(int(later_id))
    return sorted(changed)


_UPDATE_EPISODE = text("UPDATE episodes SET draft = :d, reply = :r, trace = :t WHERE id = :id")
_RISK = driver.AnyOf(
    "SELECT id, episode_id, details FROM risk_log WHERE episode_id {ids} ORDER BY id"
)
_UPDATE_RISK = text("UPDATE risk_log SET details = :d WHERE id = :id")
_LATER = driver.AnyOf(
    "SELECT id, user_input, draft, reply, trace FROM episodes "
    "WHERE user_id = :u AND id {ids} ORDER BY id"
)


def _says(said: str, value: str) -> bool:
    """Whether the turn's own input holds ``value`` as whole words (any case)."""
    return re.search(rf"\b{re.escape(value)}\b", said, re.IGNORECASE) is not None


def _redact_trace(
    raw: str,
    redactor: _Redactor,
    episode_id: int | None,
    deleted_beliefs: set[int],
    reverted_beliefs: set[int],
) -> str:
    try:
        trace = json.loads(raw)
    except (ValueError, RecursionError):  # nested past what Python's JSON goes too
        return redactor.raw_json(raw)
    recalled = trace.get("recalled") if isinstance(trace, dict) else None
    if isinstance(recalled, list):
        for m in recalled:
            if not isinstance(m, dict):
                continue
            kind, ident = m.get("kind"), m.get("id")
            gone = (kind == "episode" and episode_id is not None and ident == episode_id) or (
                kind == "belief" and ident in deleted_beliefs
            )
            stale = (
                kind == "belief"
                and ident in reverted_beliefs
                and any(v in str(m.get("text", "")) for v in redactor.values)
            )
            if gone or stale:
                m["text"] = None
                m["matched"] = []
                m["deleted"] = True
    try:
        return json.dumps(redactor.walk(trace))
    except RecursionError:  # it parsed, but walking it goes deeper than the stack
        return redactor.raw_json(raw)
