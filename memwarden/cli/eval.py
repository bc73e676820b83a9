"""`memwarden eval ...`: measure the product on case files (gate, recall)."""

from __future__ import annotations

import typer

__all__ = ["eval_app"]

eval_app = typer.Typer(help="Measure memwarden on case files.", no_args_is_help=True)
