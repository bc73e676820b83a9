"""Faster case-insensitive word-list regexes.

CPython's ``re`` skips an alternative of ``(?:kill|murder|...)`` at once when its first
literal does not match the current character -- but only for case-sensitive literals.
With ``re.IGNORECASE`` every alternative is tried at every word, which made large word
lists the gate's main cost.  :func:`gated` recompiles a case-insensitive pattern that is
written in lower case as a case-sensitive one and runs it on the lower-cased text: the
same matches at the same offsets (groups come back lower-cased), about five times faster.
Patterns that name upper-case letters are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = ["Gated", "gated"]

# Escapes whose letter is not a literal (\b, \w, \s, \d ... and their negations).
_ESCAPES = re.compile(r"\\[AbBdDsSwWZ]")


class Gated:
    """A compiled pattern that matches lower-cased text case-sensitively when it can."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.flags = pattern.flags
        self.lowered: re.Pattern[str] | None = None
        source = _ESCAPES.sub("", pattern.pattern)
        if pattern.flags & re.IGNORECASE and source == source.lower():
            self.lowered = re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE)

    def _target(self, text: str) -> tuple[re.Pattern[str], str]:
        if self.lowered is not None:
            lowered = text.lower()
            if len(lowered) == len(text):
                return self.lowered, lowered
        return self.pattern, text

    def search(self, text: str, *args: int) -> re.Match[str] | None:
        pattern, target = self._target(text)
        return pattern.search(target, *args)

    def match(self, text: str, *args: int) -> re.Match[str] | None:
        pattern, target = self._target(text)
        return pattern.match(target, *args)

    def finditer(self, text: str, *args: int) -> Iterator[re.Match[str]]:
        pattern, target = self._target(text)
        return pattern.finditer(target, *args)

    def findall(self, text: str, *args: int) -> list[Any]:
        pattern, target = self._target(text)
        return pattern.findall(target, *args)


def gated(pattern: re.Pattern[str]) -> Gated:
    """``pattern`` behind the lower-case fast path (same matches, same offsets)."""
    return Gated(pattern)
