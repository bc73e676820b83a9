"""`memwarden chat` and `memwarden turn`: talk to the agent."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
import typer
from rich.markup import escape

from .context import edge, err_console, out_console, print_json, state

if TYPE_CHECKING:
    from ..turn import TurnResult

__all__ = ["chat", "turn"]

USER = typer.Option(..., "--user", "-u", help="Whose memory to use.", show_default=False)


def turn(
    ctx: typer.Context,
    text: str = typer.Argument(..., help="What the user says (or a /command)."),
    user: str = USER,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """One turn, for scripts.

    Example:

        memwarden turn --user ana "I moved to Berlin" --json
    """
    from ..agent import Agent

    with edge():
        settings = state(ctx).settings()
        with Agent.open(settings) as agent:
            result = agent.turn(user, text)
    if as_json:
        print_json(result.to_dict())
    else:
        _show(result)
    if not result.ok:
        raise typer.Exit(1)


def chat(
    ctx: typer.Context,
    user: str = USER,
) -> None:
    """Talk to memwarden interactively; /help lists commands, Ctrl-D quits.

    Example:

        memwarden chat --user ana
    """
    from ..agent import Agent
    from ..commands import validate_user_id

    with edge():
        user = validate_user_id(user)  # before the session: every line would fail on it
        settings = state(ctx).settings()
        agent = Agent.open(settings)
    _enable_history()
    err_console.print(
        f"memwarden chat as [bold]{escape(user)}[/] ({agent.llm.name} LLM). "
        "Type /help for commands, Ctrl-D to quit."
    )
    try:
        while True:
            try:
                text = input("you> ")
            except (EOFError, KeyboardInterrupt):
                err_console.print()
                break
            if not text.strip():
                continue
            if text.strip() in ("/quit", "/exit"):
                break
            with contextlib.suppress(typer.Exit), edge():
                _show(agent.turn(user, text))
    finally:
        agent.close()
        _save_history()


def _show(result: TurnResult) -> None:
    colour = {"NONE": "green", "REWRITE": "yellow", "BLOCK": "red"}.get(result.action, "white")
    out_console.print(f"[bold cyan]memwarden>[/] {escape(result.reply)}", highlight=False)
    if result.episode_id is not None:
        err_console.print(
            f"[dim]episode_{result.episode_id} · action [{colour}]{result.action}[/{colour}]"
            f" · score {result.draft_total_score:g} · recalled {len(result.recalled)}[/]"
        )


def _history_file() -> Path:
    return Path(platformdirs.user_state_dir("memwarden")) / "chat_history"


def _enable_history() -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover - not on every platform
        return
    path = _history_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)


def _save_history() -> None:
    try:
        import readline
    except ImportError:  # pragma: no cover
        return
    with contextlib.suppress(OSError):
        readline.write_history_file(_history_file())
