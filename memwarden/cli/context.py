"""What every command shares: the settings from flags and environment, error handling,
and output helpers (stdout is for results only; logs go to stderr or the log file).

The library (settings, logging, the store) is imported inside the functions that use it,
so that ``memwarden --help`` and every command start without paying for what they do not
run (docs/benchmarks.md, Operations)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import ConfigError, InputError, MemwardenError, SchemaError

if TYPE_CHECKING:
    from ..settings import Settings

__all__ = ["State", "edge", "err_console", "out_console", "print_json", "state"]

out_console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class State:
    """Flags given before the subcommand (``memwarden --db X turn ...``)."""

    overrides: dict[str, Any] = field(default_factory=dict)
    _settings: Settings | None = None

    def settings(self, **more: Any) -> Settings:
        """The settings: flags over environment over defaults; logging configured."""
        if self._settings is None or more:
            from pydantic import ValidationError

            from ..logs import configure_logging
            from ..settings import Settings

            values = {**self.overrides, **{k: v for k, v in more.items() if v is not None}}
            try:
                self._settings = Settings(**values)
            except ValidationError as e:
                first = e.errors()[0]
                where = ".".join(str(p) for p in first.get("loc", ())) or "settings"
                msg = str(first.get("msg", "")).removeprefix("Value error, ")
                raise ConfigError(f"invalid setting {where}: {msg}") from e
            configure_logging(self._settings)
        return self._settings


def state(ctx: typer.Context) -> State:
    """The :class:`State` of this invocation."""
    obj = ctx.find_root().obj
    if not isinstance(obj, State):
        obj = State()
        ctx.find_root().obj = obj
    return obj


def exit_code(error: MemwardenError) -> int:
    """2 for what the caller got wrong (input, config, schema), 1 for failures."""
    return 2 if isinstance(error, InputError | ConfigError | SchemaError) else 1


@contextmanager
def edge() -> Iterator[None]:
    """Turn a memwarden error into a one-line message on stderr and a non-zero exit."""
    try:
        yield
    except MemwardenError as e:
        message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        # The message may quote what the user typed: brackets in it are text, not markup.
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
        raise typer.Exit(exit_code(e)) from None


def print_json(value: Any) -> None:
    """Exactly one JSON document on stdout."""
    from ..turn import jsonable

    sys.stdout.write(json.dumps(jsonable(value), ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()
