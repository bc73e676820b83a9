"""`memwarden db ...`: migrations, index upkeep, and moving a deployment to PostgreSQL."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from .context import edge, err_console, out_console, print_json, state

if TYPE_CHECKING:
    from rich.progress import TaskID

__all__ = ["db_app"]

db_app = typer.Typer(help="Database migrations, upkeep and copy.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade(ctx: typer.Context) -> None:
    """Apply every missing migration (all in one transaction).

    Example:

        memwarden --db memory.db db upgrade
    """
    from ..store import Store

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
    from ..store import Store
    from ..store.migrate import head_revision

    with edge():
        store = Store.open(state(ctx).settings(), migrate=False, create=False)
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
    from ..store import Store

    with edge():
        store = Store.open(state(ctx).settings(), create=False)
        try:
            store.optimize()
        finally:
            store.close()
    out_console.print("optimized")


@db_app.command("copy")
def copy(
    source: str = typer.Option(..., "--from", help="The SQLite database file to copy."),
    target: str = typer.Option(
        ..., "--to", help="The PostgreSQL URL to copy into (postgresql+psycopg://...)."
    ),
    batch_size: int = typer.Option(
        1000, "--batch-size", min=1, max=1_000_000, help="Rows per transaction."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Move a deployment from its SQLite file to PostgreSQL, and verify the copy.

    Table by table in batches, ids kept; a blank target is migrated first, a target at
    another migration refused.  Resumable: run it again after an interruption, and a
    second run over a complete copy copies 0 rows.  Every table is verified by row
    count and checksum; exit 1 names a table that differs.  Stop the writers first.

    Example:

        memwarden db copy --from ~/.local/share/memwarden/memwarden.db \\
            --to postgresql+psycopg://memwarden@db.internal/memwarden
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..ops.copy import copy_database

    columns = (
        TextColumn("{task.description:<28}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with edge(), Progress(*columns, console=err_console, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def tick(phase: str, table: str, done: int, total: int) -> None:
            name = f"{phase} {table}"
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done, total=total)

        report = copy_database(source, target, batch_size=batch_size, progress=tick)
    if as_json:
        print_json(report.to_dict())
    else:
        for table in report.tables:
            mark = "[green]✓[/]" if table.ok else "[bold red]✗[/]"
            out_console.print(
                f"{mark} {escape(table.name)}: {table.source_rows} rows, {table.copied} copied now, "
                f"sha256 {table.source_sha256[:12]}",
                highlight=False,
            )
        seconds = report.copy_seconds + report.verify_seconds
        out_console.print(
            f"{report.copied} of {report.rows} rows copied to {escape(str(report.target))} "
            f"({report.copy_seconds:.1f}s copy, {report.verify_seconds:.1f}s verify, "
            f"{seconds:.1f}s)",
            highlight=False,
        )
    if not report.ok:
        err_console.print(
            f"[bold red]error:[/] verification failed: {escape('; '.join(report.differences()))}",
            highlight=False,
        )
        raise typer.Exit(1)
