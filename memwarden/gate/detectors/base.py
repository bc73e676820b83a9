"""What a detector is and what it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..base import GateInput, Span

__all__ = ["Detector", "Finding"]


@dataclass(frozen=True)
class Finding:
    """One flagged span of a draft.

    ``severity`` is the detector's confidence that the span violates the policy, in
    ``(0, 1]``.  ``replacement`` is the text a deterministic repair puts in its place
    (``""`` drops it; ``None`` means the span cannot be repaired in place).
    """

    category: str
    start: int
    end: int
    text: str
    reason: str
    severity: float
    replacement: str | None = None

    def span(self) -> Span:
        """The span as stored in ``risk_log``."""
        return Span(start=self.start, end=self.end, text=self.text, reason=self.reason)


class Detector(Protocol):
    """Finds violations of one family of categories in a draft."""

    name: str

    def detect(self, gate_input: GateInput) -> list[Finding]:
        """Every flagged span of ``gate_input.draft``; an empty list for benign text."""
        ...
