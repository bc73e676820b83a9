"""Migrating from blank gives exactly the expected schema, and the seed's SQL runs on it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.migrate import head_revision
from memwarden.store.schema import metadata

INT, TEXT, DT, FLOAT = "INTEGER", "TEXT", "DATETIME", "FLOAT"
UID = ("user_id", "VARCHAR(255)", 1, 0)

# table -> (columns as (name, type, notnull, pk), foreign keys, indexes)
EXPECTED: dict[
    str, tuple[list[tuple[str, str, int, int]], set[tuple[str, str, str, str]], set[str]]
] = {
    "alembic_version": (
        [("version_num", "VARCHAR(32)", 1, 1)],
        set(),
        {"sqlite_autoindex_alembic_version_1"},
    ),
    "episodes": (
        [
            ("id", INT, 1, 1),
            UID,
            ("ts", DT, 1, 0),
            ("user_input", TEXT, 1, 0),
            ("draft", TEXT, 1, 0),
            ("reply", TEXT, 1, 0),
            ("action", "VARCHAR(16)", 1, 0),
            ("draft_total_score", FLOAT, 1, 0),
            ("final_score", FLOAT, 1, 0),
            ("occurred_at", DT, 0, 0),
            ("meta", TEXT, 0, 0),
            ("trace", TEXT, 0, 0),
        ],
        set(),
        # SQLite only: ix_episodes_id (migration 0004), for the orphan count's merge;
        # ix_episodes_user_timeline (0005), covering the timeline that recall reads, and
        # the JSON validity the export reads (0007; its definition is pinned below).
        {"ix_episodes_id", "ix_episodes_ts", "ix_episodes_user_id_id", "ix_episodes_user_timeline"},
    ),
    "risk_log": (
        [
            ("id", INT, 1, 1),
            UID,
            ("episode_id", INT, 1, 0),
            ("ts", DT, 1, 0),
            ("draft_total_score", FLOAT, 1, 0),
            ("final_score", FLOAT, 1, 0),
            ("action", "VARCHAR(16)", 1, 0),
            ("scores", TEXT, 1, 0),
            ("details", TEXT, 1, 0),
        ],
        {("episode_id", "episodes", "id", "CASCADE")},
        {"ix_risk_log_episode_id", "ix_risk_log_ts", "ix_risk_log_user_id"},
    ),
    "semantic_beliefs": (
        [
            ("id", INT, 1, 1),
            UID,
            ("key", "VARCHAR(200)", 1, 0),
            ("value", TEXT, 1, 0),
            ("statement", TEXT, 1, 0),
            ("confidence", FLOAT, 1, 0),
            ("version", INT, 1, 0),
            ("created_at", DT, 1, 0),
            ("updated_at", DT, 1, 0),
        ],
        set(),
        {"sqlite_autoindex_semantic_beliefs_1"},
    ),
    "belief_sources": (
        [("belief_id", INT, 1, 1), ("episode_id", INT, 1, 2), UID, ("ts", DT, 1, 0)],
        {
            ("episode_id", "episodes", "id", "CASCADE"),
            ("belief_id", "semantic_beliefs", "id", "CASCADE"),
        },
        {"ix_belief_sources_episode_id", "sqlite_autoindex_belief_sources_1"},
    ),
    "belief_history": (
        [
            ("id", INT, 1, 1),
            UID,
            ("belief_id", INT, 1, 0),
            ("episode_id", INT, 0, 0),
            ("ts", DT, 1, 0),
            ("change", "VARCHAR(16)", 1, 0),
            ("old_value", TEXT, 0, 0),
            ("new_value", TEXT, 1, 0),
            ("confidence", FLOAT, 1, 0),
        ],
        {
            ("episode_id", "episodes", "id", "CASCADE"),
            ("belief_id", "semantic_beliefs", "id", "CASCADE"),
        },
        {"ix_belief_history_belief_id", "ix_belief_history_episode_id"},
    ),
    "tasks": (
        [
            ("id", INT, 1, 1),
            UID,
            ("title", TEXT, 1, 0),
            ("status", "VARCHAR(16)", 1, 0),
            ("created_at", DT, 1, 0),
            ("updated_at", DT, 1, 0),
            ("source_episode_id", INT, 0, 0),
        ],
        {("source_episode_id", "episodes", "id", "SET NULL")},
        {"ix_tasks_created_at", "ix_tasks_source_episode_id", "ix_tasks_user_id_status"},
    ),
    "task_events": (
        [
            ("id", INT, 1, 1),
            UID,
            ("task_id", INT, 1, 0),
            ("ts", DT, 1, 0),
            ("event", "VARCHAR(16)", 1, 0),
            ("episode_id", INT, 0, 0),
            ("detail", TEXT, 0, 0),
        ],
        {("episode_id", "episodes", "id", "SET NULL"), ("task_id", "tasks", "id", "CASCADE")},
        {"ix_task_events_episode_id", "ix_task_events_task_id", "ix_task_events_user_id_id"},
    ),
    "governance_log": (
        [
            ("id", INT, 1, 1),
            UID,
            ("command", "VARCHAR(32)", 1, 0),
            ("args", TEXT, 1, 0),
            ("success", "BOOLEAN", 1, 0),
            ("error", TEXT, 0, 0),
            ("latency_ms", FLOAT, 1, 0),
            ("ts", DT, 1, 0),
            ("timestamp", DT, 0, 0),
        ],
        set(),
        {"ix_governance_log_ts", "ix_governance_log_user_id"},
    ),
    "api_users": (
        [("user_id", "VARCHAR(255)", 1, 1), ("admin", "BOOLEAN", 1, 0), ("created_at", DT, 1, 0)],
        set(),
        {"sqlite_autoindex_api_users_1"},
    ),
    "api_keys": (
        [
            ("id", INT, 1, 1),
            ("key_id", "VARCHAR(16)", 1, 0),
            UID,
            ("key_hash", "VARCHAR(64)", 1, 0),
            ("label", "VARCHAR(100)", 0, 0),
            ("created_at", DT, 1, 0),
            ("revoked_at", DT, 0, 0),
        ],
        {("user_id", "api_users", "user_id", "CASCADE")},
        {"ix_api_keys_user_id", "sqlite_autoindex_api_keys_1"},
    ),
}
EXPECTED["memory_vectors"] = (
    [
        ("id", INT, 1, 1),
        UID,
        ("episode_id", INT, 0, 0),
        ("belief_id", INT, 0, 0),
        ("model", "VARCHAR(64)", 1, 0),
        ("vector", "BLOB", 1, 0),
    ],
    {
        ("episode_id", "episodes", "id", "CASCADE"),
        ("belief_id", "semantic_beliefs", "id", "CASCADE"),
    },
    {"ix_memory_vectors_user_id_id", "ux_memory_vectors_episode_id", "ux_memory_vectors_belief_id"},
)
EXPECTED["episode_recalls"] = (  # WITHOUT ROWID: the primary key is the table
    [("episode_id", INT, 1, 1), UID, ("kind", "VARCHAR(8)", 1, 2), ("ref_id", INT, 1, 3)],
    {("episode_id", "episodes", "id", "CASCADE")},
    {"ix_episode_recalls_user_id_ref", "sqlite_autoindex_episode_recalls_1"},
)
EXPECTED["episode_id_marks"] = (
    [("user_id", "VARCHAR(255)", 1, 1), ("last_id", INT, 1, 0)],
    set(),
    {"sqlite_autoindex_episode_id_marks_1"},
)
FULLTEXT = {
    "episodes_fts": ["body"],
    "semantic_beliefs_fts": ["body"],
}
TRIGGERS = {f"{t}_{s}" for t in ("episodes", "semantic_beliefs") for s in ("ai", "ad", "au")} | {
    "semantic_beliefs_vector_stale",
    "episodes_vector_stale",
}


def _schema(db: Path) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE '%_fts' AND name NOT LIKE '%_fts_%' ORDER BY name"
            )
        ]
        tables = {
            name: (
                [(r[1], r[2], r[3], r[5]) for r in conn.execute(f"PRAGMA table_xinfo({name})")],
                {
                    (r[3], r[2], r[4], r[6])
                    for r in conn.execute(f"PRAGMA foreign_key_list({name})")
                },
                {r[1] for r in conn.execute(f"PRAGMA index_list({name})")},
            )
            for name in names
        }
        fts = {
            name: [r[1] for r in conn.execute(f"PRAGMA table_info({name})")]
            for (name,) in conn.execute(
                "SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%'"
            )
        }
        triggers = {
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")
        }
    return {"tables": tables, "fts": fts, "triggers": triggers}


def test_migrate_from_blank_gives_exact_schema(settings: Settings, db_path: Path) -> None:
    store = Store.open(settings)
    assert store.revision() == head_revision()
    store.close()
    schema = _schema(db_path)
    assert schema["tables"] == EXPECTED
    assert schema["fts"] == FULLTEXT
    assert schema["triggers"] == TRIGGERS


def test_migrate_gives_the_indexes_the_export_names(settings: Settings, db_path: Path) -> None:
    Store.open(settings).close()
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE name IN "
            "('ix_episodes_user_timeline', 'episode_recalls')"
        ).fetchall()
    sql = {name: " ".join(text.split()) for name, text in rows}
    assert sql["ix_episodes_user_timeline"] == (
        "CREATE INDEX ix_episodes_user_timeline ON episodes "
        "(user_id, id, ts, occurred_at, meta, json_valid(meta), json_valid(trace))"
    )
    assert sql["episode_recalls"].endswith("WITHOUT ROWID")


def test_migrate_matches_code_metadata(settings: Settings, db_path: Path) -> None:
    Store.open(settings).close()
    tables = _schema(db_path)["tables"]
    for table in metadata.sorted_tables:
        assert [c[0] for c in tables[table.name][0]] == [c.name for c in table.columns], table.name


def test_migrate_twice_is_a_no_op(settings: Settings, db_path: Path) -> None:
    Store.open(settings).close()
    before = _schema(db_path)
    Store.open(settings).close()
    assert _schema(db_path) == before


def test_store_pragmas_foreign_keys_wal_busy_timeout(store: Store) -> None:
    with store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == 256 * 1024 * 1024


def test_store_mmap_off_stays_off_for_health_reads(tmp_path: Path) -> None:
    from memwarden.ops.figures import fast_reads

    store = Store.open(Settings(db=str(tmp_path / "nomap.db"), sqlite_mmap_mb=0))
    try:
        with store.read() as conn:
            fast_reads(conn)  # health's counts widen the mapping only where it is on
            assert conn.exec_driver_sql("PRAGMA mmap_size").scalar() == 0
    finally:
        store.close()


def test_require_head_fails_on_blank_database(tmp_path: Path) -> None:
    from memwarden.errors import SchemaError

    store = Store.open(Settings(db=str(tmp_path / "blank.db")), migrate=False)
    with pytest.raises(SchemaError, match="memwarden db upgrade"):
        store.require_head()
    store.close()
