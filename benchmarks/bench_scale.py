"""Scale-out: turn throughput with 1, 2 and 4 workers, /trace, /export_memory and recall
p95, on one engine at 1,000,000 episodes across 10,000 users (issue 8).

    # the SQLite source (governance builder: user0000 100,000 episodes, users 1..100
    # exactly 1,000, the other 9,899 ~81 each), then the same data on PostgreSQL:
    python -m benchmarks.bench_scale --build /tmp/scale/memwarden-scale-1000000-10000.db
    memwarden db copy --from /tmp/scale/memwarden-scale-1000000-10000.db \\
        --to postgresql+psycopg://postgres@127.0.0.1:5432/memwarden_bench
    python -m benchmarks.bench_scale --db /tmp/scale/memwarden-scale-1000000-10000.db
    python -m benchmarks.bench_scale \\
        --db postgresql+psycopg://postgres@127.0.0.1:5432/memwarden_bench
    # the governance ratio, both engines sample by sample in the same minutes:
    python -m benchmarks.bench_scale --db /tmp/scale/memwarden-scale-1000000-10000.db \\
        --paired postgresql+psycopg://postgres@127.0.0.1:5432/memwarden_bench

A SQLite ``--db`` is measured on a copy (the source stays pristine); a PostgreSQL one in
place (turns and audit rows are added to it).  Turns: N worker processes (spawned), each
with its own ``Agent.open(Settings(db=..., embeddings=False))``, run ``--turns`` turns
each on users of their own (no two workers share a user), started together after a
warm-up; throughput is all turns over the wall time from the first start to the last
end.  /trace and /export_memory go through :class:`memwarden.governance.Governance` (the
CLI's code path, audit row included); recall is ``memwarden.memory.recall`` as
``Agent.turn`` calls it (lexical).  It prints the machine, the data size, the load
average at start and end, and a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from memwarden.agent import Agent
from memwarden.governance import Governance
from memwarden.logs import configure_logging
from memwarden.memory.recall import recall
from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.schema import episodes, risk_log, semantic_beliefs, tasks

from .bench_turn import _cpu_busy_s
from .governance_data import CITIES, WORDS, build
from .machine import describe
from .percentiles import percentile

__all__ = ["main"]

EXACT_USERS = [f"user{u:04d}" for u in range(1, 101)]  # exactly 1,000 episodes each


def sentence(rng: random.Random) -> str:
    """A turn like the preloaded ones: words the user's memories share."""
    a, b = rng.choice(WORDS), rng.choice(WORDS)
    return f"Remember the {a} with my {b} in {rng.choice(CITIES)}? Let's do that again."


def quiet(settings: Settings) -> None:
    devnull = open(os.devnull, "w")  # noqa: SIM115 - the log stream lives as the process
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}), stream=devnull)


# -- turns ------------------------------------------------------------------------------


def turn_worker(
    db: str, users: list[str], turns: int, barrier: Any, results: Any, seed: int
) -> None:
    """One process: warm up, wait for the others, run ``turns`` turns on ``users``."""
    settings = Settings(db=db, embeddings=False)
    quiet(settings)
    rng = random.Random(seed)
    with Agent.open(settings) as agent:
        for user in users[:10]:  # warm-up: imports, statements, pool (untimed)
            agent.turn(user, sentence(rng))
        barrier.wait()
        cpu0, start = time.process_time(), time.perf_counter()
        latencies = []
        for k in range(turns):
            t0 = time.perf_counter()
            agent.turn(users[k % len(users)], sentence(rng))
            latencies.append((time.perf_counter() - t0) * 1000)
        end = time.perf_counter()
    results.put((start, end, time.process_time() - cpu0, latencies))


