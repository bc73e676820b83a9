"""Shared helpers of the governance tests (this module holds no tests)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jsonschema

from memwarden.gate import Action, Assessment, CategoryScore, GateDecision, GateInput, Span
from memwarden.gate.base import Attempt, Regenerate
from memwarden.logs import SeedFormatter
from memwarden.store import textindex
from memwarden.store.engine import sqlite_module

SCHEMA = json.loads((Path(__file__).parent.parent / "docs" / "export-schema.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())

# Tables whose rows a refused or failed call must leave exactly as they were (the FTS5
# shadow tables included: a half-done delete would show there first).
STATE_TABLES = (
    "episodes",
    "risk_log",
    "semantic_beliefs",
    "belief_sources",
    "belief_history",
    "tasks",
    "task_events",
    "episodes_fts_data",
    "episodes_fts_idx",
    "episodes_fts_docsize",
    "semantic_beliefs_fts_data",
    "semantic_beliefs_fts_idx",
    "semantic_beliefs_fts_docsize",
)


def connect(db: Path) -> Any:
    """A driver connection with the SQLite memwarden uses (FTS5 secure-delete needs
    >= 3.42; the system's sqlite3 module may be older)."""
    conn = sqlite_module().connect(str(db))
    textindex.register(conn)  # the full-text triggers call mw_fts()
    return conn


def rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def count(db: Path, table: str, where: str = "1", *params: Any) -> int:
    return int(rows(db, f"SELECT COUNT(*) FROM {table} WHERE {where}", *params)[0][0])


def state(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table a governance call could change."""
    with connect(db) as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in STATE_TABLES}


def audit(db: Path) -> list[tuple[Any, ...]]:
    """governance_log as (user_id, command, args, success, error) tuples, oldest first."""
    return rows(db, "SELECT user_id, command, args, success, error FROM governance_log ORDER BY id")


def disk_bytes(db: Path) -> bytes:
    """The database file and its WAL, as a copy taken now would hold them."""
    data = db.read_bytes()
    wal = db.with_name(db.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def validate_export(document: dict[str, Any]) -> None:
    VALIDATOR.validate(document)


def export_document(gov: Any, user: str) -> dict[str, Any]:
    buffer = io.StringIO()
    result = gov.export_memory(user, out=buffer)
    assert result.ok, result.reply
    document: dict[str, Any] = json.loads(buffer.getvalue())
    validate_export(document)
    return document


@contextmanager
def seed_log() -> Iterator[io.StringIO]:
    """memwarden's log lines in the seed format, captured whatever configured logging."""
    logger = logging.getLogger("memwarden")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SeedFormatter())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def reset_logging() -> None:
    """Drop the handlers a CLI run installed (they hold CliRunner's closed streams)."""
    logger = logging.getLogger("memwarden")
    for handler in list(logger.handlers):
        if getattr(handler, "_memwarden_handler", False):
            logger.removeHandler(handler)


def last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else ""


class FlaggingGate:
    """A test gate: flags the word ``secret`` in a draft as a 'secrets' span, then asks
    the LLM for one rewrite (so traces have categories, spans and a rewrite attempt)."""

    def assess(self, gate_input: GateInput) -> Assessment:
        start = gate_input.draft.find("secret")
        if start < 0:
            return Assessment(total=0.0, action=Action.NONE)
        span = Span(start, start + 6, "secret", "looks like a secret")
        category = CategoryScore("secrets", 1.5, (span,))
        return Assessment(total=1.5, action=Action.REWRITE, categories=(category,))

    def review(self, gate_input: GateInput, regenerate: Regenerate) -> GateDecision:
        first = self.assess(gate_input)
        if first.action is Action.NONE:
            return GateDecision(Action.NONE, 0.0, 0.0, gate_input.draft, first)
        extra = "Do not repeat the secret."
        draft = regenerate(extra).replace("secret", "[redacted]")
        second = Assessment(total=0.0, action=Action.NONE)
        attempt = Attempt(extra, draft, second, "regenerate")
        return GateDecision(Action.REWRITE, first.total, 0.0, draft, first, (attempt,))
