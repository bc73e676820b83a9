"""`memwarden check`: every integrity violation with its rows, and safe repairs.

Checks: migrations at head; orphaned rows (see :mod:`.orphans`); beliefs without a
source; on SQLite also the FTS5 indexes against their tables (row ids both ways, and
FTS5's ``integrity-check``, with ``rank = 1`` where an external-content index can be
compared with its table), ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check``.

``--fix`` repairs, in one transaction: orphans (deleted or cleared the way their foreign
key would have), and out-of-sync FTS5 indexes (``rebuild``).  It does not touch beliefs
without a source (user data), corruption reported by ``integrity_check`` (restore a
backup) or migrations (take a backup, then ``memwarden db upgrade``).  After a repair
everything is checked again and what is left is reported.

The full-text indexes are contentless (see migrations and ``store/textindex.py``): FTS5
cannot compare them with their rows, so the row ids are compared both ways, and the
repair refills them the way the insert triggers do.

Note: FTS5's integrity-check is written as an INSERT, so it holds SQLite's write lock
while it reads an index (about 1 s for a million episodes, docs/benchmarks.md); on a
large, busy database run ``check`` on a fresh backup instead (``memwarden --db SNAPSHOT
check``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, inspect, text

from ..errors import StoreError
from ..store import Store
from ..store.migrate import head_revision
from ..store.revisions import newer_than_code
from .figures import fast_reads
from .orphans import BELIEFS_WITHOUT_SOURCE, ORPHANS, RowCheck

__all__ = ["FTS_INDEXES", "CheckReport", "Violation", "rebuild_fts", "run_check"]

ROWS_SHOWN = 20
#: (content table, FTS5 table) pairs kept in sync by triggers (SQLite only).
FTS_INDEXES = (("episodes", "episodes_fts"), ("semantic_beliefs", "semantic_beliefs_fts"))


@dataclass
class Violation:
    """One kind of problem, how many rows have it, and the first of them."""

    check: str
    description: str
    count: int
    rows: list[dict[str, Any]]
    repair: str
    fixable: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "description": self.description,
            "count": self.count,
            "rows": self.rows,
            "repair": self.repair,
            "fixable": self.fixable,
        }


@dataclass
class CheckReport:
    """What ``check`` found, what ``--fix`` did, and what is still wrong."""

    dialect: str
    revision: str | None
    head: str
    violations: list[Violation]
    checks_run: list[str]
    fixed: list[str] = field(default_factory=list)
    remaining: list[Violation] | None = None  # after --fix

    @property
    def outstanding(self) -> list[Violation]:
        return self.violations if self.remaining is None else self.remaining

    @property
    def ok(self) -> bool:
        return not self.outstanding

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dialect": self.dialect,
            "revision": self.revision,
            "head": self.head,
            "checks_run": self.checks_run,
            "violations": [v.to_dict() for v in self.violations],
            "fixed": self.fixed,
            "remaining": None if self.remaining is None else [v.to_dict() for v in self.remaining],
        }


def run_check(store: Store, *, fix: bool = False) -> CheckReport:
    """Check the database; with ``fix`` repair what is safe and check again."""
    report = _detect(store)
    if fix and any(v.fixable for v in report.violations):
        with store.write() as conn:
            report.fixed = _repair(conn, store.dialect, report.violations)
        report.remaining = _detect(store).violations
    elif fix:
        report.remaining = report.violations
    return report


def _detect(store: Store) -> CheckReport:
    revision, head = store.revision(), head_revision()
    report = CheckReport(store.dialect, revision, head, [], ["migrations"])
    if revision != head:
        report.violations.append(
            Violation(
                "migrations",
                f"database is at migration {revision or 'none'}, the code expects {head}",
                1,
                [{"current": revision, "head": head}],
                "upgrade memwarden: a newer version wrote this database"
                if newer_than_code(revision) is not None
                else "take a backup, then `memwarden db upgrade`",
                False,
            )
        )
        if revision is None:
            return report  # a blank database has no tables to check
    with store.read() as conn:
        fast_reads(conn)
        present = set(inspect(conn).get_table_names())
        kinds: tuple[RowCheck, ...] = (*ORPHANS, BELIEFS_WITHOUT_SOURCE)
        for kind in kinds:
            if not kind.tables <= present:  # behind head: a later migration adds it
                continue
            report.checks_run.append(kind.name)
            count = kind.count(conn)
            if count:
                report.violations.append(
                    Violation(
                        kind.name,
                        kind.description,
                        count,
                        kind.rows(conn, ROWS_SHOWN),
                        kind.repair,
                        kind.fixable,
                    )
                )
        if store.dialect == "sqlite":
            report.checks_run += ["integrity_check", "foreign_key_check", "fts_rows"]
            report.violations += _sqlite_pragmas(conn)
            report.violations += _fts_counts(conn)
    if store.dialect == "sqlite":
        report.checks_run.append("fts_integrity")
        report.violations += _fts_integrity(store, report.violations)
    return report


def _sqlite_pragmas(conn: Connection) -> list[Violation]:
    found = []
    messages = [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check")]
    if messages != ["ok"]:
        found.append(
            Violation(
                "integrity_check",
                "PRAGMA integrity_check reports corruption",
                len(messages),
                [{"message": m} for m in messages[:ROWS_SHOWN]],
                "none automatic: restore the last good backup (memwarden restore)",
                False,
            )
        )
    fk_rows = [
        {"table": r[0], "rowid": r[1], "parent": r[2], "fkid": r[3]}
        for r in conn.exec_driver_sql("PRAGMA foreign_key_check")
    ]
    if fk_rows:
        found.append(
            Violation(
                "foreign_key_check",
                "PRAGMA foreign_key_check: rows whose foreign key points nowhere",
                len(fk_rows),
                fk_rows[:ROWS_SHOWN],
                "repaired with the orphan checks above",
                False,
            )
        )
    return found


def _fts_kind(conn: Connection, fts: str) -> str:
    """``contentless``, ``external`` or ``internal``, from the FTS5 table's definition."""
    sql = str(
        conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (fts,)
        ).scalar()
        or ""
    )
    if re.search(r"content\s*=\s*''", sql):
        return "contentless"
    return "external" if re.search(r"content\s*=", sql) else "internal"


