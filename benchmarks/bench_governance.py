"""Governance latency on a large database: /trace, /export_memory, /delete_episode.

    python -m benchmarks.bench_governance [--episodes 1000000] [--users 1000] [--samples 300]

Builds (once, cached under /tmp) a database of N episodes across U users through the
real schema and triggers: one user with 100,000 episodes, 100 users with exactly 1,000,
the rest spread over the others, interleaved in time; every episode has a realistic
trace (3 recalled memories, recorded in ``episode_recalls`` as a turn records them) and
a risk_log row, both with ids in per-user blocks as the store hands them out
(``store/blocks.py``), and every user has beliefs with history and sources, and tasks
with events.  The measurements run on a copy, so the cache stays
pristine, read through once first so that the OS page cache holds it.  It prints the
machine, the data size, the CPU's steadiness before and after (a fixed loop's p50 and
p95), and p50/p95/p99 of:

- /trace (random episodes of random users);
- /export_memory for users with 1,000 episodes (to /dev/null), after a warm-up of 4
  exports of other users (the first one printed);
- export throughput and peak RSS for the user with 100,000 episodes (fresh process);
- /delete_episode (random episodes), with the WAL checkpoint's share;
- with ``--writes-between N``: /delete_episode again, each after N audited /trace calls
  (a write each), whose WAL frames the delete's checkpoint then copies too;
- FTS5 alternatives: delete with secure-delete off, then one 'optimize'.

Every call goes through :class:`memwarden.governance.Governance`, audit row included,
on the store as shipped (its pooled connections).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from memwarden.governance import Governance
from memwarden.logs import configure_logging
from memwarden.settings import Settings
from memwarden.store import Store, textindex
from memwarden.store.blocks import next_in_block
from memwarden.store.engine import sqlite_module
from memwarden.store.sqlite_library import memory_stats_off

from .machine import describe, steadiness

BIG_USER = "user0000"
WORDS = (
    "garden coffee train museum concert recipe dentist meeting project budget holiday "
    "flight passport sister brother dog cat hiking running book movie piano guitar weather "
    "office deadline report invoice birthday party dinner market bicycle repair school exam"
).split()
CITIES = ["Porto", "Berlin", "Lisbon", "Madrid", "Oslo", "Vienna", "Prague", "Dublin"]


def user_counts(n_episodes: int, n_users: int, big: int, exact: int, n_exact: int) -> list[int]:
    """Episodes per user: user 0 has ``big``, users 1..n_exact have ``exact``, the rest
    share what is left."""
    counts = [big] + [exact] * n_exact
    rest_users = n_users - len(counts)
    left = n_episodes - sum(counts)
    if rest_users <= 0 or left < rest_users:
        raise SystemExit("not enough episodes for that many users")
    counts += [left // rest_users + (1 if i < left % rest_users else 0) for i in range(rest_users)]
    return counts


def build(path: Path, n_episodes: int, n_users: int, big: int, seed: int = 7) -> None:
    """Bulk-load the database through memwarden's schema and full-text triggers."""
    tmp = path.with_name(path.name + ".building")
    for suffix in ("", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    Store.open(Settings(db=str(tmp))).close()  # migrations: tables, indexes, FTS, triggers
    rng = random.Random(seed)
    counts = user_counts(n_episodes, n_users, big, 1000, min(100, n_users - 1))
    order = [u for u, c in enumerate(counts) for _ in range(c)]
    rng.shuffle(order)
    users = [f"user{u:04d}" for u in range(n_users)]
    start = datetime(2026, 1, 1)
    ids = block_ids(order)

    conn = sqlite_module().connect(str(tmp))
    textindex.register(conn)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -262144")
    recent: dict[int, list[tuple[int, str]]] = {}
    batch_e: list[tuple[Any, ...]] = []
    batch_r: list[tuple[Any, ...]] = []
    batch_refs: list[tuple[Any, ...]] = []  # what each turn recalled, as the agent records it
    t0 = time.perf_counter()

    def flush() -> None:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO episodes (id, user_id, ts, user_input, draft, reply, action, "
            "draft_total_score, final_score, trace) VALUES (?,?,?,?,?,?,?,?,?,?)",
            batch_e,
        )
        conn.executemany(
            "INSERT INTO risk_log (id, user_id, episode_id, ts, draft_total_score, "
            "final_score, action, scores, details) VALUES (?,?,?,?,?,?,?,?,?)",
            batch_r,
        )
        conn.executemany(
            "INSERT INTO episode_recalls (episode_id, user_id, kind, ref_id) "
            "VALUES (?,?,'episode',?)",
            batch_refs,
        )
        conn.execute("COMMIT")
        batch_e.clear()
        batch_r.clear()
        batch_refs.clear()

    for i, u in enumerate(order):
        episode_id = ids[i]
        user = users[u]
        ts = (start + timedelta(seconds=i * 3)).isoformat(sep=" ", timespec="microseconds")
        a, b = rng.choice(WORDS), rng.choice(WORDS)
        text = f"I went to the {a} with my {b} in {rng.choice(CITIES)} and it was lovely, honestly."
        draft = f"Noted. That connects to something you said before about the {a} and the {b}."
        mine = recent.setdefault(u, [])
        recalled = [
            {
                "kind": "episode",
                "id": eid,
                "text": etext,
                "score": round(1.0 - k * 0.2, 2),
                "lexical": round(rng.uniform(0.5, 3.0), 4),
                "matched": [a],
            }
            for k, (eid, etext) in enumerate(rng.sample(mine, min(3, len(mine))))
        ]
        trace = {
            "recalled": recalled,
            "drafts": [draft],
            "timings_ms": {"extract_ms": 0.2, "recall_ms": 2.1, "draft_ms": 0.1, "gate_ms": 0.4},
            "llm": "builtin",
        }
        flagged = rng.random() < 0.05
        score = 1.5 if flagged else 0.0
        details = {
            "categories": [
                {
                    "category": "pii",
                    "score": score,
                    "spans": [{"start": 10, "end": 22, "text": "555-0100 123", "reason": "phone"}],
                }
            ]
            if flagged
            else [],
            "attempts": [],
            "final_score": 0.0,
        }
        batch_e.append(
            (
                episode_id,
                user,
                ts,
                text,
                draft,
                draft,
                "REWRITE" if flagged else "NONE",
                score,
                0.0,
                json.dumps(trace),
            )
        )
        batch_r.append(
            (
                episode_id,  # the same block rule over the same users gives the same ids
                user,
                episode_id,
                ts,
                score,
                0.0,
                "REWRITE" if flagged else "NONE",
                json.dumps({"pii": score} if flagged else {}),
                json.dumps(details),
            )
        )
        batch_refs.extend((episode_id, user, m["id"]) for m in recalled)
        mine.append((episode_id, text))
        if len(mine) > 20:
            mine.pop(0)
        if len(batch_e) >= 50_000:
            flush()
            done = i + 1
            rate = done / (time.perf_counter() - t0)
            print(f"  {done:,} episodes ({rate:,.0f}/s)", file=sys.stderr, flush=True)
    if batch_e:
        flush()
    _beliefs_and_tasks(conn, users, order, ids, rng, start)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    store = Store.open(Settings(db=str(tmp)))
    store.optimize()  # as an operator does after a bulk import: one FTS segment, ANALYZE
    store.close()
    conn = sqlite_module().connect(str(tmp))
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)
    os.replace(tmp, path)


