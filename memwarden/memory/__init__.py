"""Memory: episodes, semantic beliefs, tasks, and recall over them."""

from __future__ import annotations

from .beliefs import Belief, BeliefChange, HistoryEntry
from .episodes import Episode
from .extract import extract_facts
from .facts import Fact
from .recall import RecalledMemory
from .tasks import Task, TaskEvent, TaskStatus, parse_task_request

__all__ = [
    "Belief",
    "BeliefChange",
    "Episode",
    "Fact",
    "HistoryEntry",
    "RecalledMemory",
    "Task",
    "TaskEvent",
    "TaskStatus",
    "extract_facts",
    "parse_task_request",
]
