"""Keep a synthetic run's log lines out of the real log, and count what matters in them.

``selftest`` and ``soak`` make thousands of turns on a throw-away database; their
``[EPISODE]`` lines must not land in the production log file (where ``health`` would
count them) nor flood the terminal under a progress bar.  While :func:`captured_log` is
active, memwarden's logger has only the counter installed; its handlers come back after.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from ..logs import logger

__all__ = ["LogCounter", "captured_log"]


class LogCounter(logging.Handler):
    """Counts ERROR/CRITICAL records (keeping their text) and JSON warnings."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[str] = []
        self.json_warnings = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.levelno >= logging.ERROR:
            self.errors.append(f"[{record.levelname}] {message}"[:300])
        elif "json" in message.lower():
            self.json_warnings += 1


@contextmanager
def captured_log() -> Iterator[LogCounter]:
    """Swap memwarden's log handlers for a :class:`LogCounter` for the block."""
    counter = LogCounter()
    saved = (list(logger.handlers), logger.level, logger.propagate)
    for handler in saved[0]:
        logger.removeHandler(handler)
    logger.addHandler(counter)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield counter
    finally:
        logger.removeHandler(counter)
        for handler in saved[0]:
            logger.addHandler(handler)
        logger.setLevel(saved[1])
        logger.propagate = saved[2]
