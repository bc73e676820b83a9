"""Slash commands typed into ``chat`` or ``turn``: a small typed dispatch table.

Each handler gets the user and the words after the command, and returns a
:class:`CommandOutcome`.  Errors a person caused (``InputError``) become a one-line
reply with ``ok=False``; nothing else is caught here.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import InputError

__all__ = [
    "MAX_USER_ID",
    "CommandOutcome",
    "Handler",
    "SlashCommands",
    "parse_id",
    "split_command",
    "validate_user_id",
]


@dataclass(frozen=True)
class CommandOutcome:
    """What a command answers: text for a person, data for a program."""

    reply: str
    result: Any = None
    ok: bool = True


Handler = Callable[[str, list[str]], CommandOutcome]


def split_command(text: str) -> tuple[str, list[str]]:
    """``"/task add buy milk"`` -> ``("/task", ["add", "buy", "milk"])``."""
    try:
        words = shlex.split(text.strip())
    except ValueError as e:
        raise InputError(f"cannot parse command: {e}") from e
    if not words or not words[0].startswith("/"):
        raise InputError("a command starts with /")
    return words[0].lower(), words[1:]


class SlashCommands:
    """The commands an agent understands, by name."""

    def __init__(self) -> None:
        self._handlers: dict[str, tuple[Handler, str]] = {}

    def register(self, name: str, handler: Handler, usage: str) -> None:
        """Make ``/name`` call ``handler``; ``usage`` is shown by /help."""
        self._handlers[name] = (handler, usage)

    def usage(self) -> list[str]:
        """One usage line per command, sorted."""
        return [usage for _, (_, usage) in sorted(self._handlers.items())]

    def names(self) -> list[str]:
        return sorted(self._handlers)

    def run(self, user_id: str, text: str) -> tuple[str, CommandOutcome]:
        """Run the command in ``text`` for ``user_id``: (command name, outcome)."""
        try:
            name, args = split_command(text)
        except InputError as e:
            return "/", CommandOutcome(str(e), ok=False)
        if name == "/help":
            return name, CommandOutcome("Commands:\n" + "\n".join(self.usage()), self.names())
        entry = self._handlers.get(name)
        if entry is None:
            return name, CommandOutcome(f"unknown command {name}: try /help", ok=False)
        handler, _ = entry
        try:
            return name, handler(user_id, args)
        except InputError as e:
            return name, CommandOutcome(str(e), ok=False)


def parse_id(raw: str, prefix: str) -> int:
    """``"45"`` or ``"episode_45"`` -> 45; anything else is an :class:`InputError`."""
    value = raw.strip().lower()
    if value.startswith(prefix + "_"):
        value = value[len(prefix) + 1 :]
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        raise InputError(f"not a {prefix} id: {raw!r}")
    return int(value)


MAX_USER_ID = 255


def validate_user_id(user_id: str) -> str:
    """``user_id`` stripped, or :class:`InputError` if it cannot name a user."""
    if not isinstance(user_id, str) or not user_id.strip():
        raise InputError("a user id is required")
    user_id = user_id.strip()
    if len(user_id) > MAX_USER_ID or any(ord(c) < 32 for c in user_id):
        raise InputError("a user id is at most 255 printable characters")
    return user_id
