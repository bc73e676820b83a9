"""What governance calls return: a reply for a person, typed data for a program.

Every call answers with a :class:`GovernanceResult`; on success ``result`` holds one of
the report types below, on failure ``error`` and ``error_kind`` say why (and nothing was
changed).  :meth:`GovernanceResult.data` is the JSON-ready form that ``turn --json``
prints in its ``result`` field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from ..errors import MemwardenError
from ..turn import jsonable

__all__ = [
    "BeliefRef",
    "CheckpointStatus",
    "DeleteBeliefReport",
    "DeleteEpisodeReport",
    "ErrorKind",
    "ExportSummary",
    "GovernanceResult",
    "TaskEventRow",
    "TaskEventsReport",
    "TaskRef",
]

T = TypeVar("T")

# usage: the words could not be read (bad id, missing or extra words);
# not_found: no such id for this user (another user's id included);
# disabled: GOVERNANCE_SURFACES_ENABLED is off; store: the database failed.
ErrorKind = Literal["usage", "not_found", "disabled", "store", "internal"]


@dataclass(frozen=True)
class GovernanceResult(Generic[T]):
    """The answer to one governance call (always audited in ``governance_log``)."""

    command: str
    ok: bool
    reply: str
    result: T | None = None
    error: str | None = None
    error_kind: ErrorKind | None = None
    latency_ms: float = 0.0
    exception: MemwardenError | None = field(default=None, repr=False, compare=False)

    def raise_for_error(self) -> None:
        """Raise the error this call failed with (for callers that prefer exceptions)."""
        if self.exception is not None:
            raise self.exception

    def data(self) -> Any:
        """JSON-ready structured data: the report on success, the error on failure."""
        if self.ok:
            return jsonable(self.result)
        return {"error": {"kind": self.error_kind, "message": self.error}}


@dataclass(frozen=True)
class ExportSummary:
    """What an export wrote."""

    version: int
    user_id: str
    exported_at: str
    counts: dict[str, int]
    bytes: int
    path: str | None  # the file written, or None when streamed to a caller's stream


@dataclass(frozen=True)
class CheckpointStatus:
    """Whether the WAL was checkpointed and truncated after a delete."""

    complete: bool
    ms: float
    detail: str = ""


@dataclass(frozen=True)
class BeliefRef:
    """A belief touched by a delete (its value is not repeated here)."""

    id: int
    key: str
    reverted: bool = False  # its current value came from the deleted episode


@dataclass(frozen=True)
class TaskRef:
    """A task kept after its source episode was deleted."""

    id: int
    title: str


@dataclass(frozen=True)
class DeleteEpisodeReport:
    """Everything one episode delete removed or changed."""

    episode_id: int
    risk_log_rows: int
    belief_history_rows: int
    beliefs_deleted: list[BeliefRef]
    beliefs_detached: list[BeliefRef]
    tasks_kept: list[TaskRef]
    task_events_unlinked: int
    episodes_redacted: list[int]
    checkpoint: CheckpointStatus


@dataclass(frozen=True)
class DeleteBeliefReport:
    """What one belief delete removed."""

    belief_id: int
    key: str
    history_rows: int
    source_episodes: list[int]
    checkpoint: CheckpointStatus
    episodes_redacted: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class TaskEventRow:
    """One task event, with the task's title."""

    id: int
    task_id: int
    task_title: str
    ts: str
    event: str
    episode_id: int | None
    detail: dict[str, Any]


@dataclass(frozen=True)
class TaskEventsReport:
    """The user's task events (or one task's), newest first."""

    task_id: int | None
    events: list[TaskEventRow]
    total: int
    truncated: bool
