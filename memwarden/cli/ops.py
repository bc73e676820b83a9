"""Operations commands: health, logs, check, validate, selftest, smoke, backup, restore, soak.

Thin edges over :mod:`memwarden.ops`: parse flags, call the library, print.  Imports of
the library happen inside each command, so ``memwarden`` starts as fast as before.
Exit codes: ``health`` 0 OK/INFO, 1 WARNING, 2 CRITICAL; the others 0 when all is well,
1 when something is wrong, 2 for bad input or configuration.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from .context import edge, err_console, out_console, print_json, state

if TYPE_CHECKING:
    from ..ops.health import HealthReport

__all__ = ["register"]

JSON = typer.Option(False, "--json", help="Print one JSON object.")
WINDOW = typer.Option("6h", "--window", "-w", help="How far back: 6h, 90m, 30d, 1h30m.")
THRESHOLDS = typer.Option(
    None,
    "--thresholds",
    envvar="MEMWARDEN_THRESHOLDS",
    help="TOML file merged over the shipped thresholds (env: MEMWARDEN_THRESHOLDS)",
    show_default=False,
)

SCRATCH_DB = typer.Option(
    None,
    "--scratch-db",
    help="An empty database to run on instead of a temporary SQLite file, e.g. a "
    "PostgreSQL URL; refused unless empty.",
    show_default=False,
)

logs_app = typer.Typer(help="Read the structured log.", no_args_is_help=True)


def health(
    ctx: typer.Context,
    window: str = WINDOW,
    as_json: bool = JSON,
    prometheus: bool = typer.Option(False, "--prometheus", help="Prometheus text format."),
    review: str = typer.Option(
        None,
        "--review",
        help="Success criteria and 30-day review over this window (72h, 30d).",
        show_default=False,
    ),
    thresholds: Path = THRESHOLDS,
    alert_rules: bool = typer.Option(
        False,
        "--alert-rules",
        help="Print Prometheus alerting rules for these thresholds, and exit.",
    ),
) -> None:
    """The seed's dashboard metrics with their status, and the rollback decision.

    Exit code: 0 OK or INFO, 1 WARNING, 2 CRITICAL (with --review: 1 if a criterion is
    not met).  Exceptions and JSON warnings come from the log file (--log-file).

    Examples:

        memwarden --log-file /var/log/memwarden.log health --window 6h
        memwarden health --prometheus > memwarden.prom
        memwarden health --review 72h --json
        memwarden health --thresholds ours.toml --alert-rules > alerts.yml
    """
    from ..errors import InputError
    from ..ops.database import open_existing
    from ..ops.thresholds import load_thresholds, parse_window

    with edge():
        if as_json and prometheus:
            raise InputError("choose --json or --prometheus, not both")
        if review and prometheus:
            raise InputError("--review prints a table or --json, not --prometheus")
        limits = load_thresholds(thresholds)
        if alert_rules:
            from ..ops.prometheus import alert_rules as rules

            sys.stdout.write(rules(limits))
            return
        settings = state(ctx).settings()
        store = open_existing(settings)
        try:
            if review:
                from ..ops.review import collect_review

                report = collect_review(store, limits, parse_window(review), settings.log_file)
            else:
                from ..ops.health import collect_health

                hreport = collect_health(store, limits, parse_window(window), settings.log_file)
        finally:
            store.close()
    if review:
        from ..ops.render import review_view

        print_json(report.to_dict()) if as_json else out_console.print(review_view(report))
        raise typer.Exit(report.exit_code)
    _print_health(hreport, as_json, prometheus)
    raise typer.Exit(hreport.exit_code)


def _print_health(report: HealthReport, as_json: bool, prometheus: bool) -> None:
    if as_json:
        print_json(report.to_dict())
    elif prometheus:
        from ..ops.prometheus import exposition

        sys.stdout.write(exposition(report))
    else:
        from ..ops.render import health_view

        out_console.print(health_view(report))


@logs_app.command("summary")
def logs_summary(
    ctx: typer.Context,
    window: str = WINDOW,
    as_json: bool = JSON,
    file: Path = typer.Option(
        None,
        "--file",
        help="Log file (default: --log-file / MEMWARDEN_LOG_FILE).",
        show_default=False,
    ),
    thresholds: Path = THRESHOLDS,
) -> None:
    """Count errors, JSON warnings, governance calls and episodes in the log window.

    Replaces the seed's "Error Log Summary" greps; rotated files are read too.

    Example:

        memwarden --log-file /var/log/memwarden.log logs summary --window 6h
    """
    from ..errors import ConfigError
    from ..ops.logsummary import summarize_log
    from ..ops.render import log_view
    from ..ops.thresholds import load_thresholds, parse_window

    with edge():
        settings = state(ctx).settings()
        path = file or settings.log_file
        if path is None:
            raise ConfigError("no log file: pass --file, --log-file or set MEMWARDEN_LOG_FILE")
        limits = load_thresholds(thresholds)
        summary = summarize_log(path, parse_window(window), must_exist=True)
    if as_json:
        print_json(summary.to_dict())
    else:
        out_console.print(
            log_view(summary, limits.log_errors_per_6h, limits.log_json_warnings_per_6h)
        )


def check(
    ctx: typer.Context,
    fix: bool = typer.Option(False, "--fix", help="Repair what is safe, in one transaction."),
    as_json: bool = JSON,
) -> None:
    """Integrity: orphans, beliefs without a source, full-text index, PRAGMAs, migrations.

    Exit code 1 while any violation remains.

    Examples:

        memwarden --db memory.db check
        memwarden --db memory.db check --fix --json
    """
    from ..ops.database import open_existing
    from ..ops.integrity import run_check
    from ..ops.render import check_view

    with edge():
        store = open_existing(state(ctx).settings(), require_head=False)
        try:
            report = run_check(store, fix=fix)
        finally:
            store.close()
    print_json(report.to_dict()) if as_json else out_console.print(check_view(report))
    raise typer.Exit(report.exit_code)


def validate(ctx: typer.Context, as_json: bool = JSON) -> None:
    """Schema as the code expects it, foreign keys on, migrations at head (validate_fixes.py).

    Example:

        memwarden --db /srv/memwarden/memory.db validate
    """
    from ..ops.database import open_existing
    from ..ops.validate import validate as run_validate

    with edge():
        store = open_existing(state(ctx).settings(), require_head=False)
        try:
            report = run_validate(store)
        finally:
            store.close()
    if as_json:
        print_json(report.to_dict())
    else:
        for item in report.items:
            mark = "[green]✓[/]" if item.ok else "[bold red]✗[/]"
            out_console.print(
                f"{mark} {escape(item.name)}"
                + (f" [dim]({escape(item.detail)})[/]" if item.detail else "")
            )
        out_console.print(
            "[green]✓ schema valid[/]" if report.ok else "[bold red]✗ schema NOT valid[/]"
        )
    raise typer.Exit(report.exit_code)


def selftest(ctx: typer.Context, scratch_db: str = SCRATCH_DB, as_json: bool = JSON) -> None:
    """The integration test (quick_integration_test.py) against a temporary database.

    Turns, beliefs, tasks, the five governance commands and the gate; ends with
    "✓ ALL TESTS PASSED" or the list of failures (exit 1).

    Examples:

        memwarden selftest
        memwarden selftest --scratch-db postgresql+psycopg://memwarden@db/memwarden_selftest
    """
    from ..ops.selftest import StepResult, run_selftest

    def show(step: StepResult) -> None:
        if not as_json:
            mark = "[green]✓[/]" if step.ok else "[bold red]✗[/]"
            out_console.print(
                f"{mark} {escape(step.name)} [dim]— {escape(step.detail)} ({step.ms:.0f} ms)[/]",
                highlight=False,
            )

    with edge():
        report = run_selftest(state(ctx).settings(), database=scratch_db, progress=show)
    if as_json:
        print_json(report.to_dict())
    else:
        out_console.print(
            f"[{'green' if report.ok else 'bold red'}]{report.verdict}[/]", highlight=False
        )
    raise typer.Exit(0 if report.ok else 1)


def smoke(
    ctx: typer.Context,
    db: str = typer.Option(
        None,
        "--db",
        help="The (production) database; default: the global --db.",
        show_default=False,
    ),
    user: str = typer.Option(
        "memwarden-smoke", "--user", help="Whose memory the read-only calls read."
    ),
    as_json: bool = JSON,
) -> None:
    """Read-only governance calls against a live database (the seed's Step 4).

    Writes only the calls' audit rows (governance_log); fails if any user data changed.

    Example:

        memwarden smoke --db /srv/memwarden/memory.db
    """
    from ..ops.smoke import run_smoke

    with edge():
        settings = state(ctx).settings(db=db)
        report = run_smoke(settings, user)
    if as_json:
        print_json(report.to_dict())
    else:
        for call in report.calls:
            mark = "[green]✓[/]" if call.ok else "[bold red]✗[/]"
            out_console.print(
                f"{mark} {escape(call.command)} {call.latency_ms:.0f} ms [dim]({escape(call.detail)})[/]"
            )
        out_console.print(f"[dim]audit rows written: {report.audit_rows}[/]")
        out_console.print(
            f"[{'green' if report.ok else 'bold red'}]{report.verdict}[/]", highlight=False
        )
    raise typer.Exit(0 if report.ok else 1)


def backup(
    ctx: typer.Context,
    path: Path = typer.Argument(
        ..., help="Snapshot file to write (PATH.sha256 is written beside it)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing snapshot."),
    as_json: bool = JSON,
) -> None:
    """Online, consistent snapshot while the agent serves, with its SHA-256.

    SQLite: a database file (VACUUM INTO).  PostgreSQL: a pg_dump custom-format archive
    (pg_dump and pg_restore on PATH or in MEMWARDEN_PG_BIN_DIR).

    Examples:

        memwarden --db /srv/memwarden/memory.db backup /backups/pre-deploy.db
        memwarden --db postgresql+psycopg://memwarden@db/memwarden backup /backups/pre-deploy.dump
    """
    from ..ops.backup import backup as take_backup
    from ..ops.database import open_existing

    with edge():
        settings = state(ctx).settings()
        store = open_existing(settings, require_head=False)
        try:
            result = take_backup(store, path, overwrite=overwrite, pg_bin_dir=settings.pg_bin_dir)
        finally:
            store.close()
    if as_json:
        print_json(result.to_dict())
    else:
        s = result.snapshot
        out_console.print(
            f"[green]✓[/] {escape(str(s.path))}: {s.bytes:,} bytes, {s.episodes:,} episodes, migration {s.revision}, "
            f"{result.seconds:.1f}s\n  sha256 {s.sha256} → {escape(str(result.checksum_file))}",
            highlight=False,
        )


def restore(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Snapshot written by `memwarden backup`."),
    force: bool = typer.Option(
        False,
        "--force",
        help="Restore even while a server holds the database (PostgreSQL: end its sessions).",
    ),
    as_json: bool = JSON,
) -> None:
    """Replace the database with a verified snapshot, atomically (old or new, never broken).

    Checks the snapshot's checksum and integrity first; refuses while a server holds the
    database unless --force; keeps the replaced database as DB.pre-restore-STAMP
    (PostgreSQL: restores into a new database, renamed into place; the old one is kept
    as DB_pre_restore_STAMP).

    Example:

        memwarden --db /srv/memwarden/memory.db restore /backups/pre-deploy.db
    """
    from ..ops.backup import restore as do_restore

    with edge():
        result = do_restore(state(ctx).settings(), path, force=force)
    if as_json:
        print_json(result.to_dict())
        return
    out_console.print(
        f"[green]✓[/] restored {escape(str(result.database))} from {escape(str(result.snapshot.path))} "
        f"({result.snapshot.episodes:,} episodes, migration {result.snapshot.revision})",
        highlight=False,
    )
    if result.previous:
        out_console.print(escape(f"  previous database kept as {result.previous}"), highlight=False)
    for note in [*(f"forced past: {h}" for h in result.holders), *result.notes]:
        err_console.print(f"  [yellow]{escape(note)}[/]", highlight=False)


def soak(
    ctx: typer.Context,
    sessions: int = typer.Option(5, "--sessions", min=1, help="Sessions to replay."),
    turns: int = typer.Option(15, "--turns", min=1, help="Turns per session."),
    users: int = typer.Option(
        None,
        "--users",
        min=1,
        help="Simulated users (default: one per session, ≤ 20)",
        show_default=False,
    ),
    duration: float = typer.Option(
        None, "--duration", min=1, help="Keep starting sessions for S seconds.", show_default=False
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the scripted conversations."),
    scratch_db: str = SCRATCH_DB,
    as_json: bool = JSON,
) -> None:
    """Replay realistic scripted sessions against a fresh database; fail on any problem.

    Prints the seed's "Staging Soak Test Results"; exit 1 on any exception, orphan,
    benign score drift, task or governance mismatch.

    Examples:

        memwarden soak
        memwarden soak --sessions 100 --turns 100 --users 25
        memwarden soak --duration 3600 --json
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..ops.soak import SoakOptions, run_soak

    options = SoakOptions(sessions=sessions, turns=turns, users=users, duration=duration, seed=seed)
    columns = (TextColumn("soak"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with edge(), Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("turns", total=duration if duration else sessions * turns)

        def tick(done: int, total: int | None, elapsed: float) -> None:
            bar.update(task, completed=done if total else min(elapsed, duration or elapsed))

        report = run_soak(state(ctx).settings(), options, database=scratch_db, progress=tick)
    if as_json:
        print_json(report.to_dict())
    else:
        out_console.print("[bold]Staging Soak Test Results[/]")
        for ok, label, value in report.lines():
            out_console.print(
                f"{'[green]✓[/]' if ok else '[bold red]✗[/]'} {escape(f'{label}: {value}')}",
                highlight=False,
            )
        rate = report.turns / report.seconds if report.seconds else 0.0
        out_console.print(f"[dim]{report.seconds:.1f}s, {rate:.0f} turns/s[/]")
        for problem in report.failures():
            out_console.print(f"[bold red]FAILED:[/] {escape(problem)}", highlight=False)
    raise typer.Exit(0 if report.ok else 1)


def register(app: typer.Typer) -> None:
    """Add the operations commands to the ``memwarden`` app."""
    for command in (health, check, validate, selftest, smoke, backup, restore, soak):
        app.command(rich_help_panel="Operations")(command)
    app.add_typer(logs_app, name="logs", rich_help_panel="Operations")
