"""Many writers at once: OS processes on one database, and two writers on one belief.

The big test runs 8 processes x 200 turns against one fresh PostgreSQL database (and 4 x
60 on one SQLite file): every process talks to the same 4 users, so each user's turns
come from all of them at once, with contradicting locations ("I live in Porto" and "I live
in Lisbon", alternating between workers), likes, employers, task requests, questions and
``/delete_episode`` / ``/delete_belief`` mixed in.  Each stored turn carries a unique
marker, so the database can be checked afterwards against what the workers were told:

* no exception in any worker, and every governance call succeeded or found its target
  already gone (another worker deleted it): never a store failure;
* every turn is stored exactly once (its marker in exactly one episode, with the id and
  user the worker was given), except the episodes a worker deleted, which are gone;
* 0 orphans and no other ``check`` violation;
* each belief's history is complete: every change a surviving turn reported is a history
  row of that episode and every history row was reported (a lost update would leave a
  reported change without its row); each entry's old value is the previous entry's new
  value and the last one is the belief's value; the version counts the history;
* a user's episodes are stamped in id order; on PostgreSQL the server saw 0 deadlocks.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import re
import select
import threading
import time
import traceback
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, text

from memwarden.agent import Agent
from memwarden.clock import utcnow
from memwarden.errors import ConcurrencyConflict, StoreUnavailable
from memwarden.memory.beliefs import apply_facts, list_beliefs
from memwarden.memory.episodes import insert_episode
from memwarden.memory.facts import Fact
from memwarden.ops.integrity import run_check
from memwarden.ops.orphans import count_orphans
from memwarden.settings import Settings
from memwarden.store import Store

from .postgres import fresh_database

USERS = 4
CITIES = ("Porto", "Lisbon")
LIKES = ("tea", "coffee", "jazz", "hiking", "chess")
COMPANIES = ("Acme", "Globex", "Initech")
# One token of its own, so that recall does not find every turn by a shared word.
MARKER = re.compile(r"\b(m\d+x\d+)\b")


@dataclass(frozen=True)
class Outcome:
    """What one worker's turn did, as the worker saw it."""

    worker: int
    index: int
    user: str
    text: str
    episode_id: int | None
    ok: bool
    reply: str
    changes: tuple[tuple[int, str, str | None, str], ...]  # (belief, change, old, new)


def _text(worker: int, index: int, mine: list[int], beliefs: list[int]) -> str:
    """The worker's ``index``-th turn: deterministic, with a unique marker when stored."""
    marker = f"m{worker}x{index:03d}"
    kind = index % 10
    if kind in (0, 5):
        return f"I live in {CITIES[(worker + index // 10) % 2]}. {marker}"
    if kind == 1:
        return f"I like {LIKES[(worker + index) % len(LIKES)]}. {marker}"
    if kind == 2:
        return f"I work at {COMPANIES[(worker * 7 + index) % len(COMPANIES)]}. {marker}"
    if kind == 3:
        return f"Remind me to call the bank about form {worker}{index}. {marker}"
    if kind == 4:
        return f"Where do I live these days? {marker}"
    if kind == 6 and len(mine) > 2:
        return f"/delete_episode episode_{mine.pop(len(mine) // 2)}"
    if kind == 7 and beliefs:
        return f"/delete_belief belief_{beliefs[(worker + index) % len(beliefs)]}"
    return f"The weather was lovely on the walk today. {marker}"


def _marker(said: str) -> str:
    found = MARKER.search(said)
    assert found is not None, said
    return found[1]


