"""Orphan counts are exact row counts, whichever plan proves them (SQLite's merge of two
key-ordered scans, or the anti-join), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from memwarden.ops.orphans import ORPHANS, _merge_pays, count_orphans
from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.engine import sqlite_module
from memwarden.store.schema import episodes, risk_log, tasks

from .postgres import fresh_database

TS = "2026-01-21 18:00:00"
RISK = (
    "INSERT INTO risk_log (user_id, episode_id, ts, draft_total_score, final_score, action, "
    "scores, details) VALUES ('ana', {}, '" + TS + "', 0, 0, 'NONE', '{{}}', '{{}}')"
)
EVENT = "INSERT INTO task_events (user_id, task_id, ts, event, episode_id) VALUES ('ana', {}, '{}', 'created', {})"


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated store with four episodes, each with its risk_log row, and one task."""
    urls = iter([str(tmp_path / "orphans.db")]) if request.param == "sqlite" else fresh_database()
    for url in urls:
        opened = Store.open(Settings(db=url))
        with opened.write() as conn:
            for i in range(1, 5):
                conn.execute(
                    text(
                        "INSERT INTO episodes (id, user_id, ts, user_input, draft, reply, action, "
                        "draft_total_score, final_score) "
                        f"VALUES ({i}, 'ana', '{TS}', 'hello', 'hi', 'hi', 'NONE', 0, 0)"
                    )
                )
                conn.execute(text(RISK.format(i)))
            conn.execute(
                text(
                    "INSERT INTO tasks (id, user_id, title, status, created_at, updated_at) "
                    f"VALUES (1, 'ana', 'call Ana', 'open', '{TS}', '{TS}')"
                )
            )
            conn.execute(text(EVENT.format(1, TS, "NULL")))
        try:
            yield opened
        finally:
            opened.close()


def _without_foreign_keys(store: Store, *statements: str) -> None:
    """Write rows the foreign keys would refuse, as a connection with them off would."""
    if store.dialect == "sqlite":
        raw = sqlite_module().connect(str(store.engine.url.database))
        raw.execute("PRAGMA foreign_keys = OFF")
        for statement in statements:
            raw.execute(statement)
        raw.commit()
        raw.close()
        return
    with store.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        for statement in statements:
            conn.exec_driver_sql(statement)


def _counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return count_orphans(conn)


def test_count_orphans_clean_database_counts_zero_of_every_kind(store: Store) -> None:
    assert _counts(store) == {kind.name: 0 for kind in ORPHANS}


def test_count_orphans_counts_rows_not_distinct_missing_ids(store: Store) -> None:
    _without_foreign_keys(
        store,
        RISK.format(99),
        RISK.format(99),  # a second row pointing at the same missing episode
        RISK.format(100),
        EVENT.format(1, TS, 77),  # SET NULL reference to a missing episode
        EVENT.format(5, TS, "NULL"),  # missing task; its NULL episode is no orphan
    )
    expected = {kind.name: 0 for kind in ORPHANS}
    expected["orphan_risk_log.episode_id"] = 3
    expected["orphan_task_events.episode_id"] = 1
    expected["orphan_task_events.task_id"] = 1
    assert _counts(store) == expected


def test_merge_pays_for_a_child_half_its_parent_on_sqlite_only(store: Store) -> None:
    with store.read() as conn:
        large = _merge_pays(conn, risk_log, episodes)  # 4 rows for 4 episodes
        small = _merge_pays(conn, tasks, episodes)  # 1 row for 4 episodes: probe it
    # So on SQLite the tests above count risk_log through the merge; PostgreSQL plans
    # its own anti-join.
    assert (large, small) == ((True, False) if store.dialect == "sqlite" else (False, False))
