"""`memwarden validate`: the seed's ``validate_fixes.py``, as a command.

It proves the database is what this code expects before traffic reaches it: migrations
at head; every table, column, index and foreign key of ``store/schema.py`` present (and
nothing unexpected); foreign keys enforced on memwarden's connections; on SQLite the
full-text tables and their triggers, WAL, and the seed's own hand-written SQL (its
"Check 1-3" and "Useful Commands" queries) running as written; on PostgreSQL the
generated ``search_vector`` columns and their GIN indexes, and the export's generated
JSON flags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, inspect, text

from ..governance.records import JSON_FLAGS
from ..store import Store
from ..store.migrate import head_revision
from ..store.schema import metadata
from .integrity import FTS_INDEXES

__all__ = ["SEED_SQL", "ValidationReport", "validate"]

#: The seed runbook's SQL, verbatim but for LIMITs: operators run it by hand.
SEED_SQL: dict[str, str] = {
    "check 1: risk gate stability": (
        "SELECT COUNT(*) as episodes, AVG(draft_total_score) as avg_draft, "
        "MAX(draft_total_score) as max_draft, "
        "COUNT(CASE WHEN draft_total_score > 1 THEN 1 END) as high_risk_count "
        "FROM risk_log WHERE ts > datetime('now', '-6 hours')"
    ),
    "check 2: governance usage": (
        "SELECT COUNT(*) as total_commands, "
        "SUM(CASE WHEN command = '/export_memory' THEN 1 ELSE 0 END) as export_calls, "
        "SUM(CASE WHEN command = '/trace' THEN 1 ELSE 0 END) as trace_calls "
        "FROM governance_log WHERE timestamp > datetime('now', '-6 hours')"
    ),
    "check 3: orphaned entries": (
        "SELECT COUNT(*) FROM risk_log WHERE episode_id NOT IN (SELECT id FROM episodes)"
    ),
    "check 3: beliefs": "SELECT COUNT(*) FROM semantic_beliefs",
    "useful: governance dump": (
        "SELECT * FROM governance_log WHERE ts > datetime('now', '-6 hours') LIMIT 1"
    ),
    "useful: full diagnostic": (
        "SELECT (SELECT COUNT(*) FROM episodes), (SELECT COUNT(*) FROM tasks), "
        "(SELECT COUNT(*) FROM risk_log WHERE draft_total_score > 1.0)"
    ),
}

#: What a dialect adds to ``store/schema.py``: columns and indexes.  PostgreSQL's columns
#: are generated, in step with their rows by definition: the ``tsvector`` of full-text
#: search (the store's one seam) and the export's ``<column>_is_json`` flags (0010).
DIALECT_EXTRAS: dict[str, dict[str, tuple[set[str], set[str]]]] = {
    "postgresql": {
        "episodes": (
            {"search_vector", *JSON_FLAGS["episodes"]},
            {"ix_episodes_search_vector"},
        ),
        "semantic_beliefs": ({"search_vector"}, {"ix_semantic_beliefs_search_vector"}),
        "risk_log": (set(JSON_FLAGS["risk_log"]), set()),
        "governance_log": (set(JSON_FLAGS["governance_log"]), set()),
    },
    # Migrations 0004, 0005 and 0007: the orphan count's merge, the timeline and the
    # export's JSON validity (the export names that index).
    "sqlite": {"episodes": (set(), {"ix_episodes_id", "ix_episodes_user_timeline"})},
}

TRIGGERS = tuple(f"{table}_{suffix}" for table, _ in FTS_INDEXES for suffix in ("ai", "ad", "au"))


@dataclass(frozen=True)
class Item:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class ValidationReport:
    items: list[Item] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.items)

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def add(self, name: str, ok: bool, detail: str = "") -> None:
        self.items.append(Item(name, ok, detail))

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checks": [vars(i) for i in self.items]}


def validate(store: Store) -> ValidationReport:
    """Every check; a failing one does not stop the others."""
    report = ValidationReport()
    current, head = store.revision(), head_revision()
    report.add("migrations at head", current == head, f"database {current or 'blank'}, code {head}")
    with store.read() as conn:
        _tables(conn, report)
        if store.dialect == "sqlite":
            _sqlite(conn, report)
    return report


def _index_names(conn: Connection, inspector: Any, table: str) -> set[str]:
    """The table's index names.  SQLite: from the catalogue, since SQLAlchemy's
    reflection skips (with a warning) an index on expressions such as json_valid()."""
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql(f'PRAGMA index_list("{table}")')
        return {str(r[1]) for r in rows if r[3] == "c"}  # created by CREATE INDEX
    return {str(ix["name"]) for ix in inspector.get_indexes(table)}


def _tables(conn: Connection, report: ValidationReport) -> None:
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    extras = DIALECT_EXTRAS.get(conn.dialect.name, {})
    for table in metadata.sorted_tables:
        if table.name not in present:
            report.add(f"table {table.name}", False, "missing")
            continue
        extra_columns, extra_indexes = extras.get(table.name, (set(), set()))
        expected = {c.name for c in table.columns} | extra_columns
        actual = {c["name"] for c in inspector.get_columns(table.name)}
        missing, extra = sorted(expected - actual), sorted(actual - expected)
        detail = "; ".join(
            part
            for part in (
                f"missing columns {', '.join(missing)}" if missing else "",
                f"unexpected columns {', '.join(extra)}" if extra else "",
            )
            if part
        )
        report.add(
            f"table {table.name}: columns", not detail, detail or ", ".join(sorted(expected))
        )
        want_ix = {str(ix.name) for ix in table.indexes} | extra_indexes
        have_ix = _index_names(conn, inspector, table.name)
        lacking = sorted(want_ix - have_ix)
        report.add(
            f"table {table.name}: indexes",
            not lacking,
            f"missing {', '.join(lacking)}" if lacking else f"{len(want_ix)} present",
        )
        want_fk = {
            (fk.parent.name, fk.column.table.name, (fk.ondelete or "").upper())
            for fk in table.foreign_keys
        }
        have_fk = {
            (col, fk["referred_table"], (fk.get("options", {}).get("ondelete") or "").upper())
            for fk in inspector.get_foreign_keys(table.name)
            for col in fk["constrained_columns"]
        }
        lacking_fk = sorted(want_fk - have_fk)
        report.add(
            f"table {table.name}: foreign keys",
            not lacking_fk,
            "missing " + ", ".join(f"{c} -> {t} ON DELETE {d}" for c, t, d in lacking_fk)
            if lacking_fk
            else f"{len(want_fk)} present",
        )


def _sqlite(conn: Connection, report: ValidationReport) -> None:
    fk_on = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
    report.add("foreign keys enforced", fk_on == 1, f"PRAGMA foreign_keys = {fk_on}")
    mode = str(conn.exec_driver_sql("PRAGMA journal_mode").scalar())
    report.add("journal mode WAL", mode.lower() == "wal", f"journal_mode = {mode}")
    names = {
        str(r[0]): str(r[1])
        for r in conn.exec_driver_sql(
            "SELECT name, type FROM sqlite_master WHERE type IN ('table', 'trigger')"
        )
    }
    for _, fts in FTS_INDEXES:
        report.add(
            f"full-text table {fts}", names.get(fts) == "table", "" if fts in names else "missing"
        )
    lacking = [t for t in TRIGGERS if names.get(t) != "trigger"]
    report.add(
        "full-text triggers",
        not lacking,
        f"missing {', '.join(lacking)}" if lacking else f"{len(TRIGGERS)} present",
    )
    for label, sql in SEED_SQL.items():
        try:
            conn.execute(text(sql)).fetchall()
            report.add(f"seed SQL runs: {label}", True)
        except Exception as e:  # the point is to report any failure of the seed's SQL
            report.add(f"seed SQL runs: {label}", False, str(e).splitlines()[0])
