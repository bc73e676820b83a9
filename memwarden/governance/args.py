"""The five commands' words: usage lines and strict parsing.

Every failure here is an :class:`InputError` whose message is one line ending with the
command's usage, so a person sees what to type instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..commands import parse_id
from ..errors import InputError

__all__ = [
    "COMMANDS",
    "DELETE_BELIEF",
    "DELETE_EPISODE",
    "EXPORT_MEMORY",
    "TASK_EVENTS",
    "TRACE",
    "CommandSpec",
    "audit_args",
    "parse_words",
]

EXPORT_MEMORY = "/export_memory"
DELETE_EPISODE = "/delete_episode"
DELETE_BELIEF = "/delete_belief"
TASK_EVENTS = "/task_events"
TRACE = "/trace"

MAX_ARG_CHARS = 100  # of one argument, as recorded in governance_log and the log
MAX_ARGS = 8


@dataclass(frozen=True)
class CommandSpec:
    """One command: its name, the id prefix it accepts, and how many ids."""

    name: str
    usage: str
    prefix: str | None  # "episode", "belief", "task", or None for no id
    optional: bool = False  # the id may be left out
    changes: bool = False  # it changes the user's data (its audit row commits with that)


COMMANDS: dict[str, CommandSpec] = {
    spec.name: spec
    for spec in (
        CommandSpec(EXPORT_MEMORY, "usage: /export_memory", None),
        CommandSpec(
            DELETE_EPISODE,
            "usage: /delete_episode EPISODE_ID (45 or episode_45)",
            "episode",
            changes=True,
        ),
        CommandSpec(
            DELETE_BELIEF, "usage: /delete_belief BELIEF_ID (7 or belief_7)", "belief", changes=True
        ),
        CommandSpec(
            TASK_EVENTS, "usage: /task_events [TASK_ID] (3 or task_3)", "task", optional=True
        ),
        CommandSpec(TRACE, "usage: /trace EPISODE_ID (45 or episode_45)", "episode"),
    )
}


def parse_words(command: str, words: Sequence[str]) -> int | None:
    """The id in ``words`` for ``command`` (None where it takes none or it is left out)."""
    spec = COMMANDS[command]
    if spec.prefix is None:
        if words:
            raise InputError(f"{spec.usage} (it takes no arguments)")
        return None
    if not words:
        if spec.optional:
            return None
        raise InputError(f"{spec.usage} (the {spec.prefix} id is missing)")
    if len(words) > 1:
        raise InputError(f"{spec.usage} (one {spec.prefix} id, got {len(words)} words)")
    try:
        # ASCII only: str.isdigit() (in parse_id) accepts "²", which int() rejects.
        if not words[0].isascii():
            raise InputError(words[0])
        return parse_id(words[0], spec.prefix)
    except (InputError, ValueError):
        raise InputError(
            f"{spec.usage} ({_clip(words[0])!r} is not {_article(spec.prefix)} {spec.prefix} id)"
        ) from None


def audit_args(words: Sequence[str]) -> list[str]:
    """The words as recorded: at most 8, each clipped and free of control characters."""
    return [_clip(str(w)) for w in list(words)[:MAX_ARGS]]


def _article(noun: str) -> str:
    return "an" if noun[:1] in "aeiou" else "a"


def _clip(word: str) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in word)
    return clean if len(clean) <= MAX_ARG_CHARS else clean[: MAX_ARG_CHARS - 1] + "…"
