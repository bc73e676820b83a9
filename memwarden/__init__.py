"""memwarden: a long-term memory agent whose memory its user governs.

from memwarden import Agent, Settings

with Agent.open(Settings(db="memory.db")) as agent:
    result = agent.turn("ana", "I live in Porto")
    print(result.reply, result.episode_id, result.action)

The names below are resolved on first access (PEP 562), so ``import memwarden`` and
its submodules (the CLI, ``memwarden.ops``) do not pay for the agent, the LLM clients
and the risk gate until something uses them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .agent import Agent
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

#: The heavy public names (the errors are plain classes, imported above) and the module
#: each lives in, imported on first access.
_LAZY = {"Agent": ".agent", "Settings": ".settings", "Store": ".store", "TurnResult": ".turn"}


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used."""
    home = _LAZY.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