def turn_throughput(db: str, workers: int, turns: int, users: list[str]) -> dict[str, float]:
    """Turns/s of ``workers`` processes together, p95 per turn, and others' CPU meanwhile."""
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(workers + 1), ctx.Queue()
    procs = [
        ctx.Process(
            target=turn_worker,
            args=(db, users[w::workers], turns, barrier, results, 100 + w),
        )
        for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    barrier.wait()
    busy0 = _cpu_busy_s()
    outs = [results.get(timeout=1800) for _ in procs]
    busy1 = _cpu_busy_s()
    for proc in procs:
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"a turn worker failed (exit {proc.exitcode})")
    wall = max(o[1] for o in outs) - min(o[0] for o in outs)
    latencies = [ms for o in outs for ms in o[3]]
    own_cpu = sum(o[2] for o in outs)
    others = (busy1 - busy0 - own_cpu) / wall if busy0 is not None and busy1 is not None else 0.0
    return {
        "turns_per_s": len(latencies) / wall,
        "p95_ms": percentile(latencies, 95),
        "cpu_ms_per_turn": own_cpu * 1000 / len(latencies),
        "others_cores": max(0.0, others),
    }


# -- governance and recall -------------------------------------------------------------------


def episodes_of(store: Store, users: list[str], rng: random.Random) -> list[tuple[str, int]]:
    with store.read() as conn:
        return [
            (
                u,
                rng.choice(
                    [
                        r[0]
                        for r in conn.execute(select(episodes.c.id).where(episodes.c.user_id == u))
                    ]
                ),
            )
            for u in users
        ]


def governance_and_recall(
    dbs: list[str], samples: int, users: list[str], rng: random.Random
) -> list[dict[str, list[float]]]:
    """Per database, ms per call of /trace (random episodes), /export_memory (1,000-episode
    users) and recall.  With several databases, sample by sample in alternating order, so
    that every engine's samples of a figure come from the same minutes (this box's speed
    swings for minutes at a time)."""
    settings = [Settings(db=db, embeddings=False) for db in dbs]
    with contextlib.ExitStack() as stack:
        govs = [stack.enter_context(Governance.open(s)) for s in settings]
        sink = stack.enter_context(open(os.devnull, "w", encoding="utf-8"))
        picks = episodes_of(govs[0].store, rng.sample(users, 100), rng)
        traced = [rng.choice(picks) for _ in range(samples + 20)]
        said = [(rng.choice(users), sentence(rng)) for _ in range(samples + 20)]

        def trace(i: int, k: int) -> None:
            result = govs[i].trace(*traced[k])
            assert result.ok, result.reply

        def export(i: int, k: int) -> None:
            exported = govs[i].export_memory(EXACT_USERS[k % len(EXACT_USERS)], out=sink)
            assert exported.ok and exported.result is not None, exported.reply
            assert exported.result.counts["episodes"] >= 1000, exported.result.counts

        def recall_(i: int, k: int) -> None:
            store, (user, text) = govs[i].store, said[k]
            with store.read() as conn:
                recall(
                    conn,
                    store.search,
                    user,
                    text,
                    episodes=settings[i].recall_episodes,
                    beliefs=settings[i].recall_beliefs,
                )

        figures: list[dict[str, list[float]]] = [{} for _ in dbs]
        # Warm-ups: the driver prepares a statement on its fifth run on a connection.
        for name, call, warm in (
            ("/trace", trace, 20),
            ("/export_memory, 1,000-episode user", export, 5),
            ("recall, lexical", recall_, 20),
        ):
            for i in range(len(dbs)):
                for k in range(warm):
                    call(i, samples + k)  # the warm-ups' own picks, users and texts
            ms: list[list[float]] = [[] for _ in dbs]
            for k in range(samples):
                order = list(range(len(dbs)))
                if k % 2:
                    order.reverse()
                for i in order:
                    t0 = time.perf_counter()
                    call(i, k)
                    ms[i].append((time.perf_counter() - t0) * 1000)
            for i, values in enumerate(ms):
                figures[i][name] = values
    return figures


