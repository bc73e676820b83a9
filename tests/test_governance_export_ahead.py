"""An export's later sections on a second connection, in the export's snapshot."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, event, text

from memwarden.agent import Agent
from memwarden.clock import utcnow
from memwarden.governance import export_ahead, export_postgres, export_sqlite
from memwarden.governance.export import write_export
from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.engine import sqlite_module
from memwarden.store.sqlite_library import memory_stats_off

from .engines import TestDatabase

pytestmark = pytest.mark.engines


@pytest.fixture(autouse=True)
def _second_connection_possible(request: pytest.FixtureRequest, engine: str) -> None:
    """On SQLite a second connection needs the library's memory statistics off: else
    every test here would pass on the export's connection alone."""
    if engine == "sqlite":
        request.getfixturevalue("store")
        assert memory_stats_off(sqlite_module())


@pytest.fixture
def write_locks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each try of SQLite's write lock took it (the real one runs)."""
    tries: list[bool] = []
    real = export_ahead._write_lock

    @contextmanager
    def spied(holder: Connection) -> Iterator[bool]:
        with real(holder) as locked:
            tries.append(locked)
            yield locked

    monkeypatch.setattr(export_ahead, "_write_lock", spied)
    return tries


def _session(agent: Agent) -> None:
    for said in (
        "My name is Ana. I live in Porto.",
        "I moved to Berlin.",
        "Remind me to renew my passport.",
    ):
        agent.turn("ana", said)
    agent.turn("ana", "/trace 1")


@contextmanager
def _connections_by_table(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, set[int]]]:
    """Which connections (by id of the driver connection) read each table: SQLAlchemy's
    statements, and the server-rendered pages (on the driver's cursor, which SQLAlchemy's
    events do not see; the real ``pages`` runs, observed)."""
    seen: dict[str, set[int]] = {}

    def note(conn: Connection, statement: str) -> None:
        for table in ("episodes", "semantic_beliefs", "tasks", "risk_log", "governance_log"):
            if f"FROM {table} " in statement:
                seen.setdefault(table, set()).add(id(conn.connection.dbapi_connection))

    def record(conn: Connection, cursor: Any, statement: str, *args: Any) -> None:
        note(conn, statement)

    for module in (export_postgres, export_sqlite):
        real = module.pages

        def pages(
            conn: Connection, query: str, *args: Any, real: Any = real
        ) -> Iterator[tuple[str | bytes, int]]:
            note(conn, query)
            return real(conn, query, *args)  # type: ignore[no-any-return]

        monkeypatch.setattr(module, "pages", pages)
    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


