"""The five slash commands, registered on an agent's :class:`SlashCommands`.

Each handler hands the words typed after the command to :meth:`Governance.execute`, so
a bad or extra word is refused (and audited) by the same code as in the library.
"""

from __future__ import annotations

from ..commands import CommandOutcome, Handler, SlashCommands
from .args import COMMANDS
from .service import Governance

__all__ = ["register_commands"]


def register_commands(commands: SlashCommands, governance: Governance) -> None:
    """Make ``/export_memory``, ``/delete_episode``, ``/delete_belief``, ``/task_events``
    and ``/trace`` answer through ``governance``."""
    for name, spec in COMMANDS.items():
        commands.register(name, _handler(governance, name), spec.usage.removeprefix("usage: "))


def _handler(governance: Governance, name: str) -> Handler:
    def handle(user_id: str, words: list[str]) -> CommandOutcome:
        result = governance.execute(user_id, name, words)
        return CommandOutcome(result.reply, result.data(), ok=result.ok)

    return handle
