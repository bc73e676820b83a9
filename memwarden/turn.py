"""The typed result of one turn (or of one slash command answered in its place)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only: ``jsonable`` users need not import the memory
    from .memory.beliefs import BeliefChange
    from .memory.recall import RecalledMemory
    from .memory.tasks import Task

__all__ = ["TurnResult", "jsonable"]


@dataclass(frozen=True)
class TurnResult:
    """What a turn did: the reply sent, why, and what memory it touched.

    For a slash command, ``episode_id`` is None (commands are not episodes), ``command``
    names it, ``ok`` says whether it succeeded and ``result`` holds its structured data.
    """

    episode_id: int | None
    reply: str
    action: str
    draft_total_score: float
    final_score: float = 0.0
    recalled: tuple[RecalledMemory, ...] = ()
    tasks: tuple[Task, ...] = ()
    beliefs: tuple[BeliefChange, ...] = ()
    timings_ms: dict[str, float] = field(default_factory=dict)
    command: str | None = None
    ok: bool = True
    result: Any = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (what ``turn --json`` prints and the HTTP API returns)."""
        return {
            "episode_id": self.episode_id,
            "reply": self.reply,
            "action": self.action,
            "draft_total_score": self.draft_total_score,
            "final_score": self.final_score,
            "recalled": [jsonable(asdict(m)) for m in self.recalled],
            "tasks": [jsonable(asdict(t)) for t in self.tasks],
            "beliefs": [jsonable(asdict(b)) for b in self.beliefs],
            "timings_ms": self.timings_ms,
            "command": self.command,
            "ok": self.ok,
            "result": jsonable(self.result),
        }


def jsonable(value: Any) -> Any:
    """``value`` with datetimes as ISO strings and tuples as lists, recursively."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return jsonable(asdict(value))
    return value