def _work(url: str, worker: int, turns: int, start: Any, step: Any, results: Any) -> None:
    """One worker process: its own agent and pool, ``turns`` turns over all users, in
    rounds of 10 that all workers start together (``step``), so that the workers' turns
    interleave however fast or slow each one is (worker 0 embeds, the others do not)."""
    outcomes: list[Outcome] = []
    errors: list[str] = []
    try:
        # One worker also writes sentence vectors (loading the model costs every process
        # ~2 s of CPU, so the others are lexical-only).
        agent = Agent.open(Settings(db=url, embeddings=worker == 0, pool_size=2))
    except Exception:  # reported to the parent, which fails the test
        start.abort()
        results.put((worker, [], [traceback.format_exc()]))
        return
    mine: dict[str, list[int]] = defaultdict(list)
    try:
        start.wait(timeout=300)
    except threading.BrokenBarrierError:  # another worker failed to start
        agent.close()
        results.put((worker, [], [f"worker {worker}: the start was called off"]))
        return
    with agent:
        for index in range(turns):
            user = f"user-{(worker + index) % USERS}"
            try:
                beliefs: list[int] = []
                if index % 10 == 7:
                    with agent.store.read() as conn:
                        beliefs = [b.id for b in list_beliefs(conn, user)]
                said = _text(worker, index, mine[user], beliefs)
                result = agent.turn(user, said)
            except Exception:
                errors.append(f"worker {worker} turn {index}: {traceback.format_exc()}")
                continue
            finally:
                if index % 10 == 9 and not step.broken:
                    # A worker that died leaves the others waiting until the timeout
                    # breaks the barrier; the run is then no longer in rounds: say so.
                    try:
                        step.wait(timeout=120)
                    except threading.BrokenBarrierError:
                        errors.append(f"worker {worker} turn {index}: the rounds' barrier broke")
            if result.episode_id is not None:
                mine[user].append(result.episode_id)
            changes = tuple(
                (b.belief_id, b.change, b.old_value, b.new_value) for b in result.beliefs
            )
            outcomes.append(
                Outcome(
                    worker,
                    index,
                    user,
                    said,
                    result.episode_id,
                    result.ok,
                    result.reply,
                    changes,
                )
            )
    results.put((worker, outcomes, errors))


