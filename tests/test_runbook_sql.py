"""docs/runbook.md §10: the seed's SQL and its PostgreSQL equivalents, run as written.

Every fenced block tagged ``sql sqlite`` or ``sql postgresql`` is read from the runbook
(its first line, a ``--`` comment, names it).  After the same scripted session on each
engine, every PostgreSQL block runs on PostgreSQL, as ``psql`` would run it, and gives
the answers the seed's SQLite query gives on SQLite.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from memwarden.settings import Settings

from .engines import TestDatabase
from .postgres import SharedDatabase, sqlalchemy_url
from .test_governance_seed_sql import AUDITED, GOV_COLUMNS, SEED, run_session

RUNBOOK = Path(__file__).resolve().parents[1] / "docs" / "runbook.md"
BLOCK = re.compile(r"^```sql (sqlite|postgresql)\n(.*?)^```", re.M | re.S)


@cache
def runbook_queries() -> dict[str, dict[str, str]]:
    """{name: {dialect: SQL}} from the runbook's tagged blocks (name: the first line)."""
    found: dict[str, dict[str, str]] = {}
    for dialect, body in BLOCK.findall(RUNBOOK.read_text(encoding="utf-8")):
        first, _, sql = body.partition("\n")
        assert first.startswith("-- "), f"a runbook SQL block starts with '-- name': {first!r}"
        name = first[3:].strip()
        assert dialect not in found.get(name, {}), f"two {dialect} blocks named {name!r}"
        found.setdefault(name, {})[dialect] = sql.strip()
    return found


def _statements(sql: str) -> list[str]:
    return [s for s in (p.strip() for p in sql.split(";")) if s]


def _plain(value: Any) -> Any:
    """A value as both engines can agree on it (booleans as 0/1, numbers as floats)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal | float):
        return round(float(value), 9)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return value


def _run(db: TestDatabase, sql: str) -> list[tuple[list[str], list[tuple[Any, ...]]]]:
    """Each statement's (column names, rows), one statement at a time, as a shell would."""
    out = []
    with db.connect() as conn:
        for statement in _statements(sql):
            cursor = conn.execute(statement)
            columns = [d[0] for d in cursor.description]
            out.append((columns, [tuple(map(_plain, r)) for r in cursor.fetchall()]))
    return out


@pytest.fixture(scope="module")
def sessions(
    tmp_path_factory: pytest.TempPathFactory, pg_shared: SharedDatabase
) -> dict[str, TestDatabase]:
    """The scripted session on SQLite and on PostgreSQL (a database of its own)."""
    folder = tmp_path_factory.mktemp("runbook")
    sqlite = TestDatabase(str(folder / "production.db"), folder / "exports")
    postgres = TestDatabase(sqlalchemy_url(pg_shared.clone()), folder / "exports")
    for db in (sqlite, postgres):
        run_session(Settings(db=db.url))
    return {"sqlite": sqlite, "postgresql": postgres}


def test_runbook_sql_blocks_are_paired_and_the_seed_verbatim() -> None:
    queries = runbook_queries()
    assert len(queries) == 8
    unpaired = [name for name, by in queries.items() if "sqlite" in by and "postgresql" not in by]
    assert unpaired == []
    assert list(queries["Check for drift"]) == ["postgresql"]  # the seed's is Python
    if not SEED.exists():
        pytest.skip("the seed runbook is not beside this checkout")
    seed = " ".join(SEED.read_text(encoding="utf-8").split())
    for name, by in queries.items():
        if "sqlite" in by:
            assert " ".join(by["sqlite"].split()) in seed, name


@pytest.mark.postgres
def test_runbook_postgresql_sql_answers_as_the_seed_sql_on_sqlite(
    sessions: dict[str, TestDatabase],
) -> None:
    for name, by in runbook_queries().items():
        if "sqlite" not in by:
            continue
        results = {dialect: _run(sessions[dialect], sql) for dialect, sql in by.items()}
        sqlite, postgres = results["sqlite"], results["postgresql"]
        assert [len(c) for c, _ in postgres] == [len(c) for c, _ in sqlite], name
        if name == "Dump governance logs":  # ids and times differ between the two runs
            assert [c for c, _ in postgres] == [c for c, _ in sqlite] == [GOV_COLUMNS]
            keep = [1, 2, 3, 4, 5]  # user_id, command, args, success, error
            sqlite = [(c, [tuple(r[k] for k in keep) for r in rows]) for c, rows in sqlite]
            postgres = [(c, [tuple(r[k] for k in keep) for r in rows]) for c, rows in postgres]
        assert [rows for _, rows in postgres] == [rows for _, rows in sqlite], name


@pytest.mark.postgres
def test_runbook_postgresql_sql_gives_the_expected_answers(
    sessions: dict[str, TestDatabase],
) -> None:
    pg = sessions["postgresql"]
    queries = {name: by["postgresql"] for name, by in runbook_queries().items()}
    rows = {name: [r for _, r in _run(pg, sql)] for name, sql in queries.items()}
    assert rows["Check 1: risk gate stability"] == [[(4, 0.375, 1.5, 1)]]  # episode 2 gone
    assert rows["Check 2: governance commands usage"] == [[(7, 1, 3)]]
    assert rows["Check 3: orphaned entries"] == [[(0,)]]
    assert rows["Check 3: beliefs"] == [[(1,)]]
    assert rows["Current status"] == [[(4,)], [(1,)]]
    assert rows["Full diagnostic"] == [[(4,)], [(2,)], [(1,)]]
    [dump] = rows["Dump governance logs"]
    assert [(r[2], r[4]) for r in dump] == AUDITED
    assert rows["Check for drift"] == [[("Mean: 0.38, Max: 1.50, Count: 4",)]]  # as the seed's


@pytest.mark.postgres
def test_runbook_postgresql_time_window_is_utc_whatever_the_session_zone(
    sessions: dict[str, TestDatabase],
) -> None:
    """Rows an hour old fall out of a 1 hour window even where the clock is UTC+14."""
    pg = sessions["postgresql"]
    drift = runbook_queries()["Check for drift"]["postgresql"]
    with pg.connect() as conn:
        conn.execute("SET TIME ZONE 'Pacific/Kiritimati'")
        [(line,)] = conn.execute(drift).fetchall()
        conn.execute("UPDATE risk_log SET ts = ts - interval '61 minutes' WHERE episode_id = 1")
        [(later,)] = conn.execute(drift).fetchall()
        conn.rollback()
    assert (line, later) == ("Mean: 0.38, Max: 1.50, Count: 4", "Mean: 0.50, Max: 1.50, Count: 3")
