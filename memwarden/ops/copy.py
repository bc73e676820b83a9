"""`memwarden db copy`: move a deployment from its SQLite file to PostgreSQL, verified.

The copy goes table by table in foreign-key order, in batches of ``batch_size`` rows
read in primary-key order; each batch is inserted in its own transaction with its ids
kept, skipping rows the target already has (``ON CONFLICT DO NOTHING``).  A copy that
stops half-way (Ctrl-C, a lost connection) is resumed by running it again: for each
table it starts after the highest primary key the target holds, and a second run over
a complete copy inserts 0 rows.  Afterwards every PostgreSQL sequence is set past the
largest id the source ever handed out, so new rows never reuse an id.

What is not copied: derived full-text data (SQLite's FTS5 tables and their triggers;
PostgreSQL computes its ``tsvector`` columns itself), the generated
``governance_log.timestamp`` column, and ``alembic_version`` (the target is migrated to
the same head instead).  Sentence vectors (``memory_vectors``) are copied as they are.

Verification reads both sides again: per table the row count, and a SHA-256 over a
canonical serialization of every row in primary-key order; a table that differs is
named.  The source is read in one transaction, so a copy taken while writers run is a
consistent snapshot, but stop the writers before copying: SQLite hands out ids in
per-user blocks, so rows written between two runs may sit below what the first run
copied, and a resumed run does not look there (verification then names the table).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Integer, Table, func, select, text, tuple_
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ..errors import ConfigError, InputError, SchemaError
from ..settings import Settings, check_database_url
from ..store import Store
from ..store.migrate import head_revision
from ..store.schema import episode_id_marks, metadata

__all__ = ["BATCH_SIZE", "CopyReport", "Progress", "TableCopy", "copied_tables", "copy_database"]

BATCH_SIZE = 1000
# (phase, table, rows done, rows in the table); phase is "copy" or "verify".
Progress = Callable[[str, str, int, int], None]


@dataclass(frozen=True)
class TableCopy:
    """One table: rows on each side, rows this run inserted, and the checksums."""

    name: str
    source_rows: int
    target_rows: int
    copied: int
    source_sha256: str
    target_sha256: str

    @property
    def ok(self) -> bool:
        return self.source_rows == self.target_rows and self.source_sha256 == self.target_sha256

    def difference(self) -> str | None:
        """What differs, in words (None when the table matches)."""
        if self.source_rows != self.target_rows:
            return f"{self.name}: {self.source_rows} rows in the source, {self.target_rows} in the target"
        if self.source_sha256 != self.target_sha256:
            return f"{self.name}: same row count ({self.source_rows}), different contents"
        return None


@dataclass
class CopyReport:
    """What a copy did and found; :attr:`ok` when every table matches."""

    source: str
    target: str  # without its password
    revision: str
    source_bytes: int
    tables: list[TableCopy] = field(default_factory=list)
    copy_seconds: float = 0.0
    verify_seconds: float = 0.0

    @property
    def copied(self) -> int:
        return sum(t.copied for t in self.tables)

    @property
    def rows(self) -> int:
        return sum(t.source_rows for t in self.tables)

    @property
    def ok(self) -> bool:
        return all(t.ok for t in self.tables)

    def differences(self) -> list[str]:
        return [d for t in self.tables if (d := t.difference()) is not None]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "source": self.source,
            "target": self.target,
            "revision": self.revision,
            "source_bytes": self.source_bytes,
            "rows": self.rows,
            "copied": self.copied,
            "copy_seconds": round(self.copy_seconds, 3),
            "verify_seconds": round(self.verify_seconds, 3),
            "differences": self.differences(),
            "tables": [
                {
                    "name": t.name,
                    "source_rows": t.source_rows,
                    "target_rows": t.target_rows,
                    "copied": t.copied,
                    "sha256": t.source_sha256,
                    "ok": t.ok,
                }
                for t in self.tables
            ],
        }


def copied_tables() -> list[Table]:
    """Every table of the schema, parents before children (foreign-key order)."""
    return list(metadata.sorted_tables)


def copy_database(
    source: Path | str,
    target_url: str,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> CopyReport:
    """Copy the SQLite database at ``source`` into the PostgreSQL at ``target_url``,
    then verify every table.  A blank target is migrated first; a target at another
    migration is refused (:class:`SchemaError`)."""
    if batch_size < 1:
        raise InputError("the batch size is at least 1")
    path = Path(source).expanduser()
    if not path.is_file():
        raise InputError(f"no SQLite database at {path}")
    target_settings = Settings(db=_postgres_url(target_url))
    head = head_revision()
    source_store = Store.open(Settings(db=str(path)), migrate=False)
    try:
        revision = source_store.revision()
        if revision != head:
            raise SchemaError(
                f"the source is at migration {revision or 'none'}, this code at {head}: "
                f"run `memwarden --db {path} db upgrade` first"
            )
        target_store = Store.open(target_settings, migrate=False)
        try:
            _prepare_target(target_store, head)
            with source_store.read() as src, target_store.read() as dst:
                foreign = _foreign_row(src, dst)
            if foreign is not None:
                raise InputError(
                    f"the target holds rows this source does not ({foreign}): another "
                    "deployment's, or the source changed since an earlier run; copy into a "
                    "blank database"
                )
            report = CopyReport(
                str(path),
                target_store.engine.url.render_as_string(hide_password=True),
                head,
                path.stat().st_size,
            )
            _run(source_store, target_store, report, batch_size, progress)
        finally:
            target_store.close()
    finally:
        source_store.close()
    return report


def _postgres_url(raw: str) -> str:
    try:
        url = make_url(raw.strip())
    except ArgumentError as e:
        raise ConfigError(f"not a database URL: {raw!r} (want postgresql+psycopg://...)") from e
    if url.get_backend_name() != "postgresql":
        raise ConfigError(
            f"the target must be PostgreSQL (postgresql+psycopg://...), not {url.get_backend_name()}"
        )
    try:
        check_database_url(raw)
    except ValueError as e:
        raise ConfigError(f"invalid target: {e}") from None
    return url.render_as_string(hide_password=False)


def _prepare_target(target: Store, head: str) -> None:
    current = target.revision()  # also the first contact: StoreUnavailable if unreachable
    if current is None:
        target.upgrade()
    elif current != head:
        raise SchemaError(
            f"the target is at migration {current}, the source and this code at {head}: "
            "refusing to copy (upgrade the target, or copy into a blank database)"
        )


def _foreign_row(src: Connection, dst: Connection) -> str | None:
    """A row of the target that the source does not hold as it is, checked before
    anything is written: a resumed copy holds a prefix of the source, another
    deployment's data does not.

    Per table, the target's first and last rows by key (integer keys) or every row
    (the small text-keyed tables) are looked up in the source.  A sample, not a proof:
    the verification after the copy compares every row."""
    for table in copied_tables():
        columns = _columns(table)
        key = list(table.primary_key.columns)
        if _ordered_key(table):
            ends = [
                dst.execute(select(*columns).order_by(*order).limit(1)).first()
                for order in (key, [c.desc() for c in key])
            ]
            rows = [r for r in ends if r is not None]
        else:
            rows = list(dst.execute(select(*columns)).all())
        for row in rows:
            values = row._mapping
            match = src.execute(select(*columns).where(*(c == values[c.name] for c in key))).first()
            if match is None or _canonical(match) != _canonical(row):
                shown = ", ".join(f"{c.name} {values[c.name]}" for c in key)
                return f"{table.name} {shown}"
    return None


def _run(
    source: Store,
    target: Store,
    report: CopyReport,
    batch_size: int,
    progress: Progress | None,
) -> None:
    tables = copied_tables()
    started = time.perf_counter()
    copied: dict[str, int] = {}
    # One read transaction: every table comes from the same snapshot of the source.
    with source.read() as src:
        for table in tables:
            copied[table.name] = _copy_table(src, target, table, batch_size, progress)
        last_ids = _last_ids(src)
    _reset_sequences(target, tables, last_ids)
    target.optimize()  # planner statistics for the copied rows (see PostgresSearch.optimize)
    report.copy_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with source.read() as src, target.read() as dst:
        for table in tables:
            rows, digest = _checksum(src, table, batch_size, progress)
            target_rows, target_digest = _checksum(dst, table, batch_size, None)
            report.tables.append(
                TableCopy(table.name, rows, target_rows, copied[table.name], digest, target_digest)
            )
    report.verify_seconds = time.perf_counter() - started


# -- copying ------------------------------------------------------------------------------


def _columns(table: Table) -> list[Column[Any]]:
    """The columns a row is made of (not generated ones: the target computes those)."""
    return [c for c in table.columns if c.computed is None]


def _ordered_key(table: Table) -> bool:
    """Whether both engines sort the primary key alike: integers, and text columns the
    schema marks ``sorts_alike`` (their values are lower-case ASCII words)."""
    return all(
        isinstance(c.type, Integer) or c.info.get("sorts_alike") for c in table.primary_key.columns
    )


def _copy_table(
    src: Connection, target: Store, table: Table, batch_size: int, progress: Progress | None
) -> int:
    key = list(table.primary_key.columns)
    total = int(src.execute(select(func.count()).select_from(table)).scalar_one())
    # Integer keys sort alike on both engines: resume after the target's highest key
    # (batches commit in key order, so everything below it is there).  Other keys
    # (text: collations differ) are read from the start; the conflict clause skips.
    # (Rows the source gained below that key since the last run are not seen: SQLite
    # hands out ids in per-user blocks, store/blocks.py.  Stop the writers first.)
    after: tuple[Any, ...] | None = None
    if _ordered_key(table):
        with target.read() as dst:
            found = dst.execute(select(*key).order_by(*(c.desc() for c in key)).limit(1)).first()
        after = tuple(found) if found is not None else None
    done = 0
    if after is not None:  # rows up to ``after`` are in the target already
        remaining = select(func.count()).select_from(table).where(_after(key, after))
        done = total - int(src.execute(remaining).scalar_one())
    columns = _columns(table)
    # One prepared INSERT sent row after row in psycopg's pipeline mode: several times
    # faster than a multi-row VALUES statement, which the driver must parse each batch.
    # The names are the schema's own, never input.
    insert = (
        f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) ON CONFLICT DO NOTHING"
    )
    inserted = 0
    if progress is not None:
        progress("copy", table.name, done, total)
    for batch in _batches(src, table, columns, key, after, batch_size):
        with target.write() as dst:
            result = dst.exec_driver_sql(insert, [tuple(r) for r in batch])
            inserted += max(0, int(result.rowcount))  # the rows not skipped as present
        done += len(batch)
        if progress is not None:
            progress("copy", table.name, min(done, total), total)
    return inserted


def _after(key: Sequence[Column[Any]], after: tuple[Any, ...]) -> Any:
    """Rows whose key sorts after ``after``."""
    if len(key) == 1:
        return key[0] > after[0]
    return tuple_(*key) > tuple_(*after)


def _batches(
    src: Connection,
    table: Table,
    columns: Sequence[Column[Any]],
    key: Sequence[Column[Any]],
    after: tuple[Any, ...] | None,
    batch_size: int,
) -> Iterator[Sequence[Any]]:
    """The source's rows after ``after`` in key order, ``batch_size`` at a time."""
    names = [c.name for c in key]
    while True:
        query = select(*columns).order_by(*key).limit(batch_size)
        if after is not None:
            query = query.where(_after(key, after))
        rows = src.execute(query).all()
        if not rows:
            return
        yield rows
        if len(rows) < batch_size:
            return
        last = rows[-1]._mapping
        after = tuple(last[n] for n in names)


