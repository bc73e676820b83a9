"""The structured log, in the seed runbook's line format.

    2026-01-21 18:04:11,532 [EPISODE] Episode 1024 created (score: 0.0, action: NONE)
    2026-01-21 18:05:02,118 [GOVERNANCE] /export_memory executed (user: user123)
    2026-01-21 18:05:09,771 [WARNING] trace_decision: JSON parse failed for episode 456

Informational lines carry a tag (EPISODE, GOVERNANCE, ...); warnings and errors carry
their level.  Log lines never go to stdout, which belongs to command output.
"""

from __future__ import annotations

import logging
import sys
from logging.handlers import RotatingFileHandler
from typing import TextIO

from .errors import ConfigError
from .settings import Settings

__all__ = ["SeedFormatter", "configure_logging", "event", "logger"]

logger = logging.getLogger("memwarden")
_HANDLER_MARK = "_memwarden_handler"


class SeedFormatter(logging.Formatter):
    """``<time> [TAG] message``: the tag for INFO lines, else the level name."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s [%(tag)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno >= logging.WARNING or not hasattr(record, "tag"):
            record.tag = record.levelname
        return super().format(record)


def event(tag: str, message: str, *args: object) -> None:
    """Log an informational line with a seed tag, e.g. ``event("EPISODE", ...)``."""
    logger.info(message, *args, extra={"tag": tag})


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> None:
    """Send memwarden's log to stderr (or ``stream``) and, if configured, a rotated file.

    Calling it again replaces the handlers it installed before.
    """
    for handler in list(logger.handlers):
        if getattr(handler, _HANDLER_MARK, False):
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(settings.log_level)
    logger.propagate = False
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if settings.log_file is not None:
        try:
            settings.log_file.parent.mkdir(parents=True, exist_ok=True)
            handlers.append(
                RotatingFileHandler(
                    settings.log_file,
                    maxBytes=settings.log_max_bytes,
                    backupCount=settings.log_backups,
                    encoding="utf-8",
                )
            )
        except OSError as e:
            raise ConfigError(
                f"cannot open the log file {settings.log_file}: {e.strerror or e}"
            ) from e
    for handler in handlers:
        handler.setFormatter(SeedFormatter())
        setattr(handler, _HANDLER_MARK, True)
        logger.addHandler(handler)
