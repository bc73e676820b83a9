"""`memwarden export | delete-episode | delete-belief | task-events | trace`.

Thin edges over :class:`memwarden.governance.Governance`: the same calls (and the same
audit rows) as the slash commands.  A refused call prints one error line on stderr and
exits 2 (bad input, unknown id) or 1 (disabled, store failure).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape

from ..errors import InputError
from .context import edge, err_console, out_console, print_json, state

if TYPE_CHECKING:
    from ..governance import Governance, GovernanceResult

__all__ = ["register"]

USER = typer.Option(..., "--user", "-u", help="Whose memory.", show_default=False)
AS_JSON = typer.Option(False, "--json", help="Print one JSON object.")


def _governance(ctx: typer.Context) -> Governance:
    from ..governance import Governance

    return Governance.open(state(ctx).settings(), create=False)


def _finish(result: GovernanceResult[Any], as_json: bool) -> None:
    with edge():
        result.raise_for_error()
    if as_json:
        print_json(result.data())
    else:
        out_console.print(escape(result.reply), highlight=False)


def export(
    ctx: typer.Context,
    user: str = USER,
    out: Path = typer.Option(
        None,
        "--out",
        "-o",
        help="File to write (atomically); stdout when left out.",
        show_default=False,
        dir_okay=False,
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Export everything stored about a user as one JSON document, streamed.

    Example:

        memwarden export --user ana -o ana.json
    """
    if out is None and as_json:
        with edge():
            raise InputError("--json prints the summary of an export to a file: give -o FILE")
    with edge(), _governance(ctx) as gov:
        result = gov.export_memory(user, out=out if out is not None else sys.stdout)
    if out is None:
        # stdout holds the document; the summary goes to stderr.
        with edge():
            result.raise_for_error()
        err_console.print(escape(result.reply), highlight=False)
        return
    _finish(result, as_json)


def delete_episode(
    ctx: typer.Context,
    episode_id: str = typer.Argument(..., help="45 or episode_45"),
    user: str = USER,
    as_json: bool = AS_JSON,
) -> None:
    """Hard-delete one episode and what came from it, down to the database file.

    Example:

        memwarden delete-episode --user ana episode_45
    """
    with edge(), _governance(ctx) as gov:
        result = gov.delete_episode(user, episode_id)
    _finish(result, as_json)


def delete_belief(
    ctx: typer.Context,
    belief_id: str = typer.Argument(..., help="7 or belief_7"),
    user: str = USER,
    as_json: bool = AS_JSON,
) -> None:
    """Delete one belief with its history and sources.

    Example:

        memwarden delete-belief --user ana belief_7
    """
    with edge(), _governance(ctx) as gov:
        result = gov.delete_belief(user, belief_id)
    _finish(result, as_json)


def task_events(
    ctx: typer.Context,
    task_id: str = typer.Argument(None, help="3 or task_3; all tasks when left out"),
    user: str = USER,
    limit: int = typer.Option(100, "--limit", help="At most this many events (0: all)."),
    as_json: bool = AS_JSON,
) -> None:
    """List a user's task events (or one task's), newest first.

    Example:

        memwarden task-events --user ana task_3 --json
    """
    with edge(), _governance(ctx) as gov:
        result = gov.task_events(user, task_id, limit=limit)
    _finish(result, as_json)


def trace(
    ctx: typer.Context,
    episode_id: str = typer.Argument(..., help="45 or episode_45"),
    user: str = USER,
    as_json: bool = AS_JSON,
) -> None:
    """Show why the agent replied what it replied in one episode.

    Example:

        memwarden trace --user ana episode_45 --json
    """
    with edge(), _governance(ctx) as gov:
        result = gov.trace(user, episode_id)
    with edge():
        result.raise_for_error()
    from ..governance import trace_renderable
    from ..governance.trace import DecisionTrace

    if as_json or not isinstance(result.result, DecisionTrace):
        _finish(result, as_json)
    else:
        out_console.print(trace_renderable(result.result))


def register(app: typer.Typer) -> None:
    """Add the five governance subcommands to the ``memwarden`` app."""
    app.command("export")(export)
    app.command("delete-episode")(delete_episode)
    app.command("delete-belief")(delete_belief)
    app.command("task-events")(task_events)
    app.command("trace")(trace)