def _fts_counts(conn: Connection) -> list[Violation]:
    """Rows of each table without an index entry, and index entries without a row.

    The index's own row ids are in its ``_docsize`` shadow table (an external-content
    FTS5 table would answer ``count(*)`` from the content table instead).
    """
    found = []
    for table, fts in FTS_INDEXES:
        missing_sql = f"FROM {table} t LEFT JOIN {fts}_docsize d ON d.id = t.id WHERE d.id IS NULL"
        stale_sql = f"FROM {fts}_docsize d LEFT JOIN {table} t ON t.id = d.id WHERE t.id IS NULL"
        missing = int(conn.exec_driver_sql(f"SELECT count(*) {missing_sql}").scalar() or 0)
        stale = int(conn.exec_driver_sql(f"SELECT count(*) {stale_sql}").scalar() or 0)
        if not (missing or stale):
            continue
        rows = [
            {"id": int(r[0]), "problem": f"{table} row not indexed"}
            for r in conn.exec_driver_sql(
                f"SELECT t.id {missing_sql} ORDER BY t.id LIMIT {ROWS_SHOWN}"
            )
        ] + [
            {"id": int(r[0]), "problem": f"index entry without a {table} row"}
            for r in conn.exec_driver_sql(
                f"SELECT d.id {stale_sql} ORDER BY d.id LIMIT {ROWS_SHOWN}"
            )
        ]
        found.append(
            Violation(
                f"fts_rows:{fts}",
                f"{fts} out of sync with {table}: {missing} rows not indexed, {stale} stale entries",
                missing + stale,
                rows[:ROWS_SHOWN],
                f"rebuild {fts} from {table}",
                True,
            )
        )
    return found


def _fts_integrity(store: Store, already: list[Violation]) -> list[Violation]:
    """FTS5's own integrity-check; with ``rank = 1`` an external-content index is also
    compared with its table (a contentless one has no content to compare with)."""
    found = []
    for table, fts in FTS_INDEXES:
        if any(v.check == f"fts_rows:{fts}" for v in already):
            continue  # already out of sync by rows; the repair is the same
        try:
            with store.write() as conn:
                rank = ", 1" if _fts_kind(conn, fts) == "external" else ""
                conn.execute(
                    text(
                        f"INSERT INTO {fts}({fts}{', rank' if rank else ''}) VALUES ('integrity-check'{rank})"
                    )
                )
        except StoreError as e:
            found.append(
                Violation(
                    f"fts_integrity:{fts}",
                    f"{fts} fails FTS5 integrity-check: {e}",
                    1,
                    [{"table": table, "index": fts, "error": str(e)}],
                    f"rebuild {fts} from {table}",
                    True,
                )
            )
    return found


_TRIGGER_INSERT = re.compile(
    r"INSERT INTO\s+(\w+)\s*\(([^)]*)\)\s*VALUES\s*\((.*)\)\s*;\s*END", re.I | re.S
)


def rebuild_fts(conn: Connection, table: str, fts: str) -> None:
    """Rebuild ``fts`` from ``table`` in the caller's transaction.

    A contentless index cannot ``rebuild`` itself: it is emptied and refilled with what
    the table's insert trigger would have written for each row (read from the live
    schema, so it follows the migrations).
    """
    if _fts_kind(conn, fts) != "contentless":
        conn.execute(text(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')"))
        return
    trigger = str(
        conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (f"{table}_ai",)
        ).scalar()
        or ""
    )
    match = _TRIGGER_INSERT.search(trigger)
    if match is None or match[1] != fts:
        raise StoreError(f"cannot rebuild {fts}: no insert trigger {table}_ai feeding it")
    values = re.sub(r"\bnew\.", "", match[3])
    conn.execute(text(f"INSERT INTO {fts}({fts}) VALUES ('delete-all')"))
    conn.execute(text(f"INSERT INTO {fts}({match[2]}) SELECT {values} FROM {table}"))


def _repair(conn: Connection, dialect: str, violations: list[Violation]) -> list[str]:
    done = []
    names = {v.check for v in violations if v.fixable}
    for kind in ORPHANS:
        if kind.name in names:
            n = kind.fix(conn)
            done.append(f"{kind.name}: {kind.repair} ({n} rows)")
    if dialect == "sqlite":
        for table, fts in FTS_INDEXES:
            if f"fts_rows:{fts}" in names or f"fts_integrity:{fts}" in names:
                rebuild_fts(conn, table, fts)
                done.append(f"{fts}: rebuilt from {table}")
    return done
