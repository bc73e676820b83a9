"""memwarden: a long-term memory agent whose memory its user governs.

from memwarden import Agent, Settings

with Agent.open(Settings(db="memory.db")) as agent:
    result = agent.turn("ana", "I live in Porto")
    print(result.reply, result.episode_id, result.action)
"""

from __future__ import annotations

from .agent import Agent
from .errors import (
    ConcurrencyConflict,
    ConfigError,
    GovernanceDisabled,
    InputError,
    IntegrityError,
    LLMError,
    LLMResponseError,
    LLMUnavailable,
    MemwardenError,
    NotFound,
    SchemaError,
    StoreError,
    StoreUnavailable,
)
from .settings import Settings
from .store import Store
from .turn import TurnResult

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "ConcurrencyConflict",
    "ConfigError",
    "GovernanceDisabled",
    "InputError",
    "IntegrityError",
    "LLMError",
    "LLMResponseError",
    "LLMUnavailable",
    "MemwardenError",
    "NotFound",
    "SchemaError",
    "Settings",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TurnResult",
    "__version__",
]