def _last_ids(src: Connection) -> dict[str, int]:
    """The largest id each table ever handed out, where more than its rows show: the
    AUTOINCREMENT tables' ``sqlite_sequence``, and the deleted episode ids of
    ``episode_id_marks`` (a user is never given one of those again)."""
    last: dict[str, int] = {}
    exists = src.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
    ).first()
    if exists is not None:
        last = {
            str(n): int(s) for n, s in src.execute(text("SELECT name, seq FROM sqlite_sequence"))
        }
    deleted = src.execute(select(func.max(episode_id_marks.c.last_id))).scalar()
    if deleted is not None:
        last["episodes"] = max(last.get("episodes", 0), int(deleted))
    return last


def _reset_sequences(target: Store, tables: Sequence[Table], last_ids: dict[str, int]) -> None:
    """Set each serial column's sequence past the largest id used on either side."""
    with target.write() as dst:
        for table in tables:
            key = list(table.primary_key.columns)
            if len(key) != 1 or not isinstance(key[0].type, Integer):
                continue
            sequence = dst.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": table.name, "c": key[0].name},
            ).scalar()
            if sequence is None:
                continue
            largest = int(dst.execute(select(func.coalesce(func.max(key[0]), 0))).scalar_one())
            last = max(largest, last_ids.get(table.name, 0))
            dst.execute(
                text("SELECT setval(:s, :v, :called)"),
                {"s": sequence, "v": max(last, 1), "called": last > 0},
            )


