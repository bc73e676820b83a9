"""The audit trail: one ``governance_log`` row and one log line per call.

2026-01-21 18:05:02,118 [GOVERNANCE] /export_memory executed (user: user123)
2026-01-21 18:05:09,771 [GOVERNANCE] /trace episode_45 executed (user: ana)
2026-01-21 18:05:12,004 [GOVERNANCE] /delete_episode episode_9 failed (user: ana): No episode 9.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, text

from ..logs import event, logger
from ..store.schema import USER, governance_log

__all__ = ["AUDITED_READ", "log_call", "record", "row"]

MAX_ERROR_CHARS = 500
_INSERT = insert(governance_log)  # built once: SQLAlchemy reuses its compiled form


# PostgreSQL: the same row, with synchronous_commit off for the transaction it is in
# (set_config(..., true) is SET LOCAL; the commit reads it, then it ends with the
# transaction).  One statement, so it also serves an autocommitted trace.
def _insert_not_flushed(latency_ms: str = ":latency_ms", rows_from: str = "") -> str:
    """SQL inserting :func:`row`'s fields once per row of ``rows_from`` (once when
    empty), ``latency_ms`` as given, with ``synchronous_commit`` off."""
    columns = ("user_id", "command", "args", "success", "error", "latency_ms", "ts")
    values = ", ".join(latency_ms if c == "latency_ms" else f":{c}" for c in columns)
    return (
        f"INSERT INTO governance_log ({', '.join(columns)}) SELECT {values} "
        f"FROM {rows_from + ', ' if rows_from else ''}"
        "(SELECT set_config('synchronous_commit', 'off', true)) AS not_flushed"
    )


_INSERT_NOT_FLUSHED = text(_insert_not_flushed())


def row(
    *,
    user_id: str,
    command: str,
    args: Sequence[str],
    success: bool,
    error: str | None,
    latency_ms: float,
    ts: datetime,
) -> dict[str, Any]:
    """A call's ``governance_log`` row, as bind parameters."""
    return {
        "user_id": user_id[:USER],
        "command": command[:32],
        "args": json.dumps(list(args), ensure_ascii=False),
        "success": success,
        "error": error[:MAX_ERROR_CHARS] if error is not None else None,
        "latency_ms": round(latency_ms, 3),
        "ts": ts,
    }


def record(conn: Connection, fields: Mapping[str, Any], *, durable: bool = True) -> None:
    """Insert a call's ``governance_log`` row (:func:`row`) in the caller's transaction.

    ``durable=False`` is for a row that records a call which changed nothing (a read, a
    refusal): on PostgreSQL its commit then does not wait for the WAL to reach the disk
    (``synchronous_commit`` off for that transaction alone), which is the durability
    SQLite's ``synchronous = NORMAL`` gives every commit.  A server crash within
    ~3 x ``wal_writer_delay`` of it may lose the row; never a change's."""
    statement = _INSERT if durable or conn.dialect.name != "postgresql" else _INSERT_NOT_FLUSHED
    conn.execute(statement, dict(fields))


#: PostgreSQL: a read's success row inserted by the read's own statement, one round
#: trip instead of two (``WITH found AS (<the read>), <this> SELECT * FROM found``).
#: A row only when the read found its row (else the call fails, audited as failures
#: are); its latency is the client's so far (``:latency_ms``) plus the server's until the
#: insert, as other calls' rows are written before their commit.  Not flushed, as
#: :func:`record` with ``durable=False``.
AUDITED_READ = "audited AS ({})".format(
    _insert_not_flushed(
        "round((:latency_ms + 1000 * extract(epoch FROM clock_timestamp() "
        "- statement_timestamp()))::numeric, 3)",
        rows_from="found",
    )
)


def log_call(
    command: str, label: str, user_id: str, *, ok: bool, error: str | None, fault: bool
) -> None:
    """The seed-format line: ``[GOVERNANCE] /cmd ARG executed (user: U)``.

    A refused call (bad input, unknown id, feature off) is a GOVERNANCE line too; a
    failure of ours (``fault``: the store or a bug) is an ERROR line.
    """
    what = f"{command} {label}".rstrip()
    if ok:
        event("GOVERNANCE", "%s executed (user: %s)", what, user_id)
    elif fault:
        logger.error("governance %s failed (user: %s): %s", what, user_id, error)
    else:
        event("GOVERNANCE", "%s failed (user: %s): %s", what, user_id, error)