@pytest.mark.engines("postgres")  # SQLite takes no snapshot at SELECT 1
def test_export_later_sections_read_in_the_exports_snapshot(
    agent: Agent, store: Store, db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    _session(agent)
    buffer = io.StringIO()
    with _connections_by_table(store, monkeypatch) as seen, store.read() as conn:
        conn.execute(text("SELECT 1"))  # the read's snapshot is taken here
        agent.turn("ana", "Remind me to call Zoë. I love tango.")  # committed after it
        write_export(conn, "ana", buffer, exported_at=utcnow())
        main = id(conn.connection.dbapi_connection)
    document = json.loads(buffer.getvalue())

    # The beliefs and tasks were read on another connection than the export's ...
    assert seen["semantic_beliefs"] and main not in seen["semantic_beliefs"]
    assert main not in seen["tasks"]
    # ... and none of the turn committed after the snapshot shows, in any section.
    assert len(document["episodes"]) == len(document["risk_log"]) == 3
    assert [t["title"] for t in document["tasks"]] == ["Renew my passport"]
    assert not any("tango" in b["value"] for b in document["beliefs"])
    assert document["counts"]["governance_log"] == 1
    assert len(db.rows("SELECT id FROM risk_log WHERE user_id = 'ana'")) == 4


def test_export_with_a_commit_during_it_shows_it_in_no_section(
    agent: Agent, store: Store, db: TestDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    _session(agent)
    committed = threading.Event()
    buffer = io.StringIO()
    with _connections_by_table(store, monkeypatch) as seen:
        # A turn commits when the export's connection reads its first episodes, and the
        # second connection reads nothing before that: both snapshots were taken when
        # the export began, or the turn shows.
        for module in (export_postgres, export_sqlite):

            def pages(
                conn: Connection,
                query: str,
                *args: Any,
                module: Any = module,
                real: Any = module.pages,
            ) -> Iterator[tuple[str | bytes, int]]:
                if query == module.EPISODES:
                    if not committed.is_set():
                        agent.turn("ana", "Remind me to call Zoë. I love tango.")
                        committed.set()
                else:
                    assert committed.wait(timeout=30), "the episodes were never read"
                return real(conn, query, *args)  # type: ignore[no-any-return]

            monkeypatch.setattr(module, "pages", pages)
        with store.read() as conn:
            write_export(conn, "ana", buffer, exported_at=utcnow(), unread=True)
            main = id(conn.connection.dbapi_connection)
    document = json.loads(buffer.getvalue())

    assert committed.is_set()
    assert seen["risk_log"] and main not in seen["risk_log"]
    assert main not in seen["semantic_beliefs"] and main not in seen["tasks"]
    assert len(document["episodes"]) == len(document["risk_log"]) == 3
    assert [t["title"] for t in document["tasks"]] == ["Renew my passport"]
    assert not any("tango" in b["value"] for b in document["beliefs"])
    assert len(db.rows("SELECT id FROM risk_log WHERE user_id = 'ana'")) == 4


@pytest.mark.sqlite_only("SQLite's write lock, taken to line the snapshots up")
def test_export_snapshots_are_taken_while_no_commit_can_land(
    db: TestDatabase, agent: Agent, store: Store
) -> None:
    _session(agent)
    attempts: list[str] = []
    first_reads: list[str] = []

    def try_to_commit(statement: str) -> None:
        # As the second connection's first read starts, the export's connection has
        # taken its snapshot and the second has not (SQLite calls this before the
        # statement opens its read): a writer that does not wait must find the lock taken.
        if statement != str(export_ahead._SQLITE_FIRST_READ):
            return
        first_reads.append(statement)
        if len(first_reads) != 2:
            return
        writer = sqlite_module().connect(db.url, timeout=0, isolation_level=None)
        try:
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("ROLLBACK")
            attempts.append("committed")
        except sqlite_module().OperationalError as e:
            attempts.append(str(e))
        finally:
            writer.close()

    def trace(dbapi_conn: Any, *_: Any) -> None:  # the first reads run on driver cursors
        dbapi_conn.set_trace_callback(try_to_commit)

    event.listen(store.engine, "checkout", trace)
    try:
        with store.read() as conn:
            write_export(conn, "ana", io.StringIO(), exported_at=utcnow(), unread=True)
    finally:
        event.remove(store.engine, "checkout", trace)
    assert attempts == ["database is locked"]


@pytest.mark.sqlite_only("a SQLite writer's lock, which the export only tries")
def test_export_with_a_writer_holding_the_lock_reads_on_its_own_connection(
    db: TestDatabase, agent: Agent, monkeypatch: pytest.MonkeyPatch, write_locks: list[bool]
) -> None:
    _session(agent)
    # A writer that would keep the export waiting ten minutes, were the lock waited for.
    store = Store.open(Settings(db=db.url, busy_timeout_ms=600_000))
    buffers = [io.StringIO(), io.StringIO()]
    done = threading.Event()

    def export() -> None:
        with store.read() as conn:
            write_export(conn, "ana", buffers[0], exported_at=utcnow(), unread=True)
            main.append(id(conn.connection.dbapi_connection))
        done.set()

    main: list[int] = []
    try:
        with _connections_by_table(store, monkeypatch) as seen, db.connect() as writer:
            writer.execute("BEGIN IMMEDIATE")
            thread = threading.Thread(target=export)
            thread.start()
            thread.join(timeout=60)
            finished_while_locked = done.is_set()
            writer.execute("ROLLBACK")
            thread.join()
        with store.read() as conn:
            write_export(conn, "ana", buffers[1], exported_at=utcnow(), in_python=True)
    finally:
        store.close()

    assert finished_while_locked
    assert write_locks == [False]  # tried, not waited for
    assert seen["risk_log"] == seen["semantic_beliefs"] == set(main)
    one, other = (json.loads(b.getvalue()) for b in buffers)
    one.pop("exported_at"), other.pop("exported_at")
    assert one == other


@pytest.mark.sqlite_only("on PostgreSQL the snapshot is exported, read or not")
def test_export_on_a_transaction_that_read_already_reads_on_its_own_connection(
    agent: Agent, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _session(agent)
    with _connections_by_table(store, monkeypatch) as seen, store.read() as conn:
        conn.execute(text("SELECT count(*) FROM episodes"))  # its snapshot is taken
        write_export(conn, "ana", io.StringIO(), exported_at=utcnow())
        main = id(conn.connection.dbapi_connection)
    assert seen["risk_log"] == seen["semantic_beliefs"] == {main}


@pytest.mark.sqlite_only("the write lock is tried with SQLite's busy timeout off")
def test_export_leaves_every_pooled_connection_its_busy_timeout(
    db: TestDatabase, agent: Agent, write_locks: list[bool]
) -> None:
    _session(agent)
    store = Store.open(Settings(db=db.url, busy_timeout_ms=4321, pool_size=4, max_overflow=0))
    try:
        for _ in range(3):
            with store.read() as conn:
                write_export(conn, "ana", io.StringIO(), exported_at=utcnow(), unread=True)
        connections = [store.engine.connect() for _ in range(4)]
        try:
            timeouts = [c.exec_driver_sql("PRAGMA busy_timeout").scalar_one() for c in connections]
        finally:
            for c in connections:
                c.close()
    finally:
        store.close()
    assert write_locks == [True] * 3
    assert timeouts == [4321] * 4


def test_export_with_no_room_in_the_pool_reads_on_its_own_connection(
    db: TestDatabase, agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    _session(agent)
    store = Store.open(Settings(db=db.url, pool_size=1, max_overflow=0))
    try:
        buffers = [io.StringIO(), io.StringIO()]
        with _connections_by_table(store, monkeypatch) as seen, store.read() as conn:
            write_export(conn, "ana", buffers[0], exported_at=utcnow(), unread=True)
            main = id(conn.connection.dbapi_connection)
        with store.read() as conn:
            write_export(conn, "ana", buffers[1], exported_at=utcnow(), in_python=True)
    finally:
        store.close()

    assert seen["semantic_beliefs"] == seen["tasks"] == {main}
    one, other = (json.loads(b.getvalue()) for b in buffers)
    one.pop("exported_at"), other.pop("exported_at")
    assert one == other


def test_exports_at_once_on_a_small_pool_all_succeed(db: TestDatabase, agent: Agent) -> None:
    _session(agent)
    store = Store.open(Settings(db=db.url, pool_size=3, max_overflow=0))
    documents: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def export() -> None:
        try:
            buffer = io.StringIO()
            with store.read() as conn:
                write_export(conn, "ana", buffer, exported_at=utcnow(), page=1, unread=True)
            documents.append(json.loads(buffer.getvalue()))
        except BaseException as e:
            errors.append(e)

    try:
        threads = [threading.Thread(target=export) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        store.close()
    assert errors == []
    assert len(documents) == 6
    assert all(d["counts"] == documents[0]["counts"] for d in documents)
    assert documents[0]["counts"]["episodes"] == 3


class _BrokenPipe(io.StringIO):
    """A client that goes away after ``writes`` writes."""

    def __init__(self, writes: int) -> None:
        super().__init__()
        self.left = writes

    def write(self, s: str) -> int:
        self.left -= 1
        if self.left < 0:
            raise OSError("the client went away")
        return super().write(s)


def test_export_failing_mid_way_returns_the_second_connection(agent: Agent, store: Store) -> None:
    _session(agent)
    for writes in (1, 3, 6):  # in the header, in the episodes, after them
        with pytest.raises(OSError, match="went away"), store.read() as conn:
            write_export(conn, "ana", _BrokenPipe(writes), exported_at=utcnow(), unread=True)
        assert store.engine.pool.checkedout() == 0, writes  # type: ignore[attr-defined]
        assert export_ahead._WORKERS.running() == 0, writes


def test_ahead_hands_a_sections_failure_to_the_export(store: Store) -> None:
    def fine(conn: Connection) -> Iterator[str]:
        yield str(conn.execute(text("SELECT 'in the snapshot'")).scalar_one())

    def failing(conn: Connection) -> Iterator[str]:
        yield "first page"
        raise ValueError("a page could not be read")

    with store.read() as conn:
        ahead = export_ahead.start(conn, [fine, failing], unread=True)
        assert ahead is not None and ahead.ready()
        try:
            assert list(ahead.chunks(0)) == ["in the snapshot"]
            chunks = ahead.chunks(1)
            assert next(chunks) == "first page"
            with pytest.raises(ValueError, match="could not be read"):
                next(chunks)
        finally:
            ahead.close()
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


def test_export_without_a_thread_for_its_sections_reads_on_its_own_connection(
    agent: Agent, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _session(agent)

    def no_thread(*_args: object) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(export_ahead._WORKERS, "submit", no_thread)
    buffer = io.StringIO()
    with _connections_by_table(store, monkeypatch) as seen, store.read() as conn:
        write_export(conn, "ana", buffer, exported_at=utcnow(), unread=True)
        main = id(conn.connection.dbapi_connection)
    assert seen["risk_log"] == seen["semantic_beliefs"] == {main}
    assert json.loads(buffer.getvalue())["counts"]["episodes"] == 3
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


_ABANDONED = """
import io, sys, threading, time
from memwarden.agent import Agent
from memwarden.clock import utcnow
from memwarden.governance.export import write_export
from memwarden.settings import Settings

class Stuck(io.StringIO):
    def __init__(self):
        super().__init__()
        self.writes = 0
    def write(self, s):
        self.writes += 1
        if self.writes > 3:
            threading.Event().wait()  # a client that never reads again
        return super().write(s)

agent = Agent.open(Settings(db=sys.argv[1]))
for said in ("My name is Ana.", "I live in Porto.", "Remind me to call Bo."):
    agent.turn("ana", said)

def export():
    with agent.store.read() as conn:
        write_export(conn, "ana", Stuck(), exported_at=utcnow(), page=1, unread=True)

threading.Thread(target=export, daemon=True).start()
time.sleep(0.5)
print("leaving")
"""


def test_process_with_an_abandoned_export_exits(db: TestDatabase, tmp_path: Path) -> None:
    # The export's consumer is gone for good: the thread reading its sections ahead
    # must not keep the interpreter from exiting (as a joined worker thread would).
    done = subprocess.run(
        [sys.executable, "-c", _ABANDONED, db.url],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "MEMWARDEN_LOG_LEVEL": "WARNING"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "leaving"
