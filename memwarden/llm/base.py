"""The LLM contract: a draft from the user's words and their recalled memory."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from ..memory.beliefs import Belief
from ..memory.facts import Fact
from ..memory.recall import RecalledMemory

__all__ = ["ChatModel", "DraftContext", "DraftModel"]


@dataclass(frozen=True)
class DraftContext:
    """What the agent knows when it drafts a reply."""

    profile: Sequence[Belief] = ()  # the user's current beliefs
    recalled: Sequence[RecalledMemory] = ()  # memories relevant to this turn
    new_facts: Sequence[Fact] = ()  # facts stated in this turn
    previous_values: Mapping[str, str] = field(default_factory=dict)  # key -> value before
    tasks_created: Sequence[str] = ()  # tasks created in this turn, as asked
    open_tasks: Sequence[str] = ()  # the user's open tasks

    def memory_texts(self) -> list[str]:
        """Every memory text the draft may draw on (for the gate's confabulation check)."""
        texts = [b.statement for b in self.profile] + [m.text for m in self.recalled]
        return texts + [f.statement for f in self.new_facts] + list(self.open_tasks)


@runtime_checkable
class DraftModel(Protocol):
    """Anything that can draft a reply."""

    name: str

    def generate_draft(
        self, user_input: str, context: DraftContext, extra_context: str | None = None
    ) -> str:
        """A draft reply; ``extra_context`` says what a rewrite must fix."""
        ...


@runtime_checkable
class ChatModel(DraftModel, Protocol):
    """A draft model that also answers free prompts (used by the LLM belief extractor)."""

    def complete(self, system: str, user: str) -> str:
        """The model's answer to one system+user prompt."""
        ...