def block_ids(order: list[int]) -> list[int]:
    """The ids the store hands out (``store/blocks.py``) to turns of users in ``order``."""
    newest: dict[int, int] = {}
    top = 0
    out = []
    for u in order:
        episode_id = next_in_block(newest.get(u), top)
        newest[u] = episode_id
        top = max(top, episode_id)
        out.append(episode_id)
    return out


def _beliefs_and_tasks(
    conn: Any,
    users: list[str],
    order: list[int],
    episode_ids: list[int],
    rng: random.Random,
    start: datetime,
) -> None:
    """10 beliefs (2 history entries, 2 sources each) and 3 tasks (2 events each) a user."""
    first_ids: dict[int, list[int]] = {}
    for u, episode_id in zip(order, episode_ids, strict=True):
        ids = first_ids.setdefault(u, [])
        if len(ids) < 40:
            ids.append(episode_id)
    ts = start.isoformat(sep=" ", timespec="microseconds")
    conn.execute("BEGIN")
    belief_id = task_id = 0
    for u, user in enumerate(users):
        ids = first_ids[u]
        for k in range(10):
            belief_id += 1
            city_a, city_b = rng.sample(CITIES, 2)
            key = f"plan:trip{k}"
            conn.execute(
                "INSERT INTO semantic_beliefs (id, user_id, key, value, statement, confidence, "
                "version, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    belief_id,
                    user,
                    key,
                    f"visit {city_b}",
                    f"User plans to visit {city_b}",
                    0.7,
                    2,
                    ts,
                    ts,
                ),
            )
            e1, e2 = ids[2 * k], ids[2 * k + 1]
            conn.executemany(
                "INSERT INTO belief_history (user_id, belief_id, episode_id, ts, change, "
                "old_value, new_value, confidence) VALUES (?,?,?,?,?,?,?,?)",
                [
                    (user, belief_id, e1, ts, "created", None, f"visit {city_a}", 0.7),
                    (user, belief_id, e2, ts, "updated", f"visit {city_a}", f"visit {city_b}", 0.7),
                ],
            )
            conn.executemany(
                "INSERT INTO belief_sources (belief_id, episode_id, user_id, ts) VALUES (?,?,?,?)",
                [(belief_id, e1, user, ts), (belief_id, e2, user, ts)],
            )
        for k in range(3):
            task_id += 1
            conn.execute(
                "INSERT INTO tasks (id, user_id, title, status, created_at, updated_at, "
                "source_episode_id) VALUES (?,?,?,?,?,?,?)",
                (
                    task_id,
                    user,
                    f"Call the {rng.choice(WORDS)} people",
                    "done",
                    ts,
                    ts,
                    ids[30 + k],
                ),
            )
            conn.executemany(
                "INSERT INTO task_events (user_id, task_id, ts, event, episode_id, detail) "
                "VALUES (?,?,?,?,?,?)",
                [
                    (user, task_id, ts, "created", ids[30 + k], '{"title": "x"}'),
                    (user, task_id, ts, "completed", None, '{"from": "open", "to": "done"}'),
                ],
            )
    conn.execute("COMMIT")