# -- verifying ----------------------------------------------------------------------------


def _checksum(
    conn: Connection, table: Table, batch_size: int, progress: Progress | None
) -> tuple[int, str]:
    """(rows, SHA-256 of their canonical serialization in primary-key order)."""
    digest = hashlib.sha256()
    columns = _columns(table)
    key = list(table.primary_key.columns)
    count = 0
    total = 0
    if progress is not None:
        total = int(conn.execute(select(func.count()).select_from(table)).scalar_one())
        progress("verify", table.name, 0, total)
    if _ordered_key(table):
        batches: Iterator[Sequence[Any]] = _batches(conn, table, columns, key, None, batch_size)
    else:  # text keys sort differently per engine and collation: sort here (small tables)
        positions = [columns.index(c) for c in key]
        rows = sorted(conn.execute(select(*columns)).all(), key=lambda r: [r[i] for i in positions])
        batches = iter([rows] if rows else [])
    for batch in batches:
        for row in batch:
            digest.update(_canonical(row))
        count += len(batch)
        if progress is not None:
            progress("verify", table.name, count, total)
    return count, digest.hexdigest()


def _canonical(row: Sequence[Any]) -> bytes:
    """One row as bytes that are the same whichever engine it was read from: each value
    tagged with its type and, for text and bytes, its length (so no value can run into
    the next)."""
    parts: list[bytes] = []
    for value in row:
        if value is None:
            parts.append(b"N")
        elif isinstance(value, bool):  # before int: a bool is an int
            parts.append(b"T" if value else b"F")
        elif isinstance(value, int):
            parts.append(b"i%d" % value)
        elif isinstance(value, float):
            parts.append(b"f" + value.hex().encode())  # exact: every bit of the double
        elif isinstance(value, str):
            data = value.encode("utf-8")
            parts.append(b"s%d:" % len(data) + data)
        elif isinstance(value, datetime):
            parts.append(b"d" + value.isoformat().encode())
        elif isinstance(value, bytes | bytearray | memoryview):
            data = bytes(value)
            parts.append(b"b%d:" % len(data) + data)
        else:
            raise TypeError(f"cannot compare a {type(value).__name__} column")
    return b"|".join(parts) + b"\n"