def _run_workers(url: str, workers: int, turns: int) -> tuple[list[Outcome], list[str], float]:
    """Start ``workers`` spawned processes together; their outcomes, errors and wall time."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(workers + 1)
    step = ctx.Barrier(workers)
    results = ctx.Queue()
    processes = [
        ctx.Process(target=_work, args=(url, w, turns, start, step, results))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a worker failed to start
        start.wait(timeout=300)  # every worker has opened its agent (and migrated, or waited)
    began = time.perf_counter()
    outcomes: list[Outcome] = []
    errors: list[str] = []
    reported = 0
    while reported < len(processes):
        try:
            _, found, failed = results.get(timeout=5)
        except queue.Empty:
            if any(process.is_alive() for process in processes):
                continue
            errors.append(f"{len(processes) - reported} workers died without a report")
            break
        reported += 1
        outcomes += found
        errors += failed
    seconds = time.perf_counter() - began
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0, f"worker exited with {process.exitcode}"
    return outcomes, errors, seconds


def _check_database(store: Store, outcomes: list[Outcome], workers: int, turns: int) -> None:
    assert len(outcomes) == workers * turns
    deleted = {
        int(o.text.rsplit("_", 1)[1]) for o in outcomes if o.text.startswith("/delete_episode")
    }
    for o in outcomes:
        if o.text.startswith("/"):
            # Succeeded, or its target was gone (deleted by another worker meanwhile).
            assert o.ok or o.reply.startswith(("No episode", "No belief")), (o.text, o.reply)
            if o.text.startswith("/delete_episode"):
                assert o.ok, (o.text, o.reply)  # workers delete only their own episodes
    stored = {_marker(o.text): o for o in outcomes if o.episode_id is not None}
    assert len(stored) == sum(1 for o in outcomes if not o.text.startswith("/"))
    assert deleted and deleted <= {o.episode_id for o in stored.values()}

    with store.read() as conn:
        rows = conn.execute(text("SELECT id, user_id, ts, user_input FROM episodes ORDER BY id"))
        episodes = [(int(r[0]), str(r[1]), r[2], str(r[3])) for r in rows]
        history = conn.execute(
            text(
                "SELECT belief_id, episode_id, change, old_value, new_value FROM belief_history "
                "ORDER BY belief_id, id"
            )
        ).all()
        beliefs = {
            int(r[0]): (str(r[1]), int(r[2]))
            for r in conn.execute(text("SELECT id, value, version FROM semantic_beliefs"))
        }
        orphans = count_orphans(conn)
    assert sum(orphans.values()) == 0, orphans
    assert [v.check for v in run_check(store).violations] == []

    # Exactly once: each surviving turn's marker in one episode, with its id and user.
    seen = Counter(m[1] for _, _, _, body in episodes for m in [MARKER.search(body)] if m)
    expected = {k for k, o in stored.items() if o.episode_id not in deleted}
    assert set(seen) == expected
    assert max(seen.values()) == 1
    by_id = {e[0]: e for e in episodes}
    assert len(by_id) == len(expected)
    for marker in expected:
        o = stored[marker]
        assert o.episode_id is not None
        assert by_id[o.episode_id][1] == o.user and marker in by_id[o.episode_id][3]

    # Ordered: a user's episodes are stamped in id (commit) order.
    last: dict[str, Any] = {}
    for _, user, ts, _ in episodes:
        assert user not in last or last[user] <= ts
        last[user] = ts

    # History complete: reported changes of surviving turns <-> history rows, and chains.
    reported = {
        (belief, o.episode_id, new): (change, old)
        for o in stored.values()
        if o.episode_id not in deleted
        for belief, change, old, new in o.changes
        if belief in beliefs
    }
    rows_by_key = {(int(h[0]), int(h[1]), str(h[4])): (str(h[2]), h[3]) for h in history}
    assert len(rows_by_key) == len(history)
    assert rows_by_key.keys() <= reported.keys()  # no history row that no turn reported
    # Every reported change has its row, except those of a belief /delete_belief removed
    # (SQLite may then give its id to a new belief: ids without AUTOINCREMENT are reused).
    removed = {
        int(o.text.rsplit("_", 1)[1])
        for o in outcomes
        if o.text.startswith("/delete_belief") and o.ok
    }
    assert {k for k in reported.keys() - rows_by_key.keys() if k[0] not in removed} == set()
    touched = {b for o in stored.values() if o.episode_id in deleted for b, *_ in o.changes}
    chains: dict[int, list[Any]] = defaultdict(list)
    for h in history:
        chains[int(h[0])].append(h)
    assert set(chains) == set(beliefs)
    for belief, entries in chains.items():
        value, version = beliefs[belief]
        assert entries[0][2] == "created" and entries[0][3] is None
        for before, after in pairwise(entries):
            assert after[3] == before[4], f"belief {belief}: lost update between {before} {after}"
        assert entries[-1][4] == value
        if belief in touched:
            assert version >= len(entries)
        else:
            assert version == len(entries)
            for h in entries:
                assert reported[(belief, int(h[1]), str(h[4]))] == (h[2], h[3])
    # The run did contend: beliefs changed value under writers of several processes.
    writers: dict[int, set[int]] = defaultdict(set)
    for o in outcomes:
        for belief, change, _, _ in o.changes:
            if change == "updated":
                writers[belief].add(o.worker)
    # (How many depends on how the turns interleave, and a deleted belief comes back
    # under a new id: 4 x 60 on SQLite gave 5-6 beliefs changed by two or more workers.)
    assert sum(len(w) >= 2 for w in writers.values()) >= 3


@pytest.fixture
def pg_url() -> Iterator[str]:
    yield from fresh_database()


@pytest.mark.postgres
def test_workers_write_postgres_without_loss_or_deadlock(pg_url: str) -> None:
    workers, turns = 8, 200
    # The database is blank: the workers migrate it together (one at a time, by lock).
    outcomes, errors, seconds = _run_workers(pg_url, workers, turns)
    assert errors == []
    store = Store.open(Settings(db=pg_url), migrate=False)
    try:
        store.require_head()
        _check_database(store, outcomes, workers, turns)
        with store.read() as conn:
            deadlocks = conn.execute(
                text("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            ).scalar_one()
        assert deadlocks == 0
    finally:
        store.close()
    print(f"\n{workers} processes x {turns} turns on PostgreSQL: {seconds:.1f} s")


def test_workers_write_sqlite_without_loss(tmp_path: Path) -> None:
    # Smaller than on PostgreSQL to keep the file fast: starting a process costs ~1.5 s.
    workers, turns = 4, 60
    settings = Settings(db=str(tmp_path / "many.db"))
    outcomes, errors, seconds = _run_workers(settings.database_url(), workers, turns)
    assert errors == []
    store = Store.open(settings, migrate=False)
    try:
        _check_database(store, outcomes, workers, turns)
    finally:
        store.close()
    print(f"\n{workers} processes x {turns} turns on SQLite: {seconds:.1f} s")


# -- two writers on one belief -------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def both(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(db=str(tmp_path / "belief.db"))
    else:
        for url in fresh_database():
            yield Settings(db=url)


def _history(store: Store, user: str) -> list[tuple[str, str | None, str]]:
    with store.read() as conn:
        rows = conn.execute(
            text(
                "SELECT change, old_value, new_value FROM belief_history "
                "WHERE user_id = :u ORDER BY id"
            ),
            {"u": user},
        )
        return [(str(r[0]), r[1], str(r[2])) for r in rows]


def test_belief_updates_concurrent_both_land_in_history(both: Settings) -> None:
    with Agent.open(both.model_copy(update={"embeddings": False})) as agent:
        agent.turn("ana", "I live in Porto.")
        cities = ["Lisbon", "Madrid", "Berlin", "Vienna", "Oslo", "Dublin"]
        for first, second in zip(cities[::2], cities[1::2], strict=True):
            ready = threading.Barrier(2)
            failures: list[BaseException] = []

            def say(
                city: str,
                ready: threading.Barrier = ready,
                failures: list[BaseException] = failures,
            ) -> None:
                ready.wait()
                try:
                    agent.turn("ana", f"I live in {city}.")
                except BaseException as e:  # re-raised below, in the test's thread
                    failures.append(e)

            threads = [threading.Thread(target=say, args=(c,)) for c in (first, second)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert failures == []
        entries = _history(agent.store, "ana")
        with agent.store.read() as conn:
            location = next(b for b in list_beliefs(conn, "ana") if b.key == "location")
    assert len(entries) == 1 + len(cities)
    assert sorted(e[2] for e in entries[1:]) == sorted(cities)
    assert entries[0] == ("created", None, "Porto")
    for before, after in pairwise(entries):
        assert after == ("updated", before[2], after[2])
    assert location.value == entries[-1][2] and location.version == len(entries)


def test_belief_update_waits_for_user_lock_and_reads_fresh(both: Settings) -> None:
    store = Store.open(both)
    try:
        with store.write("ana") as conn:
            apply_facts(conn, "ana", _episode(conn), [Fact("location", "Porto")], utcnow())
        done = threading.Event()
        second: list[Any] = []

        def later() -> None:
            with store.write("ana") as conn:
                second.extend(apply_facts(conn, "ana", _episode(conn), [_city("Madrid")], utcnow()))
            done.set()

        with store.write("ana") as conn:
            first = apply_facts(conn, "ana", _episode(conn), [_city("Lisbon")], utcnow())
            thread = threading.Thread(target=later)
            thread.start()
            # The second writer cannot apply anything while this transaction holds the lock.
            assert not done.wait(0.3)
        thread.join(timeout=10)
        assert done.is_set()
    finally:
        store.close()
    assert [(c.change, c.old_value, c.new_value) for c in first] == [("updated", "Porto", "Lisbon")]
    assert [(c.change, c.old_value, c.new_value) for c in second] == [
        ("updated", "Lisbon", "Madrid")
    ]


# -- conflicts the store reports as retryable, and the agent's retry -----------------------


@pytest.mark.postgres
def test_store_serialization_failure_is_concurrency_conflict(pg_url: str) -> None:
    store = Store.open(Settings(db=pg_url))
    try:
        with store.write("ana") as conn:
            apply_facts(conn, "ana", _episode(conn), [Fact("location", "Porto")], utcnow())
        with pytest.raises(ConcurrencyConflict, match="serialize"), store.write() as stale:
            stale.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            stale.execute(text("SELECT version FROM semantic_beliefs")).all()  # the snapshot
            with store.write("ana") as conn:
                apply_facts(conn, "ana", _episode(conn), [_city("Lisbon")], utcnow())
            stale.execute(text("UPDATE semantic_beliefs SET version = version + 1"))
        assert _history(store, "ana")[-1] == ("updated", "Porto", "Lisbon")
    finally:
        store.close()


@pytest.mark.postgres
def test_store_lock_timeout_is_concurrency_conflict(pg_url: str) -> None:
    store = Store.open(Settings(db=pg_url, busy_timeout_ms=100))
    try:
        with store.write("ana"):
            started = time.perf_counter()
            with pytest.raises(ConcurrencyConflict, match="lock timeout"), store.write("ana"):
                pass
            assert time.perf_counter() - started >= 0.1
            with store.write("bob"):  # another user's writer does not wait for ana's
                pass
    finally:
        store.close()


@pytest.mark.postgres
def test_store_deadlock_is_concurrency_conflict(pg_url: str) -> None:
    store = Store.open(Settings(db=pg_url))
    lock = "SELECT pg_advisory_xact_lock(4242, {})"
    both_hold = threading.Barrier(2)
    other_error: list[BaseException] = []

    def other() -> None:
        try:
            with store.write() as conn:
                conn.exec_driver_sql(lock.format(2))
                both_hold.wait()
                conn.exec_driver_sql(lock.format(1))  # waits until the victim rolls back
        except BaseException as e:
            other_error.append(e)

    try:
        thread = threading.Thread(target=other)
        with pytest.raises(ConcurrencyConflict, match="deadlock"), store.write() as conn:
            conn.exec_driver_sql("SET LOCAL deadlock_timeout = 50")  # this one is the victim
            conn.exec_driver_sql(lock.format(1))
            thread.start()
            both_hold.wait()
            conn.exec_driver_sql(lock.format(2))
        thread.join(timeout=10)
        assert other_error == []
    finally:
        store.close()


_LOCK_WAITERS = text(
    "SELECT a.pid, a.xact_start FROM pg_locks AS l JOIN pg_stat_activity AS a USING (pid) "
    "WHERE NOT l.granted AND l.locktype = 'advisory' AND l.pid <> pg_backend_pid() "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@pytest.mark.postgres
def test_turn_retries_while_user_is_locked(pg_url: str) -> None:
    settings = Settings(db=pg_url, busy_timeout_ms=50, embeddings=False)
    with Agent.open(settings) as agent:
        held = threading.Event()
        refused: list[bool] = []

        def waiters() -> set[tuple[int, Any]]:
            with agent.store.read() as conn:
                return {(r[0], r[1]) for r in conn.execute(_LOCK_WAITERS)}

        def hold() -> None:
            # Hold the user's lock until the turn's first wait for it has ended: as the
            # lock is still held, that transaction was refused (55P03 after the 50 ms
            # lock_timeout), and the turn must retry in a new one to succeed.
            deadline = time.monotonic() + 10
            with agent.store.write("ana"):
                held.set()
                while not (first := waiters()) and time.monotonic() < deadline:
                    time.sleep(0.002)
                while first and first <= waiters() and time.monotonic() < deadline:
                    time.sleep(0.002)
                refused.append(bool(first) and time.monotonic() < deadline)

        thread = threading.Thread(target=hold)
        thread.start()
        held.wait(timeout=10)
        result = agent.turn("ana", "I live in Porto.")
        thread.join(timeout=10)
        assert refused == [True]
        assert result.episode_id is not None
        assert _history(agent.store, "ana") == [("created", None, "Porto")]


def _city(name: str) -> Fact:
    return Fact("location", name)


def _episode(conn: Connection) -> int:
    return insert_episode(
        conn,
        user_id="ana",
        ts=utcnow(),
        user_input="I moved.",
        draft="ok",
        reply="ok",
        action="NONE",
        draft_total_score=0.0,
        final_score=0.0,
    )


# -- pooling -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_pool_settings_reach_postgres_engine(pg_url: str) -> None:
    settings = Settings(
        db=pg_url, pool_size=2, max_overflow=1, pool_timeout_s=0.2, pool_recycle_s=60
    )
    store = Store.open(settings)
    try:
        pool: Any = store.engine.pool
        assert (pool.size(), pool._max_overflow, pool._timeout) == (2, 1, 0.2)
        assert (pool._recycle, pool._pre_ping) == (60, False)
        with store.read() as conn:
            assert conn.execute(text("SHOW lock_timeout")).scalar_one() == "5s"
        with store.read(), store.read(), store.read():  # pool_size + max_overflow in use
            started = time.perf_counter()
            with (
                pytest.raises(StoreUnavailable, match="no free database connection"),
                store.read(),
            ):
                pass
            assert time.perf_counter() - started >= 0.2
    finally:
        store.close()


@pytest.mark.postgres
def test_pool_checkout_replaces_a_connection_the_server_closed(pg_url: str) -> None:
    store = Store.open(Settings(db=pg_url, pool_size=1, max_overflow=0))
    admin = Store.open(Settings(db=pg_url, pool_size=1, max_overflow=0))
    try:
        with store.read() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
            socket = conn.connection.dbapi_connection.fileno()  # type: ignore[union-attr]
        with admin.read() as conn:
            assert conn.execute(text(f"SELECT pg_terminate_backend({pid})")).scalar_one()
        # The pooled connection is now dead: the server's FATAL message arrives on its
        # socket (checked here so the test cannot pass by reusing a live connection).
        poller = select.poll()
        poller.register(socket, select.POLLIN)
        deadline = time.monotonic() + 5
        while not poller.poll(10) and time.monotonic() < deadline:
            pass
        assert poller.poll(0), "the server did not end the connection"
        with store.read() as conn:  # no pre-ping round trip, yet no error
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        store.close()
        admin.close()