# -- measuring ------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49]:.2f}  p95 {q[94]:.2f}  p99 {q[98]:.2f}  max {max(samples):.2f} ms"


_cpu: list[float] = []  # CPU ms of the calls timed since the last report


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    """Wall-clock ms of ``call`` (its CPU ms go to ``_cpu``: steadier on a shared box)."""
    t0, c0 = time.perf_counter(), time.process_time()
    result = call()
    _cpu.append((time.process_time() - c0) * 1000)
    return (time.perf_counter() - t0) * 1000, result


def cpu() -> str:
    """Median CPU ms of the calls timed since the last report."""
    value = f"(CPU p50 {statistics.median(_cpu):.2f} ms)" if _cpu else ""
    _cpu.clear()
    return value


def user_episodes(path: Path, user: str) -> list[int]:
    conn = sqlite_module().connect(str(path))
    ids = [r[0] for r in conn.execute("SELECT id FROM episodes WHERE user_id = ?", (user,))]
    conn.close()
    return ids


def run_latencies(
    gov: Governance, path: Path, samples: int, rng: random.Random, label: str, n_users: int
) -> None:
    mid_users = [f"user{u:04d}" for u in range(101, n_users)] or [BIG_USER]
    exact_users = [f"user{u:04d}" for u in range(1, 101)]
    picks = [
        (u, rng.choice(user_episodes(path, u)))
        for u in rng.sample(mid_users, min(60, len(mid_users)))
    ]
    for _ in range(20):  # warm-up
        gov.trace(*rng.choice(picks))
    _cpu.clear()
    trace_ms = []
    for _ in range(samples):
        user, episode = rng.choice(picks)
        ms, result = timed(lambda u=user, e=episode: gov.trace(u, e))
        assert result.ok, result.reply
        trace_ms.append(ms)
    print(f"[{label}] /trace                       {percentiles(trace_ms)} {cpu()}")

    with open(os.devnull, "w", encoding="utf-8") as sink:
        # Warm-up, as for /trace: the first exports on a connection prepare their SQL
        # statements (6.2, 5.0, 4.6 ms for the first three, then ~3.7, measured).  The
        # first is printed; the others are other users than the measured ones.
        first_ms, first = timed(lambda: gov.export_memory(mid_users[0], out=sink))
        assert first.ok, first.reply
        for user in mid_users[1:4]:
            assert gov.export_memory(user, out=sink).ok
        _cpu.clear()
        export_ms = []
        for k in range(max(20, samples // 3)):
            user = exact_users[k % len(exact_users)]
            ms, result = timed(lambda u=user: gov.export_memory(u, out=sink))
            assert result.ok and result.result.counts["episodes"] == 1000, result.reply
            export_ms.append(ms)
    print(f"[{label}] /export_memory (1,000 ep.)   {percentiles(export_ms)} {cpu()}")
    print(f"[{label}]   first export of the process {first_ms:.2f} ms ({mid_users[0]})")

    _cpu.clear()
    delete_ms, checkpoint_ms = [], []
    for user in rng.sample(mid_users, min(samples, len(mid_users))):
        episode = rng.choice(user_episodes(path, user))
        ms, result = timed(lambda u=user, e=episode: gov.delete_episode(u, e))
        assert result.ok, result.reply
        delete_ms.append(ms)
        checkpoint_ms.append(result.result.checkpoint.ms)
    print(f"[{label}] /delete_episode              {percentiles(delete_ms)} {cpu()}")
    print(f"[{label}]   of which WAL checkpoint    {percentiles(checkpoint_ms)}")


def deletes_after_writes(gov: Governance, path: Path, writes: int, rng: random.Random) -> None:
    """/delete_episode when other calls wrote since the last checkpoint: ``writes``
    audited /trace calls before each delete (the measured runs above delete back to
    back, so each one's checkpoint copies only its own pages)."""
    users = rng.sample([f"user{u:04d}" for u in range(101, 1000)], 120)
    traced = [(u, rng.choice(user_episodes(path, u))) for u in users[:60]]
    delete_ms, checkpoint_ms = [], []
    for user in users[60:]:
        episode = rng.choice(user_episodes(path, user))
        for k in range(writes):
            assert gov.trace(*traced[k % len(traced)]).ok
        ms, result = timed(lambda u=user, e=episode: gov.delete_episode(u, e))
        assert result.ok, result.reply
        delete_ms.append(ms)
        checkpoint_ms.append(result.result.checkpoint.ms)
    label = f"after {writes} writes"
    print(f"[{label}] /delete_episode      {percentiles(delete_ms)} {cpu()}")
    print(f"[{label}]   of which WAL checkpoint {percentiles(checkpoint_ms)}")


def read_through(path: Path) -> float:
    """Read ``path`` once (into the OS page cache); the seconds it took."""
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass
    return time.perf_counter() - t0


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def export_child(db: str, user: str, out: str) -> None:
    """Export one user in this (fresh) process; print seconds, bytes and memory: RSS
    before the export and the process's high-water mark (VmHWM) after it."""
    devnull = open(os.devnull, "w")  # noqa: SIM115 - the log stream lives as the process
    configure_logging(Settings(db=db, log_level="WARNING"), stream=devnull)
    with Governance.open(Settings(db=db)) as gov:
        gov.trace(user, 1)  # warm the imports and the connection path
        before = _status_kb("VmRSS")
        t0 = time.perf_counter()
        result = gov.export_memory(user, out=Path(out))
        seconds = time.perf_counter() - t0
    assert result.ok and result.result is not None, result.reply
    print(
        json.dumps(
            {
                "seconds": seconds,
                "bytes": result.result.bytes,
                "episodes": result.result.counts["episodes"],
                "rss_before_kb": before,
                "rss_peak_kb": _status_kb("VmHWM"),
            }
        )
    )


def row_floor(path: Path, samples: int) -> None:
    """What merely touching a 1,000-episode user's rows costs (fresh connection, no JSON)."""
    ms = []
    for k in range(samples):
        conn = sqlite_module().connect(str(path))
        user = f"user{1 + k % 100:04d}"
        t0 = time.perf_counter()
        conn.execute("SELECT length(trace) FROM episodes WHERE user_id = ?", (user,)).fetchall()
        conn.execute("SELECT length(details) FROM risk_log WHERE user_id = ?", (user,)).fetchall()
        ms.append((time.perf_counter() - t0) * 1000)
        conn.close()
    print(f"[floor] read 1,000 episodes + 1,000 risk rows {percentiles(ms)}")


def fts_alternatives(path: Path, samples: int, rng: random.Random, n_users: int) -> None:
    """Per-delete cost with FTS5 secure-delete off, and what one 'optimize' then costs."""
    conn = sqlite_module().connect(str(path))
    textindex.register(conn)
    conn.isolation_level = None
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("INSERT INTO episodes_fts(episodes_fts, rank) VALUES ('secure-delete', 0)")
    conn.close()
    with Governance.open(Settings(db=str(path))) as gov:
        ms_off = []
        for user in rng.sample(
            [f"user{u:04d}" for u in range(101, n_users)], min(samples, n_users - 101)
        ):
            episode = rng.choice(user_episodes(path, user))
            ms, result = timed(lambda u=user, e=episode: gov.delete_episode(u, e))
            assert result.ok
            ms_off.append(ms)
    print(f"[fts secure-delete OFF] /delete_episode {percentiles(ms_off)}")
    conn = sqlite_module().connect(str(path))
    conn.isolation_level = None
    conn.execute("PRAGMA secure_delete = ON")
    t0 = time.perf_counter()
    conn.execute("INSERT INTO episodes_fts(episodes_fts) VALUES ('optimize')")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(
        f"[fts secure-delete OFF] then one 'optimize' + checkpoint: {time.perf_counter() - t0:.1f} s"
        " (needed after each delete to drop the deleted tokens from disk)"
    )
    conn.execute("INSERT INTO episodes_fts(episodes_fts, rank) VALUES ('secure-delete', 1)")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--big", type=int, default=100_000, help="episodes of the big user")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--skip-alternatives", action="store_true")
    parser.add_argument(
        "--writes-between",
        type=int,
        default=0,
        metavar="N",
        help="also measure deletes each after N audited /trace calls",
    )
    parser.add_argument(
        "--child-export", nargs=3, metavar=("DB", "USER", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child_export:
        export_child(*args.child_export)
        return

    cache = args.db or Path(
        f"/tmp/memwarden-bench-gov-{args.episodes}-{args.users}-{args.big}-v2.db"  # v2: blocks
    )
    if not cache.exists():
        t0 = time.perf_counter()
        build(cache, args.episodes, args.users, args.big)
        print(f"built {cache} in {time.perf_counter() - t0:.0f} s")
    work = cache.with_name(cache.name + ".work.db")
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    shutil.copyfile(cache, work)
    # Write the copy out before measuring: else the first checkpoint's fsync flushes ~2 GB
    # of it (a 0.45 s stall seen in /trace and /export) and the kernel's writeback of it
    # competes with the runs.  A deployment's file is not fresh from a copy.
    os.sync()
    # Then read it through, right before measuring: the runs measure a server whose file
    # is in the OS page cache, not the disk.  A copy is not all cached (sendfile), and
    # some VMs page out cache left idle (this box's DAMON: ~60 s), so that without this
    # a user's first export read part of its pages from disk (a p95 of 30 ms, measured).
    warm_s = read_through(work)

    print(describe())
    print(f"nproc: {os.cpu_count()}; load average: {os.getloadavg()[0]:.2f}")
    print(f"page cache: the copy read through once before measuring ({warm_s:.1f} s)")
    conn = sqlite_module().connect(str(work))
    sizes = {
        t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for t in (
            "episodes",
            "risk_log",
            "semantic_beliefs",
            "belief_history",
            "tasks",
            "task_events",
        )
    }
    conn.close()
    print(
        f"data: {work.stat().st_size / 2**20:,.0f} MiB; "
        + ", ".join(f"{t} {n:,}" for t, n in sizes.items())
    )
    print(f"users: {args.users:,} ({BIG_USER}: {args.big:,} episodes; 100 users with 1,000)")

    devnull = open(os.devnull, "w")  # noqa: SIM115 - the log stream lives as the process
    configure_logging(Settings(db=str(work)), stream=devnull)
    rng = random.Random(5)
    with Governance.open(Settings(db=str(work))) as gov:
        off = memory_stats_off(sqlite_module())
        print(f"SQLite memory statistics: {'off' if off else 'on'} (store/sqlite_library.py)")
        print(f"before: {steadiness()}")
        run_latencies(gov, work, args.samples, rng, "as shipped", args.users)
        print(f"after:  {steadiness()}")
        if args.writes_between > 0:
            deletes_after_writes(gov, work, args.writes_between, rng)

    out = Path("/tmp/memwarden-bench-gov-export.json")
    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.bench_governance",
            "--child-export",
            str(work),
            BIG_USER,
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    stats = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"[as shipped] export of {stats['episodes']:,} episodes: {stats['seconds']:.2f} s, "
        f"{stats['episodes'] / stats['seconds']:,.0f} episodes/s, "
        f"{stats['bytes'] / stats['seconds'] / 2**20:.1f} MiB/s, {stats['bytes'] / 2**20:.0f} MiB; "
        f"RSS {stats['rss_before_kb'] / 1024:.0f} MiB before, peak {stats['rss_peak_kb'] / 1024:.0f} MiB"
    )
    out.unlink(missing_ok=True)

    row_floor(work, max(20, args.samples // 3))
    if not args.skip_alternatives:
        fts_alternatives(work, min(args.samples, 100), rng, args.users)
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)


if __name__ == "__main__":
    main()
