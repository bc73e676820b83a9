"""The risk gate: every draft is scored before it leaves, and sent, rewritten or blocked."""

from __future__ import annotations

from .base import (
    Action,
    Assessment,
    Attempt,
    CategoryScore,
    Gate,
    GateDecision,
    GateInput,
    PassThroughGate,
    Regenerate,
    Span,
)

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
