"""The built-in responder: offline, deterministic, and grounded in the user's memory.

It answers questions about what the user told it, confirms the tasks it created,
acknowledges new facts, and otherwise keeps the conversation going.  It never invents a
memory: everything it says about the user comes from :class:`DraftContext`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..memory.beliefs import Belief
from ..memory.facts import Fact
from ..memory.recall import RecalledMemory
from .base import DraftContext

__all__ = ["BuiltinResponder"]

# Questions about the user, mapped to the belief keys (or key prefixes) that answer them.
_QUESTIONS: list[tuple[re.Pattern[str], tuple[str, ...]]] = [
    (re.compile(p, re.I), keys)
    for p, keys in (
        (r"\bwhat(?:'s| is) my name\b|\bwho am i\b|\bdo you know my name\b", ("name",)),
        (
            r"\bwhere do i live\b|\bwhere am i (?:living|based)\b|\bwhere(?:'s| is) my home\b",
            ("location",),
        ),
        (r"\bwhere am i from\b|\bwhere did i grow up\b", ("hometown",)),
        (r"\bwhere do i work\b|\bwho do i work for\b|\bmy employer\b", ("employer",)),
        (
            r"\bwhat do i do for a living\b|\bwhat(?:'s| is) my (?:job|occupation)\b|"
            r"\bwhat do i work as\b",
            ("occupation", "employer"),
        ),
        (r"\bhow old am i\b|\bmy age\b", ("age",)),
        (r"\bwhen(?:'s| is) my birthday\b", ("birthday",)),
        (
            r"\bwhat (?:do|don't) i (?:like|love|enjoy|hate|dislike)\b|\bmy (?:likes|preferences)\b",
            ("preference:", "favorite:"),
        ),
        (r"\bmy favou?rite\b", ("favorite:",)),
        (r"\bwhat are my plans\b|\bwhat am i planning\b|\bmy plans\b", ("plan:",)),
        (r"\bwhat languages? do i speak\b", ("language:",)),
        (r"\bam i (?:allergic|vegetarian|vegan)\b|\bmy diet\b|\ballergi", ("diet", "allergy:")),
        (r"\bwhat do you know about me\b|\bwhat do you remember about me\b", ("",)),
    )
]
_FAMILY_Q = re.compile(
    r"\b(?:who is|who's|what(?:'s| is)(?: the name of)?) my ([a-z ]+?)(?:'s name)?\??$", re.I
)
_TASKS_Q = re.compile(
    r"\b(?:what(?:'s| is| are)|show|list)\b.*\b(?:tasks?|to-?dos?|reminders?|my list)\b", re.I
)
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|good (?:morning|afternoon|evening))\b", re.I)
_THANKS = re.compile(r"^\s*(?:thanks|thank you|cheers)\b", re.I)


class BuiltinResponder:
    """Deterministic drafts from memory; no network, no model."""

    name = "builtin"

    def generate_draft(
        self, user_input: str, context: DraftContext, extra_context: str | None = None
    ) -> str:
        # A rewrite request means the last draft repeated something it should not:
        # answer again without quoting the user's raw words.
        quote = extra_context is None
        parts: list[str] = []
        if context.tasks_created:
            titles = "; ".join(f'"{t}"' for t in context.tasks_created)
            noun = "task" if len(context.tasks_created) == 1 else "tasks"
            parts.append(f"Okay, I've added a {noun} to your list: {titles}.")
        answer = self._answer(user_input, context, quote)
        if answer:
            parts.append(answer)
        elif context.new_facts:
            parts.append(self._acknowledge(context.new_facts, context.previous_values))
        if not parts:
            parts.append(self._small_talk(user_input, context.recalled, quote))
        return " ".join(parts)

    def _answer(self, text: str, context: DraftContext, quote: bool) -> str | None:
        if "?" not in text and not re.match(
            r"^\s*(?:what|where|who|when|how|do|am|tell)\b", text, re.I
        ):
            return None
        if _TASKS_Q.search(text):
            if not context.open_tasks:
                return "You have no open tasks."
            items = "; ".join(context.open_tasks)
            return f"Your open tasks: {items}."
        family = _FAMILY_Q.search(text)
        wanted: tuple[str, ...] = ()
        for pattern, keys in _QUESTIONS:
            if pattern.search(text):
                wanted = keys
                break
        if not wanted and family:
            wanted = (f"family:{family[1].strip().lower()}",)
        if wanted:
            found = _matching(context.profile, wanted)
            if found:
                return (
                    "You told me that " + _join([_second_person(b.statement) for b in found]) + "."
                )
            if any(m.kind == "episode" for m in context.recalled) and quote:
                return self._from_episodes(context.recalled)
            return "I don't know that yet: you haven't told me."
        if context.recalled:
            beliefs = [m for m in context.recalled if m.kind == "belief"]
            if beliefs:
                return (
                    "From what you've told me: "
                    + _join([_second_person(m.text) for m in beliefs[:3]])
                    + "."
                )
            if quote:
                return self._from_episodes(context.recalled)
        return None

    def _from_episodes(self, recalled: Sequence[RecalledMemory]) -> str:
        episodes = [m for m in recalled if m.kind == "episode"][:2]
        quoted = " and ".join(
            f'"{_clip(m.text)}"' + (f" ({m.when:%Y-%m-%d})" if m.when else "") for m in episodes
        )
        return f"Here is what I found in our past conversations: you said {quoted}."

    def _acknowledge(self, facts: Sequence[Fact], previous: dict[str, str] | object) -> str:
        before = previous if isinstance(previous, dict) else {}
        notes = []
        for fact in facts:
            sentence = _second_person(fact.statement)
            old = before.get(fact.key)
            if old and old.casefold() != fact.value.casefold():
                notes.append(f"{sentence} now (I had {old} before)")
            else:
                notes.append(sentence)
        return "Got it, I'll remember that " + _join(notes) + "."

    def _small_talk(self, text: str, recalled: Sequence[RecalledMemory], quote: bool) -> str:
        if _GREETING.search(text):
            return "Hello! Tell me about yourself, ask me what you've told me, or ask me to remind you of something."
        if _THANKS.search(text):
            return "You're welcome."
        if recalled and quote:
            top = recalled[0]
            return f'Noted. That connects to something you said before: "{_clip(top.text)}".'
        return "Noted. I'm listening."


def _matching(profile: Sequence[Belief], keys: tuple[str, ...]) -> list[Belief]:
    found = []
    for belief in profile:
        for key in keys:
            if (
                (key.endswith(":") or key == "") and belief.key.startswith(key)
            ) or belief.key == key:
                found.append(belief)
                break
    return found[:8]


def _second_person(statement: str) -> str:
    if statement.startswith("User's "):
        return "your " + statement[len("User's ") :]
    if statement.startswith("User "):
        rest = statement[len("User ") :]
        rest = re.sub(r"^(\w+?)ies\b", r"\1y", rest)  # "studies" -> "study"
        rest = re.sub(r"^(\w+?)s\b", r"\1", rest)  # "lives in" -> "live in"
        rest = re.sub(r"^i\b", "are", rest)  # "is 34" -> "are 34"
        rest = re.sub(r"^ha\b", "have", rest)  # "has" -> "have"
        rest = re.sub(r"^(?:name|birthday) is", lambda m: "your " + m[0], rest)
        if rest.startswith("your "):
            return rest
        return "you " + rest
    return statement


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
