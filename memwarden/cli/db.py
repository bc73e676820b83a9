"""`memwarden db ...`: migrations."""

from __future__ import annotations

import typer

from ..store import Store
from ..store.migrate import head_revision
from .context import edge, out_console, print_json, state

__all__ = ["db_app"]

db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply every missing migration (each in one transaction).

    Example:

        memwarden --db memory.db db upgrade
    """
    with edge():
        store = Store.open(state(ctx).settings(), migrate=False)
        try:
            before = store.revision()
            store.upgrade()
            after = store.revision()
        finally:
            store.close()
    out_console.print(f"database at {after} (was {before or 'blank'})")


@db_app.command("current")
def current(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show the database's migration and the code's head.

    Example:

        memwarden db current --json
    """
    with edge():
        store = Store.open(state(ctx).settings(), migrate=False)
        try:
            revision = store.revision()
        finally:
            store.close()
    head = head_revision()
    if as_json:
        print_json({"current": revision, "head": head, "at_head": revision == head})
    else:
        out_console.print(f"current: {revision or 'blank'}  head: {head}")
    if revision != head:
        raise typer.Exit(1)


@db_app.command("optimize")
def optimize(ctx: typer.Context) -> None:
    """Compact the full-text indexes and refresh statistics (after bulk imports).

    Example:

        memwarden db optimize
    """
    with edge():
        store = Store.open(state(ctx).settings())
        try:
            store.optimize()
        finally:
            store.close()
    out_console.print("optimized")
