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
from .config import CategoryPolicy, GateConfig
from .risk_gate import RiskGate, redact_secrets

__all__ = [
    "Action",
    "Assessment",
    "Attempt",
    "CategoryPolicy",
    "CategoryScore",
    "Gate",
    "GateConfig",
    "GateDecision",
    "GateInput",
    "PassThroughGate",
    "Regenerate",
    "RiskGate",
    "Span",
    "redact_secrets",
]
