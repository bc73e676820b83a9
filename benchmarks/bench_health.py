"""Benchmark: `memwarden health` (and friends) on a database with 1,000,000 episodes.

    python -m benchmarks.bench_health                  # build once, measure
    python -m benchmarks.bench_health --episodes 100000 --dir /tmp/b

The database is built once into ``--dir`` (reused while its episode count matches; a
database behind the migration head is upgraded, as production's would be, then
analyzed): ``--episodes`` turns by 2,000 users spread evenly over the last 30 days, one
risk_log row each (1 % REWRITE, 0.1 % BLOCK) and a trace recalling the user's three
turns before it (``episode_recalls``), 10 % as many beliefs, tasks and governance
calls, an embedding row per episode and belief, and a structured log rotated like the
real one.  It then times, best of ``--runs``, wall and CPU:

* ``collect_health`` in process (what the command computes), 6 h and 24 h windows;
* ``--review 72h`` and ``--review 30d`` in process;
* the ``memwarden health`` command end to end (a new Python process: imports included),
  next to ``memwarden --help`` (the CLI's start-up alone).  Their bytecode is cached
  under ``--dir`` as an installed package's would be (PYTHONDONTWRITEBYTECODE, if set,
  is dropped for them), after one untimed warm-up run;
* with ``--all``, one run each of ``check``, ``backup`` and ``restore``.

Prints the machine, the data size, the load average and a Markdown table for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from memwarden.clock import utcnow
from memwarden.ops.health import collect_health
from memwarden.ops.review import collect_review
from memwarden.ops.thresholds import load_thresholds
from memwarden.settings import Settings
from memwarden.store import Store, textindex
from memwarden.store.engine import sqlite_module
from memwarden.store.migrate import head_revision

from .machine import describe

USERS = 2000
BATCH = 20_000
WORDS = (
    "coffee berlin porto meeting gym dinner sister project deadline train weather book "
    "movie guitar garden python flight doctor bakery running chess museum recipe"
).split()


def _fmt(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S.%f")


def _batches(rows: Iterator[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def build(path: Path, n: int, log_file: Path) -> None:
    """A database of ``n`` episodes over 30 days, plus its structured log."""
    rng = random.Random(7)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    store = Store.open(Settings(db=str(path)))
    store.close()
    now = utcnow()
    start = now - timedelta(days=30)
    step = timedelta(days=30) / n
    raw = sqlite_module().connect(str(path))
    textindex.register(raw)  # the full-text triggers call mw_fts()
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=OFF")
    cur = raw.cursor()

    def trace(i: int) -> str:
        return json.dumps(
            {
                "recalled": [{"kind": "episode", "id": e, "score": 1.0} for e in earlier(i)],
                "drafts": ["x" * 60],
                "timings_ms": {"draft_ms": 1.0},
            }
        )

    def earlier(i: int) -> list[int]:
        """A turn recalls the user's three turns before it (``episode_recalls`` rows)."""
        return [e for e in (i - USERS, i - 2 * USERS, i - 3 * USERS) if e > 0]

    def episodes() -> Iterator[tuple[object, ...]]:
        for i in range(1, n + 1):
            roll = rng.random()
            action, score = (
                ("BLOCK", 3.0)
                if roll < 0.001
                else ("REWRITE", 1.0)
                if roll < 0.011
                else ("NONE", 0.0)
            )
            text = " ".join(rng.choices(WORDS, k=8))
            yield (
                i,
                f"user{i % USERS}",
                _fmt(start + step * i),
                text,
                "Noted. " + text,
                "Noted. " + text,
                action,
                score,
                0.0,
                trace(i),
            )

    t = time.perf_counter()
    for batch in _batches(episodes()):
        cur.executemany(
            "INSERT INTO episodes (id, user_id, ts, user_input, draft, reply, action, "
            "draft_total_score, final_score, trace) VALUES (?,?,?,?,?,?,?,?,?,?)",
            batch,
        )
        cur.executemany(
            "INSERT INTO risk_log (user_id, episode_id, ts, draft_total_score, final_score, "
            "action, scores, details) VALUES (?,?,?,?,?,?,'{}','{}')",
            [(r[1], r[0], r[2], r[7], 0.0, r[6]) for r in batch],
        )
        cur.executemany(
            "INSERT INTO episode_recalls (episode_id, user_id, kind, ref_id) "
            "VALUES (?,?,'episode',?)",
            [(r[0], r[1], e) for r in batch for e in earlier(cast(int, r[0]))],
        )
    print(f"  episodes + risk_log: {time.perf_counter() - t:.1f}s", file=sys.stderr)
    tenth = max(n // 10, 1)
    beliefs = [
        (
            i,
            f"user{i % USERS}",
            f"preference:{i}",
            "yes",
            f"User likes thing {i}",
            0.8,
            1,
            _fmt(start + step * i * 10),
            _fmt(start + step * i * 10),
        )
        for i in range(1, tenth + 1)
    ]
    cur.executemany(
        "INSERT INTO semantic_beliefs (id, user_id, key, value, statement, confidence, version, "
        "created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
        beliefs,
    )
    cur.executemany(
        "INSERT INTO belief_sources (belief_id, episode_id, user_id, ts) VALUES (?,?,?,?)",
        [(b[0], b[0] * 10, b[1], b[7]) for b in beliefs],
    )
    cur.executemany(
        "INSERT INTO belief_history (user_id, belief_id, episode_id, ts, change, new_value, "
        "confidence) VALUES (?,?,?,?,'created','yes',0.8)",
        [(b[1], b[0], b[0] * 10, b[7]) for b in beliefs],
    )
    cur.executemany(
        "INSERT INTO tasks (id, user_id, title, status, created_at, updated_at, source_episode_id) "
        "VALUES (?,?,?,'open',?,?,?)",
        [
            (
                i,
                f"user{i % USERS}",
                f"Task {i}",
                _fmt(start + step * i * 10),
                _fmt(start + step * i * 10),
                i * 10,
            )
            for i in range(1, tenth + 1)
        ],
    )
    cur.executemany(
        "INSERT INTO task_events (user_id, task_id, ts, event, episode_id) VALUES (?,?,?,'created',?)",
        [(f"user{i % USERS}", i, _fmt(start + step * i * 10), i * 10) for i in range(1, tenth + 1)],
    )
    # One embedding per episode and per belief, as with embeddings on (the default).  The
    # vectors are 16-byte stand-ins: the orphan count reads only the indexed owner ids.
    blob = bytes(16)
    cur.executemany(
        "INSERT INTO memory_vectors (user_id, episode_id, model, vector) VALUES (?, ?, 'bench', ?)",
        ((f"user{i % USERS}", i, blob) for i in range(1, n + 1)),
    )
    cur.executemany(
        "INSERT INTO memory_vectors (user_id, belief_id, model, vector) VALUES (?, ?, 'bench', ?)",
        ((b[1], b[0], blob) for b in beliefs),
    )
    commands = ["/export_memory", "/trace", "/task_events", "/delete_episode", "/delete_belief"]
    cur.executemany(
        "INSERT INTO governance_log (user_id, command, args, success, latency_ms, ts) "
        "VALUES (?,?,'[]',?,?,?)",
        [
            (
                f"user{i % USERS}",
                commands[i % 5],
                1 if rng.random() > 0.002 else 0,
                rng.lognormvariate(3.0, 0.5),
                _fmt(start + step * i * 10),
            )
            for i in range(1, tenth + 1)
        ],
    )
    raw.commit()
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.execute("ANALYZE")
    raw.close()
    _write_log(log_file, n)
    print(f"  built in {time.perf_counter() - t:.1f}s", file=sys.stderr)


def _write_log(log_file: Path, n: int) -> None:
    """The log as RotatingFileHandler leaves it (10 MB x 5 backups, a half-full current
    file, each backup's mtime its last line): one [EPISODE] line per episode, and a JSON
    warning every 5,000 episodes."""
    for old in log_file.parent.glob(log_file.name + "*"):
        old.unlink()
    now = datetime.now()
    step = timedelta(days=30) / n
    limits = [5 * 1024 * 1024] + [10 * 1024 * 1024] * 5
    files: list[list[str]] = [[] for _ in limits]
    newest: list[datetime] = [now for _ in limits]
    index, size, i = 0, 0, n
    while i > 0 and index < len(limits):
        ts = now - step * (n - i)
        line = (
            f"{ts:%Y-%m-%d %H:%M:%S},000 [EPISODE] Episode {i} created (score: 0.0, action: NONE)\n"
        )
        if i % 5000 == 0:
            line = (
                f"{ts:%Y-%m-%d %H:%M:%S},000 [WARNING] trace_decision: JSON parse failed for episode {i}\n"
                + line
            )
        if size + len(line) > limits[index]:
            index, size = index + 1, 0
            if index == len(limits):
                break
        if not files[index]:
            newest[index] = ts
        files[index].append(line)
        size += len(line)
        i -= 1
    for index, content in enumerate(files):
        target = log_file if index == 0 else Path(f"{log_file}.{index}")
        target.write_text("".join(reversed(content)))
        os.utime(target, (newest[index].timestamp(), newest[index].timestamp()))


def _cpu() -> float:
    """CPU seconds of this process and its finished children (user + system)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _best(fn: Callable[[], object], runs: int) -> tuple[float, float, float]:
    """(best wall, median wall, best CPU) seconds: CPU time hardly moves with the load
    other processes put on a shared machine, wall time does."""
    walls, cpus = [], []
    for _ in range(runs):
        c, t = _cpu(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(_cpu() - c)
    return min(walls), statistics.median(walls), min(cpus)


def _maintenance(db: Path, settings: Settings) -> list[tuple[str, float, float, float]]:
    """check, backup and restore once each (they scan or copy the whole database)."""
    from memwarden.ops.backup import backup, restore
    from memwarden.ops.integrity import run_check

    rows = []
    store = Store.open(settings, migrate=False)
    snap = db.with_name("bench_snapshot.db")
    target = db.with_name("bench_restored.db")
    for leftover in (snap, Path(f"{snap}.sha256"), target):
        leftover.unlink(missing_ok=True)
    try:
        for label, fn in (
            (
                "check (full: orphans, FTS rows + integrity-check, PRAGMAs)",
                lambda: run_check(store),
            ),
            ("backup (VACUUM INTO + integrity_check + sha256)", lambda: backup(store, snap)),
            (
                "restore (verify + copy + swap) to a new path",
                lambda: restore(Settings(db=str(target)), snap),
            ),
        ):
            took, _, cpu = _best(fn, 1)
            rows.append((label, took, took, cpu))
            print(f"{label}: {took * 1000:.0f} ms", file=sys.stderr)
    finally:
        store.close()
        for leftover in (
            snap,
            Path(f"{snap}.sha256"),
            target,
            db.with_name("bench_restored.db.lock"),
        ):
            leftover.unlink(missing_ok=True)
    return rows


def _commands(
    db: Path, log_file: Path, pycache: Path, runs: int
) -> list[tuple[str, float, float, float]]:
    """``memwarden health --json`` and ``memwarden --help`` in new processes."""
    exe = Path(sys.executable).with_name("memwarden")
    env = {**os.environ, "MEMWARDEN_LOG_LEVEL": "ERROR", "PYTHONPYCACHEPREFIX": str(pycache)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    rows = []
    for label, cmd in (
        (
            "`memwarden health --json` (new process, end to end)",
            [str(exe), "--db", str(db), "--log-file", str(log_file), "health", "--json"],
        ),
        ("`memwarden --help` (new process: the CLI's start-up alone)", [str(exe), "--help"]),
    ):
        run = functools.partial(subprocess.run, cmd, capture_output=True, env=env, check=False)
        run()  # warm-up: writes the bytecode cache
        best, median, cpu = _best(run, runs)
        rows.append((label, best, median, cpu))
        print(f"{label}: best {best * 1000:.0f} ms, median {median * 1000:.0f} ms", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=1_000_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/memwarden-bench"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--all", action="store_true", help="also time check, backup and restore (one run each)"
    )
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    # v2: each turn recalls three earlier ones (3 episode_recalls rows an episode).
    db = args.dir / f"health_{args.episodes}_v2.db"
    log_file = args.dir / f"health_{args.episodes}.log"
    if not args.rebuild and db.exists():
        existing = Store.open(Settings(db=str(db)), migrate=False)
        if existing.revision() != head_revision():  # built for an older schema
            print(f"upgrading {db} to {head_revision()} ...", file=sys.stderr)
            existing.upgrade()
            with existing.write() as conn:
                conn.exec_driver_sql("ANALYZE")
        existing.close()
    if args.rebuild or not db.exists():
        print(f"building {db} ...", file=sys.stderr)
        build(db, args.episodes, log_file)
    settings = Settings(db=str(db), log_file=log_file)
    thresholds = load_thresholds()
    all_fk_file = args.dir / "every_fk.toml"
    all_fk_file.write_text("[metrics.orphaned_entries]\nskip_tables = []\n")
    every_fk = load_thresholds(all_fk_file)
    store = Store.open(settings, migrate=False)
    rows: list[tuple[str, float, float, float]] = []
    try:
        for label, fn in (
            (
                "health, 6h window (in process)",
                lambda: collect_health(store, thresholds, timedelta(hours=6), log_file),
            ),
            (
                "health, 6h, every foreign key counted (skip_tables = [])",
                lambda: collect_health(store, every_fk, timedelta(hours=6), log_file),
            ),
            (
                "health, 24h window (in process)",
                lambda: collect_health(store, thresholds, timedelta(hours=24), log_file),
            ),
            (
                "health --review 72h (in process)",
                lambda: collect_review(store, thresholds, timedelta(hours=72), log_file),
            ),
            (
                "health --review 30d (in process)",
                lambda: collect_review(store, thresholds, timedelta(days=30), log_file),
            ),
        ):
            best, median, cpu = _best(fn, args.runs)
            rows.append((label, best, median, cpu))
            print(
                f"{label}: best {best * 1000:.0f} ms, median {median * 1000:.0f} ms",
                file=sys.stderr,
            )
    finally:
        store.close()
    if args.all:
        rows += _maintenance(db, settings)
    rows += _commands(db, log_file, args.dir / "pycache", args.runs)
    size_mb = db.stat().st_size / 1e6
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{describe()}")
    print(
        f"{args.episodes:,} episodes, database {size_mb:,.0f} MB, best of {args.runs} runs, "
        f"load average {load} (1, 5, 15 min) at the end:\n"
    )
    print("| measurement | wall, best | wall, median | CPU, best |")
    print("| --- | ---: | ---: | ---: |")
    for label, best, median, cpu in rows:
        print(
            f"| {label} | {best * 1000:,.0f} ms | {median * 1000:,.0f} ms | {cpu * 1000:,.0f} ms |"
        )


if __name__ == "__main__":
    main()
