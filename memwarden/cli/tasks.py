"""`memwarden tasks ...`: the user's explicit tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from .context import edge, out_console, print_json, state

if TYPE_CHECKING:
    from ..memory.taskbook import TaskBook
    from ..memory.tasks import Task

__all__ = ["tasks_app"]

tasks_app = typer.Typer(help="List, add, complete and cancel a user's tasks.", no_args_is_help=True)
USER = typer.Option(..., "--user", "-u", help="Whose tasks.", show_default=False)
JSON = typer.Option(False, "--json", help="Print one JSON document.")


def _book(ctx: typer.Context, *, create: bool = False) -> TaskBook:
    """The tasks of the configured database; only ``tasks add`` may create it."""
    from ..memory.taskbook import TaskBook
    from ..store import Store

    return TaskBook(Store.open(state(ctx).settings(), create=create))


def _print(found: list[Task], as_json: bool) -> None:
    if as_json:
        print_json(found)
        return
    from rich.table import Table

    table = Table("id", "status", "title", "created")
    for t in found:
        table.add_row(
            str(t.id), escape(t.status), escape(t.title), f"{t.created_at:%Y-%m-%d %H:%M}"
        )
    out_console.print(table)


@tasks_app.command("list")
def list_(
    ctx: typer.Context,
    user: str = USER,
    status: str = typer.Option("open", help="open, done, cancelled or all"),
    as_json: bool = JSON,
) -> None:
    """List tasks.

    Example:

        memwarden tasks list --user ana --status all
    """
    with edge():
        book = _book(ctx)
        try:
            found = book.find(user, status)
        finally:
            book.store.close()
    _print(found, as_json)


@tasks_app.command("add")
def add(
    ctx: typer.Context,
    title: str = typer.Argument(..., help='What to do, e.g. "Buy milk".'),
    user: str = USER,
    as_json: bool = JSON,
) -> None:
    """Add a task.

    Example:

        memwarden tasks add --user ana "Renew passport"
    """
    with edge():
        book = _book(ctx, create=True)
        try:
            task = book.add(user, title)
        finally:
            book.store.close()
    _print([task], as_json)


@tasks_app.command("done")
def done(
    ctx: typer.Context,
    task_id: int = typer.Argument(..., help="The task's id (tasks list shows it)."),
    user: str = USER,
    as_json: bool = JSON,
) -> None:
    """Mark a task done.

    Example:

        memwarden tasks done --user ana 3
    """
    with edge():
        book = _book(ctx)
        try:
            task = book.complete(user, task_id)
        finally:
            book.store.close()
    _print([task], as_json)


@tasks_app.command("cancel")
def cancel(
    ctx: typer.Context,
    task_id: int = typer.Argument(..., help="The task's id (tasks list shows it)."),
    user: str = USER,
    as_json: bool = JSON,
) -> None:
    """Cancel a task.

    Example:

        memwarden tasks cancel --user ana 3
    """
    with edge():
        book = _book(ctx)
        try:
            task = book.cancel(user, task_id)
        finally:
            book.store.close()
    _print([task], as_json)
