"""The gate's typed contract: what it sees, what it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

__all__ = [
    "Action",
    "Assessment",
    "Attempt",
    "CategoryScore",
    "Gate",
    "GateDecision",
    "GateInput",
    "PassThroughGate",
    "Regenerate",
    "Span",
]


class Action(StrEnum):
    """What happens to a draft."""

    NONE = "NONE"
    REWRITE = "REWRITE"
    BLOCK = "BLOCK"


@dataclass(frozen=True)
class GateInput:
    """Everything the gate may look at for one draft."""

    user_input: str
    draft: str
    # The requesting user's own memory (belief statements and recalled episode texts).
    memory: Sequence[str] = ()
    # Titles of tasks created in this turn because the user explicitly asked.
    tasks_created: Sequence[str] = ()


@dataclass(frozen=True)
class Span:
    """A flagged piece of a draft."""

    start: int
    end: int
    text: str
    reason: str


@dataclass(frozen=True)
class CategoryScore:
    """One category's score for a draft, with the spans that earned it."""

    category: str
    score: float
    spans: tuple[Span, ...] = ()


@dataclass(frozen=True)
class Assessment:
    """One scoring of one draft."""

    total: float
    action: Action
    categories: tuple[CategoryScore, ...] = ()

    def scores(self) -> dict[str, float]:
        """Per-category scores, as stored in ``risk_log.scores``."""
        return {c.category: c.score for c in self.categories}


@dataclass(frozen=True)
class Attempt:
    """A rewrite attempt: the instruction given, the new draft, and its assessment."""

    extra_context: str | None
    draft: str
    assessment: Assessment
    method: str  # "regenerate", "redact" or "fallback"


@dataclass(frozen=True)
class GateDecision:
    """The gate's verdict on a turn's draft."""

    action: Action
    draft_total_score: float  # score of the first draft
    final_score: float  # score of the reply that is sent
    reply: str
    assessment: Assessment  # of the first draft
    attempts: tuple[Attempt, ...] = field(default=())
    # The first draft with secrets redacted, for storing instead of the raw draft
    # (``None`` when the draft holds no secret).
    redacted_draft: str | None = None


class Regenerate(Protocol):
    """Asks the LLM for a new draft, telling it what to fix."""

    def __call__(self, extra_context: str) -> str: ...


class Gate(Protocol):
    """Scores a draft and decides: send it, rewrite it, or block it."""

    def assess(self, gate_input: GateInput) -> Assessment:
        """Score one draft without acting on it."""
        ...

    def review(self, gate_input: GateInput, regenerate: Regenerate) -> GateDecision:
        """Score the draft, rewrite it if needed, and return what to send."""
        ...


class PassThroughGate:
    """A gate that lets every draft through with score 0.0 (for tests and embedding)."""

    def assess(self, gate_input: GateInput) -> Assessment:
        return Assessment(total=0.0, action=Action.NONE)

    def review(self, gate_input: GateInput, regenerate: Regenerate) -> GateDecision:
        assessment = self.assess(gate_input)
        return GateDecision(
            action=Action.NONE,
            draft_total_score=0.0,
            final_score=0.0,
            reply=gate_input.draft,
            assessment=assessment,
        )
