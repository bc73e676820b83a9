"""uvicorn's access log without query strings.

A query string can carry memory text: the console's search sends ``?q=Porto``.  Logged,
it would outlive a ``/delete_episode`` of that text in every log file and shipper, so
the access log keeps the method, path and status of a request, never its query.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

__all__ = ["DropQuery", "log_config"]


class DropQuery(logging.Filter):
    """Cuts the query string off the path of uvicorn's access log records.

    uvicorn logs ``'%s - "%s %s HTTP/%s" %d'`` with (client, method, path?query,
    version, status) as the record's arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path = args[2].split("?", 1)[0]
            record.args = (args[0], args[1], path, args[3], args[4])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's default logging configuration, with :class:`DropQuery` on its access
    logger (a configuration, not an object: each worker process applies it)."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["drop_query"] = {"()": f"{__name__}.DropQuery"}
    config["loggers"]["uvicorn.access"]["filters"] = ["drop_query"]
    return config
