"""Facts: what an extractor distils from a user's words, before it becomes a belief."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Fact", "statement_for"]


@dataclass(frozen=True)
class Fact:
    """A fact about the user.

    ``key`` names what the fact is about; two facts with the same key contradict each
    other, so the newer supersedes the older ("location", "employer",
    "preference:coffee", "family:sister", ...).
    """

    key: str
    value: str
    confidence: float = 0.9

    @property
    def statement(self) -> str:
        """The fact as a short sentence about the user."""
        return statement_for(self.key, self.value)


_SIMPLE = {
    "name": "name is {v}",
    "location": "lives in {v}",
    "hometown": "is from {v}",
    "employer": "works at {v}",
    "occupation": "works as {v}",
    "age": "is {v} years old",
    "birthday": "birthday is {v}",
    "diet": "is {v}",
    "children": "has {v} children",
    "school": "studies at {v}",
}


def statement_for(key: str, value: str) -> str:
    """Render ``key``/``value`` as a sentence a person and the full-text index can read."""
    if key in _SIMPLE:
        return "User " + _SIMPLE[key].format(v=value)
    kind, _, subject = key.partition(":")
    if kind == "preference":
        return f"User {value} {subject}"
    if kind == "family":
        return f"User's {subject} is {value}"
    if kind == "favorite":
        return f"User's favorite {subject} is {value}"
    if kind == "allergy":
        return f"User is allergic to {subject}"
    if kind == "language":
        return f"User speaks {subject}"
    if kind == "plan":
        return f"User plans to {value}"
    return f"User {key}: {value}"
