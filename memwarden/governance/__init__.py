"""Memory governance: what a user can see and erase of what memwarden stores about them.

    from memwarden.governance import Governance

    with Governance.open(settings) as gov:
        gov.export_memory("ana", out=Path("ana.json"))   # one JSON document, streamed
        gov.delete_episode("ana", "episode_45")          # hard delete, down to the disk
        gov.delete_belief("ana", "belief_7")
        gov.task_events("ana")                           # newest first
        gov.trace("ana", "episode_45").reply             # why it replied what it replied

Every call returns a :class:`GovernanceResult` (``reply`` for a person, ``result`` for a
program) and writes one ``governance_log`` row, successful or not.  The same calls answer
the slash commands (:func:`register_commands`) and the CLI subcommands.
"""

from __future__ import annotations

from .args import COMMANDS, DELETE_BELIEF, DELETE_EPISODE, EXPORT_MEMORY, TASK_EVENTS, TRACE
from .export import EXPORT_FORMAT, EXPORT_VERSION
from .render import trace_renderable
from .results import (
    BeliefRef,
    CheckpointStatus,
    DeleteBeliefReport,
    DeleteEpisodeReport,
    ExportSummary,
    GovernanceResult,
    TaskEventRow,
    TaskEventsReport,
    TaskRef,
)
from .service import DISABLED_MESSAGE, Governance
from .slash import register_commands
from .trace import DecisionTrace

__all__ = [
    "COMMANDS",
    "DELETE_BELIEF",
    "DELETE_EPISODE",
    "DISABLED_MESSAGE",
    "EXPORT_FORMAT",
    "EXPORT_MEMORY",
    "EXPORT_VERSION",
    "TASK_EVENTS",
    "TRACE",
    "BeliefRef",
    "CheckpointStatus",
    "DecisionTrace",
    "DeleteBeliefReport",
    "DeleteEpisodeReport",
    "ExportSummary",
    "Governance",
    "GovernanceResult",
    "TaskEventRow",
    "TaskEventsReport",
    "TaskRef",
    "register_commands",
    "trace_renderable",
]
