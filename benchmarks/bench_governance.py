"""Governance latency on a large database: /trace, /export_memory, /delete_episode.

    python -m benchmarks.bench_governance [--episodes 1000000] [--users 1000] [--samples 300]

Builds (once, cached under /tmp) the database of :mod:`.governance_data`: one user with
``--big`` episodes, 100 users with exactly 1,000, the rest spread over the others.  The
measurements run on a copy, so the cache stays pristine, read through once first so that
the OS page cache holds it.  It prints the machine, the data size, the CPU's steadiness
before and after (a fixed loop's p50 and p95), and p50/p95/p99 of:

- /trace (random episodes of random users);
- /export_memory for users with 1,000 episodes (to /dev/null), after a warm-up of 4
  exports of other users (the first one printed);
- export throughput and peak RSS for the user with 100,000 episodes (fresh process);
- /delete_episode (random episodes), with the WAL checkpoint's share;
- with ``--writes-between N``: /delete_episode again, each after N audited /trace calls
  (a write each), whose WAL frames the delete's checkpoint then copies too;
- FTS5 alternatives: delete with secure-delete off, then one 'optimize'.

``--json FILE`` also writes every measured call's milliseconds, so that runs can be
pooled (:mod:`.pool_governance`).

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
from functools import partial
from pathlib import Path
from typing import Any

from memwarden.governance import Governance
from memwarden.logs import configure_logging
from memwarden.settings import Settings
from memwarden.store import textindex
from memwarden.store.engine import sqlite_module
from memwarden.store.sqlite_library import memory_stats_off

from .governance_data import BIG_USER, build
from .machine import describe, steadiness
from .percentiles import percentile

# -- measuring ------------------------------------------------------------------------------


def percentiles(samples: list[float]) -> str:
    p50, p95, p99 = (percentile(samples, q) for q in (50, 95, 99))
    return f"p50 {p50:.2f}  p95 {p95:.2f}  p99 {p99:.2f}  max {max(samples):.2f} ms"


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


Samples = dict[str, list[float]]  # per measured call, ms: what ``--json`` writes


def run_latencies(
    gov: Governance, path: Path, samples: int, rng: random.Random, label: str, n_users: int
) -> Samples:
    """Measure /trace, /export_memory and /delete_episode; print and return each call's ms."""
    mid_users = middle_users(n_users)
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
        ms, result = timed(partial(gov.trace, user, episode))
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
            ms, result = timed(partial(gov.export_memory, user, out=sink))
            assert result.ok and result.result.counts["episodes"] == 1000, result.reply
            export_ms.append(ms)
    print(f"[{label}] /export_memory (1,000 ep.)   {percentiles(export_ms)} {cpu()}")
    print(f"[{label}]   first export of the process {first_ms:.2f} ms ({mid_users[0]})")

    _cpu.clear()
    delete_ms, checkpoint_ms = [], []
    for user in rng.sample(mid_users, min(samples, len(mid_users))):
        episode = rng.choice(user_episodes(path, user))
        ms, result = timed(partial(gov.delete_episode, user, episode))
        assert result.ok, result.reply
        delete_ms.append(ms)
        checkpoint_ms.append(result.result.checkpoint.ms)
    print(f"[{label}] /delete_episode              {percentiles(delete_ms)} {cpu()}")
    print(f"[{label}]   of which WAL checkpoint    {percentiles(checkpoint_ms)}")
    return {
        "trace": trace_ms,
        "export": export_ms,
        "delete": delete_ms,
        "delete_checkpoint": checkpoint_ms,
    }


def middle_users(n_users: int) -> list[str]:
    """The users after the big one and the 100 with exactly 1,000 episodes."""
    return [f"user{u:04d}" for u in range(101, n_users)] or [BIG_USER]


def deletes_after_writes(
    gov: Governance, path: Path, writes: int, rng: random.Random, n_users: int
) -> Samples:
    """/delete_episode when other calls wrote since the last checkpoint: ``writes``
    audited /trace calls before each delete (the measured runs above delete back to
    back, so each one's checkpoint copies only its own pages).  Traced and deleted
    users are distinct: up to 60 each."""
    users = middle_users(n_users)
    users = rng.sample(users, min(120, len(users)))
    half = max(1, len(users) // 2)
    traced = [(u, rng.choice(user_episodes(path, u))) for u in users[:half]]
    delete_ms, checkpoint_ms = [], []
    for user in users[half:] or users:
        episode = rng.choice(user_episodes(path, user))
        for k in range(writes):
            assert gov.trace(*traced[k % len(traced)]).ok
        ms, result = timed(partial(gov.delete_episode, user, episode))
        assert result.ok, result.reply
        delete_ms.append(ms)
        checkpoint_ms.append(result.result.checkpoint.ms)
    label = f"after {writes} writes"
    print(f"[{label}] /delete_episode      {percentiles(delete_ms)} {cpu()}")
    print(f"[{label}]   of which WAL checkpoint {percentiles(checkpoint_ms)}")
    return {
        "delete_after_writes": delete_ms,
        "delete_after_writes_checkpoint": checkpoint_ms,
    }


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
            ms, result = timed(partial(gov.delete_episode, user, episode))
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
        "--json", type=Path, default=None, metavar="FILE", help="also write each call's ms here"
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
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        before = steadiness()
        print(f"before: {before}")
        samples = run_latencies(gov, work, args.samples, rng, "as shipped", args.users)
        after = steadiness()
        print(f"after:  {after}")
        if args.writes_between > 0:
            samples |= deletes_after_writes(gov, work, args.writes_between, rng, args.users)
    if args.json:
        record = {"started": started, "machine": describe(), "steadiness": [before, after]}
        args.json.write_text(json.dumps(record | {"ms": samples}), encoding="utf-8")

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