def paired(figures: list[dict[str, list[float]]]) -> None:
    """Print SQLite's and PostgreSQL's p50 and p95 per figure, and the ratio of the p95s."""
    sqlite, postgres = figures
    print("\n| figure | SQLite p50 | SQLite p95 | PostgreSQL p50 | PostgreSQL p95 | ratio (p95) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, ms in sqlite.items():
        other = postgres[name]
        ours, theirs = percentile(ms, 95), percentile(other, 95)
        print(
            f"| {name} (ms) | {statistics.median(ms):.2f} | {ours:.2f} | "
            f"{statistics.median(other):.2f} | {theirs:.2f} | {theirs / ours:.1f}× |"
        )


# -- the run --------------------------------------------------------------------------------


def data_size(db: str) -> str:
    store = Store.open(Settings(db=db))
    try:
        with store.read() as conn:
            counts = {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
                for t in (episodes, risk_log, semantic_beliefs, tasks)
            }
            n_users = conn.execute(
                select(func.count(func.distinct(episodes.c.user_id)))
            ).scalar_one()
    finally:
        store.close()
    return f"{n_users:,} users; " + ", ".join(f"{t} {n:,}" for t, n in counts.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", help="SQLite path or PostgreSQL URL to measure")
    parser.add_argument("--build", type=Path, help="build the SQLite source here and stop")
    parser.add_argument("--episodes", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--big", type=int, default=100_000, help="episodes of user0000")
    parser.add_argument("--turns", type=int, default=200, help="turns per worker")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument(
        "--paired",
        metavar="POSTGRES_URL",
        help="instead of turns: /trace, /export_memory and recall on --db (a SQLite path) "
        "and on this PostgreSQL database, sample by sample alternating; prints each "
        "engine's p50 and p95 and the ratio of the p95s",
    )
    args = parser.parse_args()
    if args.build:
        t0 = time.perf_counter()
        build(args.build, args.episodes, args.users, args.big)
        print(f"built {args.build} in {time.perf_counter() - t0:.0f} s")
        return
    if not args.db:
        parser.error("--db or --build is required")
    if args.paired and ("://" in args.db or "://" not in args.paired):
        parser.error("--paired takes a PostgreSQL URL, with --db a SQLite path")

    load_start = os.getloadavg()
    db, work = args.db, None
    engine = "PostgreSQL" if "://" in db else "SQLite"
    if engine == "SQLite":
        work = Path(db).with_name(Path(db).name + ".scale-work.db")
        shutil.copyfile(db, work)
        db = str(work)
    quiet(Settings(db=db))
    print(describe())
    print(f"engine: {engine}; data: {data_size(db)}")
    if args.paired:
        print(f"paired with PostgreSQL; data: {data_size(args.paired)}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in load_start)}")
    rng = random.Random(5)
    mid_users = [f"user{u:04d}" for u in range(101, args.users)]
    rows: list[tuple[str, str]] = []
    try:
        if args.paired:
            paired(governance_and_recall([db, args.paired], args.samples, mid_users, rng))
            print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            return
        for n in (int(w) for w in args.workers.split(",")):
            # Fresh users per run: no run benefits from another's warm caches.
            users = rng.sample(mid_users, min(len(mid_users), n * args.turns))
            r = turn_throughput(db, n, args.turns, users)
            rows.append(
                (f"turns/s, {n} worker(s) ({n * args.turns} turns)", f"{r['turns_per_s']:.1f}")
            )
            rows.append((f"turn p95, {n} worker(s) (ms)", f"{r['p95_ms']:.1f}"))
            rows.append((f"CPU per turn, {n} worker(s) (ms)", f"{r['cpu_ms_per_turn']:.1f}"))
            rows.append(
                (
                    f"other processes' cores (PostgreSQL server included), {n} worker(s)",
                    f"{r['others_cores']:.2f}",
                )
            )
            print(f"  {n} worker(s): {r}", file=sys.stderr, flush=True)
        (figures,) = governance_and_recall([db], args.samples, mid_users, rng)
        rows += [(f"{name}: p95 (ms)", f"{percentile(ms, 95):.1f}") for name, ms in figures.items()]
    finally:
        if work is not None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{work}{suffix}").unlink(missing_ok=True)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"samples: {args.samples} per latency figure; {args.turns} turns per worker\n")
    print("| engine | figure | value |")
    print("|---|---|---|")
    for name, value in rows:
        print(f"| {engine} | {name} | {value} |")


if __name__ == "__main__":
    main()
