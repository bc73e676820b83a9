"""The tree of errors memwarden raises.

Everything derives from :class:`MemwardenError`, so an embedding application can catch
one type.  Driver errors (sqlite3, psycopg, openai, httpx) never escape the package: the
store and the LLM backends translate them at their boundary.

    MemwardenError
    ├── ConfigError
    ├── InputError            bad input from a person or a script
    │   └── NotFound          an id that does not exist *for this user*
    ├── GovernanceDisabled    GOVERNANCE_SURFACES_ENABLED is off
    ├── StoreError
    │   ├── SchemaError       migrations missing, or schema not what the code expects
    │   ├── IntegrityError    a constraint refused the write
    │   └── StoreUnavailable  cannot reach or open the database
    │       └── ConcurrencyConflict   locked, busy or serialization failure (retryable)
    └── LLMError
        ├── LLMUnavailable    the model server is down, timed out or refused
        └── LLMResponseError  the model server answered with something unusable
"""

from __future__ import annotations

__all__ = [
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
    "StoreError",
    "StoreUnavailable",
]


class MemwardenError(Exception):
    """Base of every error memwarden raises on purpose."""


class ConfigError(MemwardenError):
    """A setting is missing or invalid."""


class InputError(MemwardenError):
    """Input from a person or a script cannot be used as given."""


class NotFound(InputError):
    """The id does not exist for this user (another user's id looks exactly the same)."""


class GovernanceDisabled(MemwardenError):
    """Governance surfaces are switched off by GOVERNANCE_SURFACES_ENABLED."""


class StoreError(MemwardenError):
    """The database failed."""


class SchemaError(StoreError):
    """The schema is not at the revision this code expects."""


class IntegrityError(StoreError):
    """A constraint of the database refused a write."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or opened."""


class ConcurrencyConflict(StoreUnavailable):
    """The database was busy, locked, or aborted a transaction to serialize it; retry."""


class LLMError(MemwardenError):
    """The language model backend failed."""


class LLMUnavailable(LLMError):
    """The model server is down, timed out, or refused the request."""


class LLMResponseError(LLMError):
    """The model server answered, but not with something usable."""
