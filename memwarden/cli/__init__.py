"""The ``memwarden`` command line: thin commands over the library.

Every command module imports the library inside its commands, so ``memwarden --help``
and each command load only what they run (docs/benchmarks.md, Operations).
"""

from __future__ import annotations

import atexit
import gc
from pathlib import Path
from typing import NoReturn

import typer

from .context import State
from .conversation import chat, turn
from .db import db_app
from .eval import eval_app
from .governance import register as register_governance
from .ops import register as register_ops
from .serve import serve
from .tasks import tasks_app
from .users import users_app

__all__ = ["app", "main"]

app = typer.Typer(
    help="memwarden: a long-term memory agent whose memory its user governs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def _root(
    ctx: typer.Context,
    db: str = typer.Option(
        None, "--db", help="SQLite path or database URL (env: MEMWARDEN_DB)", show_default=False
    ),
    llm: str = typer.Option(
        None, "--llm", help="builtin or openai (env: MEMWARDEN_LLM)", show_default=False
    ),
    log_file: Path = typer.Option(
        None,
        "--log-file",
        help="Also log to this file, rotated (env: MEMWARDEN_LOG_FILE)",
        show_default=False,
    ),
    log_level: str = typer.Option(
        None,
        "--log-level",
        help="DEBUG, INFO, WARNING... (env: MEMWARDEN_LOG_LEVEL)",
        show_default=False,
    ),
) -> None:
    overrides: dict[str, object] = {}
    for key, value in (("db", db), ("llm", llm), ("log_file", log_file), ("log_level", log_level)):
        if value is not None:
            overrides[key] = value
    ctx.obj = State(overrides=overrides)


app.command()(chat)
app.command()(turn)
app.add_typer(db_app, name="db")
app.add_typer(eval_app, name="eval")
app.add_typer(users_app, name="users")
app.command()(serve)
app.add_typer(tasks_app, name="tasks")
register_governance(app)
register_ops(app)


def main() -> None:
    """Entry point of the ``memwarden`` script."""
    # The process ends when its command does.  Spare the interpreter's last garbage
    # collections over every object the libraries made at import (0.2-0.3 s after
    # `memwarden health`): the operating system frees the memory at once anyway.
    # Freezing skips only the collection: streams and log handlers still flush and close.
    atexit.register(gc.freeze)
    try:
        app()
    except Exception as e:  # the outermost edge: an error no command translated (a bug)
        _unexpected(e)


def _unexpected(error: Exception) -> NoReturn:
    """One line on stderr and exit 1; the traceback only with MEMWARDEN_DEBUG=1."""
    import os
    import traceback

    from .context import err_console

    if os.environ.get("MEMWARDEN_DEBUG", "").strip() not in ("", "0"):
        traceback.print_exception(error)
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    err_console.print(
        f"error: unexpected {type(error).__name__}"
        + (f": {first}" if first else "")
        + " (MEMWARDEN_DEBUG=1 shows the traceback)",
        highlight=False,
        markup=False,
    )
    raise SystemExit(1)
