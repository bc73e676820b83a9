"""``/export_memory``: everything stored about one user, as one streamed JSON document.

The document (schema: ``docs/export-schema.json``) is written in pieces while the
database is read in keyset-paged batches inside one read transaction, so it is a
consistent snapshot and memory stays bounded however many episodes the user has:

    {"format": "memwarden-export", "version": 1, "exported_at": ..., "user_id": ...,
     "episodes": [...], "beliefs": [...], "tasks": [...], "risk_log": [...],
     "governance_log": [...], "counts": {...}}

Stored JSON columns (``episodes.trace``, ``risk_log.scores`` ...) are embedded as JSON
when they are valid (checked by SQLite's C ``json_valid``; on PostgreSQL, which has no
such test before version 16, by the generated ``<column>_is_json`` flags of migration
0010, or by its ``memwarden_is_json()`` for a task event's ``detail``; by a strict parse
when rendered in Python) and as a string when they are not, so a malformed row never
breaks the document.

Rendering: by SQLite (:mod:`.export_sqlite`) or PostgreSQL (:mod:`.export_postgres`),
every section; in Python here (``in_python``, or SQLite before 3.45).  The sections
after the episodes are read on a second connection in the same snapshot while the
episodes are written, where the pool has room (:mod:`.export_ahead`; on SQLite, for a
transaction that has not read yet).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from json.encoder import encode_basestring_ascii as _s
from math import isfinite
from typing import IO, Any

from sqlalchemy import Connection, text

from . import export_ahead, export_postgres, export_sqlite
from .records import JSON_FLAGS

__all__ = ["EXPORT_FORMAT", "EXPORT_VERSION", "SECTIONS", "write_export"]

EXPORT_FORMAT = "memwarden-export"
EXPORT_VERSION = 1
SECTIONS = ("episodes", "beliefs", "tasks", "risk_log", "governance_log")
Chunk = tuple[str | bytes, int]  # comma-joined records, and how many
PAGE = 1000  # rows per keyset page
GROUP_PAGE = 200  # beliefs or tasks per page (with their history, sources or events)


def write_export(
    conn: Connection,
    user_id: str,
    out: IO[str],
    *,
    exported_at: datetime,
    page: int = PAGE,
    in_python: bool = False,
    unread: bool = False,
) -> tuple[dict[str, int], int]:
    """Write the user's export document to ``out``: (counts per section, bytes written).

    On a UTF-8 SQLite database and SQLite 3.45+, every section is rendered by SQLite
    (:mod:`.export_sqlite`) when ``out`` takes any character; on PostgreSQL, by the
    server (:mod:`.export_postgres`); ``in_python`` renders everything in Python
    instead.  ``unread``: ``conn``'s transaction has read nothing yet, so that on SQLite
    a second connection can take the same snapshot (:mod:`.export_ahead`)."""
    writer = _Writer(out)
    valid = _json_valid_sql(conn)
    group = max(1, min(page, GROUP_PAGE))
    in_sql = export_sqlite.available(conn) and not in_python and writer.any_text
    in_pg = conn.dialect.name == "postgresql" and not in_python

    def section(
        sqlite_query: str,
        pg_query: str,
        size: int,
        records: Callable[[Connection], Iterator[str]],
    ) -> Callable[[Connection], Iterator[Chunk]]:
        """A section's chunks on a connection: rendered by the database where it can,
        else by ``records`` in Python."""

        def chunks(c: Connection) -> Iterator[Chunk]:
            if in_sql:
                return export_sqlite.pages(c, sqlite_query, user_id, size)
            if in_pg:
                return export_postgres.pages(c, pg_query, user_id, size)
            return _joined(records(c))

        return chunks

    sections = (
        (
            "episodes",
            section(
                export_sqlite.EPISODES,
                export_postgres.EPISODES,
                page,
                lambda c: _episodes(c, user_id, valid, page),
            ),
        ),
        (
            "beliefs",
            section(
                export_sqlite.BELIEFS,
                export_postgres.BELIEFS,
                group,
                lambda c: _beliefs(c, user_id, group),
            ),
        ),
        (
            "tasks",
            section(
                export_sqlite.TASKS,
                export_postgres.TASKS,
                group,
                lambda c: _tasks(c, user_id, valid, group),
            ),
        ),
        (
            "risk_log",
            section(
                export_sqlite.RISK_LOG,
                export_postgres.RISK_LOG,
                page,
                lambda c: _risk_log(c, user_id, valid, page),
            ),
        ),
        (
            "governance_log",
            section(
                export_sqlite.GOVERNANCE_LOG,
                export_postgres.GOVERNANCE_LOG,
                page,
                lambda c: _governance_log(c, user_id, valid, page),
            ),
        ),
    )
    (first, render_first), later = sections[0], sections[1:]
    # The later sections on a second connection while the first is written.
    ahead = (
        export_ahead.start(conn, [render for _, render in later], unread=unread)
        if in_pg or in_sql
        else None
    )
    try:
        writer.write(
            f'{{"format":{_s(EXPORT_FORMAT)},"version":{EXPORT_VERSION},'
            f'"exported_at":{_ts(exported_at)},"user_id":{_s(user_id)}'
        )
        counts = {first: writer.array(first, render_first(conn))}
        served = ahead is not None and ahead.ready()
        for i, (name, render) in enumerate(later):
            chunks = ahead.chunks(i) if served and ahead is not None else render(conn)
            counts[name] = writer.array(name, chunks)
    finally:
        if ahead is not None:
            ahead.close()
    writer.write(',"counts":' + json.dumps(counts, separators=(",", ":")) + "}\n")
    writer.close()
    return counts, writer.bytes


class _Writer:
    """Counts what it writes; each page of records is one ``write`` call.

    Over a UTF-8 text file (``open(..., "w")``, the CLI's ``-o``), bytes go straight to
    its binary buffer: SQLite's rendered pages arrive as UTF-8 bytes, and decoding them
    into text only to encode them again cost 0.9 ms per 1,000 episodes."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.bytes = 0
        buffer = getattr(out, "buffer", None)
        encoding = getattr(out, "encoding", None)
        utf8 = encoding is not None and encoding.lower().replace("-", "").replace("_", "") == "utf8"
        self.raw: IO[bytes] | None = buffer if buffer is not None and utf8 else None
        # Whether any character can be written: a UTF-8 file, or a stream with no
        # encoding of its own (StringIO, the server's chunk writer).  Else (stdout in an
        # ASCII locale) the document is written as ASCII, every other character escaped
        # (in JSON they stand only inside strings, where \uXXXX means the same).
        self.any_text = utf8 or encoding is None
        if self.raw is not None:
            out.flush()  # what was written as text goes first

    def write(self, chunk: str | bytes) -> None:
        if self.raw is not None:
            data = chunk if isinstance(chunk, bytes) else chunk.encode("utf-8")
            self.raw.write(data)
            self.bytes += len(data)
            return
        text_ = chunk if isinstance(chunk, str) else chunk.decode("utf-8")
        if not self.any_text and not text_.isascii():
            text_ = _NON_ASCII.sub(_escape, text_)  # stored JSON (args, meta) may hold any
        self.out.write(text_)
        self.bytes += len(text_) if text_.isascii() else len(text_.encode("utf-8"))

    def close(self) -> None:
        if self.raw is not None:
            self.raw.flush()

    def array(self, name: str, chunks: Iterator[tuple[str | bytes, int]]) -> int:
        """Write ``"name":[...]`` from comma-joined chunks of records; the record count."""
        self.write(f",{_s(name)}:[")
        count = 0
        # Closed here even when a write fails half-way (a client gone): a section may
        # hold a driver cursor, which must close while its connection is still open.
        try:
            for chunk, n in chunks:
                if n:
                    if count:
                        self.write(",")  # not glued to the chunk: that would copy ~1 MB
                    self.write(chunk)
                    count += n
        finally:
            close = getattr(chunks, "close", None)  # a generator's
            if close is not None:
                close()
        self.write("]")
        return count


# -- sections --------------------------------------------------------------------------


def _episodes(
    conn: Connection, user_id: str, valid: Callable[[str, str], str], page: int
) -> Iterator[str]:
    query = text(
        "SELECT id, ts, occurred_at, user_input, draft, reply, action, draft_total_score, "
        f"final_score, meta, {valid('episodes', 'meta')}, "
        f"trace, {valid('episodes', 'trace')} FROM episodes "
        "WHERE user_id = :u AND id > :last ORDER BY id LIMIT :n"
    )
    for r in _keyset(conn, query, user_id, page):
        yield (
            f'{{"id":{r[0]},"ts":{_ts(r[1])},"occurred_at":{_ts(r[2])},'
            f'"user_input":{_s(r[3])},"draft":{_s(r[4])},"reply":{_s(r[5])},'
            f'"action":{_s(r[6])},"draft_total_score":{_num(r[7])},"final_score":{_num(r[8])},'
            f'"meta":{_embed(r[9], r[10])},"trace":{_embed(r[11], r[12])}}}'
        )


def _beliefs(conn: Connection, user_id: str, page: int) -> Iterator[str]:
    query = text(
        "SELECT id, key, value, statement, confidence, version, created_at, updated_at "
        "FROM semantic_beliefs WHERE user_id = :u AND id > :last ORDER BY id LIMIT :n"
    )
    for batch in _pages(conn, query, user_id, page):
        history = _grouped(conn, _HISTORY, user_id, batch)
        sources = _grouped(conn, _SOURCES, user_id, batch)
        for r in batch:
            entries = ",".join(
                f'{{"id":{h[1]},"ts":{_ts(h[2])},"change":{_s(h[3])},'
                f'"old_value":{_str(h[4])},"new_value":{_s(h[5])},'
                f'"confidence":{_num(h[6])},"episode_id":{_int(h[7])}}}'
                for h in history.get(r[0], ())
            )
            source_ids = ",".join(str(s[1]) for s in sources.get(r[0], ()))
            yield (
                f'{{"id":{r[0]},"key":{_s(r[1])},"value":{_s(r[2])},"statement":{_s(r[3])},'
                f'"confidence":{_num(r[4])},"version":{r[5]},"created_at":{_ts(r[6])},'
                f'"updated_at":{_ts(r[7])},"sources":[{source_ids}],"history":[{entries}]}}'
            )


def _tasks(
    conn: Connection, user_id: str, valid: Callable[[str, str], str], page: int
) -> Iterator[str]:
    query = text(
        "SELECT id, title, status, created_at, updated_at, source_episode_id FROM tasks "
        "WHERE user_id = :u AND id > :last ORDER BY id LIMIT :n"
    )
    events_query = text(
        f"SELECT task_id, id, ts, event, episode_id, detail, {valid('task_events', 'detail')} "
        f"FROM task_events WHERE user_id = :u AND task_id IN ({_PAGE_OF_TASKS}) "
        "ORDER BY task_id, id"
    )
    for batch in _pages(conn, query, user_id, page):
        events = _grouped(conn, events_query, user_id, batch)
        for r in batch:
            entries = ",".join(
                f'{{"id":{e[1]},"ts":{_ts(e[2])},"event":{_s(e[3])},'
                f'"episode_id":{_int(e[4])},"detail":{_embed(e[5], e[6])}}}'
                for e in events.get(r[0], ())
            )
            yield (
                f'{{"id":{r[0]},"title":{_s(r[1])},"status":{_s(r[2])},'
                f'"created_at":{_ts(r[3])},"updated_at":{_ts(r[4])},'
                f'"source_episode_id":{_int(r[5])},"events":[{entries}]}}'
            )


def _risk_log(
    conn: Connection, user_id: str, valid: Callable[[str, str], str], page: int
) -> Iterator[str]:
    query = text(
        "SELECT id, episode_id, ts, draft_total_score, final_score, action, "
        f"scores, {valid('risk_log', 'scores')}, "
        f"details, {valid('risk_log', 'details')} FROM risk_log "
        "WHERE user_id = :u AND id > :last ORDER BY id LIMIT :n"
    )
    for r in _keyset(conn, query, user_id, page):
        yield (
            f'{{"id":{r[0]},"episode_id":{r[1]},"ts":{_ts(r[2])},'
            f'"draft_total_score":{_num(r[3])},"final_score":{_num(r[4])},"action":{_s(r[5])},'
            f'"scores":{_embed(r[6], r[7])},"details":{_embed(r[8], r[9])}}}'
        )


def _governance_log(
    conn: Connection, user_id: str, valid: Callable[[str, str], str], page: int
) -> Iterator[str]:
    query = text(
        f"SELECT id, ts, command, args, {valid('governance_log', 'args')}, success, error, "
        "latency_ms FROM governance_log WHERE user_id = :u AND id > :last ORDER BY id LIMIT :n"
    )
    for r in _keyset(conn, query, user_id, page):
        yield (
            f'{{"id":{r[0]},"ts":{_ts(r[1])},"command":{_s(r[2])},"args":{_embed(r[3], r[4])},'
            f'"success":{"true" if r[5] else "false"},"error":{_str(r[6])},'
            f'"latency_ms":{_num(r[7])}}}'
        )


_NON_ASCII = re.compile(r"[^\x00-\x7f]")


def _escape(match: re.Match[str]) -> str:
    """A character as JSON's \\uXXXX (a surrogate pair above U+FFFF)."""
    code = ord(match.group())
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


# -- paging -----------------------------------------------------------------------------


def _joined(records: Iterator[str], size: int = 256) -> Iterator[tuple[str, int]]:
    """Records in comma-joined chunks of up to ``size`` (one ``write`` per chunk)."""
    pending: list[str] = []
    for record in records:
        pending.append(record)
        if len(pending) >= size:
            yield ",".join(pending), len(pending)
            pending = []
    if pending:
        yield ",".join(pending), len(pending)


def _pages(conn: Connection, query: Any, user_id: str, page: int) -> Iterator[Sequence[Any]]:
    """Batches of rows whose first column is the id, by ``id > :last`` (keyset paging)."""
    last = -1
    while True:
        rows = conn.execute(query, {"u": user_id, "last": last, "n": page}).all()
        if not rows:
            return
        yield rows
        if len(rows) < page:
            return
        last = int(rows[-1][0])


def _keyset(conn: Connection, query: Any, user_id: str, page: int) -> Iterator[Sequence[Any]]:
    for rows in _pages(conn, query, user_id, page):
        yield from rows


def _grouped(
    conn: Connection, query: Any, user_id: str, batch: Sequence[Any]
) -> dict[int, list[Sequence[Any]]]:
    """Rows of a child table for a page of parents, grouped by the first column.

    A keyset page holds every parent of the user with an id in ``(previous page's last,
    this page's last]``, so ``query`` names the parents by that range of the user's own
    rows (one statement, prepared once) rather than by a list of ids."""
    grouped: dict[int, list[Sequence[Any]]] = {}
    if not batch:
        return grouped
    bounds = {"u": user_id, "lo": int(batch[0][0]) - 1, "hi": int(batch[-1][0])}
    for row in conn.execute(query, bounds):
        grouped.setdefault(int(row[0]), []).append(row)
    return grouped


# Belief and task ids are not in per-user blocks: the page's range of ids spans other
# users' rows too, so it selects the user's parents first and their children by index.
_PAGE_OF_BELIEFS = "SELECT id FROM semantic_beliefs WHERE user_id = :u AND id > :lo AND id <= :hi"
_PAGE_OF_TASKS = "SELECT id FROM tasks WHERE user_id = :u AND id > :lo AND id <= :hi"
_HISTORY = text(
    "SELECT belief_id, id, ts, change, old_value, new_value, confidence, episode_id "
    f"FROM belief_history WHERE user_id = :u AND belief_id IN ({_PAGE_OF_BELIEFS}) "
    "ORDER BY belief_id, id"
)
_SOURCES = text(
    "SELECT belief_id, episode_id FROM belief_sources "
    f"WHERE user_id = :u AND belief_id IN ({_PAGE_OF_BELIEFS}) ORDER BY belief_id, episode_id"
)


# -- values -----------------------------------------------------------------------------


def _json_valid_sql(conn: Connection) -> Callable[[str, str], str]:
    """SQL that tells whether ``table.column`` holds valid JSON (NULL: check in Python).

    On PostgreSQL, the generated flag where the column has one (migration 0010).
    ``json_valid(X)`` rejects JSON5 as the flag ``1`` (strict RFC 8259) does, and is
    ~40 % faster than spelling the flag out (SQLite 3.51; 3.42-3.44 accept JSON5 there;
    ``tests/test_governance_export.py`` holds a JSON5 row)."""
    if conn.dialect.name == "postgresql":
        return lambda table, column: (
            f"{column}_is_json" if f"{column}_is_json" in JSON_FLAGS.get(table, ()) else "NULL"
        )
    if conn.dialect.name != "sqlite":
        return lambda table, column: "NULL"
    return lambda table, column: f"json_valid({column})"


def _embed(raw: Any, valid: Any) -> str:
    """A stored JSON column: verbatim when valid, else as a string (``null`` for NULL)."""
    if raw is None:
        return "null"
    raw = str(raw)
    if valid is None:
        try:
            json.loads(raw, parse_constant=_not_json)
            valid = True
        except (ValueError, RecursionError):  # nested past the decoder's depth too, as in SQL
            valid = False
    return raw if valid else _s(raw)


def _not_json(constant: str) -> Any:
    """``NaN`` and ``Infinity`` parse in Python but are not JSON (RFC 8259)."""
    raise ValueError(f"{constant} is not JSON")


def _ts(value: Any) -> str:
    """A timestamp as an ISO-8601 string (UTC, no offset, always to the microsecond, as
    SQLite stores it and every renderer writes it), or ``null``."""
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return _s(value.isoformat(timespec="microseconds"))
    return _s(str(value).replace(" ", "T", 1))


def _num(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    number = float(value)
    return repr(number) if isfinite(number) else "null"


def _int(value: Any) -> str:
    return "null" if value is None else str(int(value))


def _str(value: Any) -> str:
    return "null" if value is None else _s(str(value))
