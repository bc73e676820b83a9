"""Turn throughput and latency with the builtin LLM on a preloaded database.

    python -m benchmarks.bench_turn [--episodes 100000] [--users 100] [--turns 1000]
                                    [--embeddings] [--warm-users] [--json out.json]

Preloads N episodes across U users once (cached in /tmp by size), their texts drawn
from real conversation turns (LoCoMo); with ``--embeddings`` every preloaded episode
also gets its MiniLM vector, as ingest would have written it.  Each run works on a fresh
copy of that file, so runs compare.  It replays T such turns on random users through
``Agent.turn`` with the builtin LLM and prints turns per second, p50/p95/p99 latency,
CPU time per turn and the median of each stage ``Agent.turn`` reports in
``timings_ms``.  ``--warm-users`` first gives every user one untimed turn (a long-running
process with warm caches); without it the first turn of each user in the run pays for
loading that user's caches.  The machine is shared: the load average is printed, and
how many cores other processes kept busy during the timed turns (from /proc/stat).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from memwarden.agent import Agent
from memwarden.clock import utcnow
from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.blocks import next_in_block
from memwarden.store.schema import episodes, risk_log

from .machine import describe
from .percentiles import percentile

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "../shared/datasets/locomo/locomo_dev.json"


def corpus(path: Path) -> list[str]:
    """Real conversational turns (LoCoMo's dialog texts) to preload and to replay."""
    data = json.loads(path.read_text(encoding="utf-8"))
    texts = [
        turn["text"]
        for conv in data
        for key, session in conv["conversation"].items()
        if key.startswith("session_") and isinstance(session, list)
        for turn in session
        if turn.get("text")
    ]
    if not texts:
        raise SystemExit(f"no dialog turns in {path}")
    return texts


def preload(
    path: Path,
    texts: list[str],
    n_episodes: int,
    n_users: int,
    seed: int = 7,
    embeddings: bool = False,
) -> None:
    """Bulk-insert synthetic episodes (their risk rows, and optionally their vectors)
    through the real schema."""
    rng = random.Random(seed)
    store = Store.open(Settings(db=str(path)))
    embedder, vectors = _vectors_of(texts) if embeddings else (None, {})
    start = utcnow() - timedelta(days=30)
    batch = 5000
    newest: dict[str, int] = {}  # ids as the store hands them out: per-user blocks
    top = 0
    for offset in range(0, n_episodes, batch):
        rows: list[dict[str, Any]] = []
        risks: list[dict[str, Any]] = []
        owned: list[tuple[str, int, str]] = []
        for i in range(offset, min(n_episodes, offset + batch)):
            text = rng.choice(texts)
            ts = start + timedelta(seconds=i * 2)
            user = f"user{rng.randrange(n_users)}"
            next_id = newest[user] = next_in_block(newest.get(user), top)
            top = max(top, next_id)
            rows.append(
                {
                    "id": next_id,
                    "user_id": user,
                    "ts": ts,
                    "user_input": text,
                    "draft": "Noted.",
                    "reply": "Noted.",
                    "action": "NONE",
                    "draft_total_score": 0.0,
                    "final_score": 0.0,
                }
            )
            risks.append(
                {
                    "id": next_id,  # the same rule over the same users: the same ids
                    "user_id": user,
                    "episode_id": next_id,
                    "ts": ts,
                    "draft_total_score": 0.0,
                    "final_score": 0.0,
                    "action": "NONE",
                    "scores": "{}",
                    "details": "{}",
                }
            )
            owned.append((user, next_id, text))
        with store.write() as conn:
            conn.execute(insert(episodes), rows)
            conn.execute(insert(risk_log), risks)
            if embedder is not None:
                from memwarden.memory.vectors import store_episode_vectors

                by_user: dict[str, list[tuple[int, Any]]] = {}
                for user, episode_id, text in owned:
                    by_user.setdefault(user, []).append((episode_id, vectors[text]))
                for user, items in by_user.items():
                    store_episode_vectors(conn, user, embedder.model, items)
    store.optimize()  # as an operator does after a bulk import
    store.close()


def _vectors_of(texts: list[str]) -> tuple[Any, dict[str, Any]]:
    """The embedder and the vector of each distinct text (embedded once each)."""
    from memwarden.memory.embeddings import load_embedder

    embedder = load_embedder()
    distinct = list(dict.fromkeys(texts))
    return embedder, dict(zip(distinct, embedder.embed(distinct), strict=True))


def _cpu_busy_s() -> float | None:
    """Seconds of CPU the whole machine has spent busy (all cores), from /proc/stat."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run(
    path: Path,
    texts: list[str],
    *,
    users: int,
    turns: int,
    embeddings: bool,
    warm_users: bool,
) -> dict[str, Any]:
    """Replay ``turns`` turns on a copy of ``path``; latency, CPU and stage figures."""
    work = path.with_name(path.stem + "-run.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(path, work)
    rng = random.Random(11)
    latencies: list[float] = []
    stages: dict[str, list[float]] = {}
    with Agent.open(Settings(db=str(work), embeddings=embeddings)) as agent:
        for _ in range(20):  # warm-up: imports, the model, compiled statements
            agent.turn("warmup", "hello there")
        if warm_users:  # a text with words to look up, so recall loads the user's caches
            for u in range(users):
                agent.turn(f"user{u}", "We went hiking with the dog last weekend.")
        load_before = os.getloadavg()
        busy_start = _cpu_busy_s()
        cpu_start, t_start = time.process_time(), time.perf_counter()
        for _ in range(turns):
            text = rng.choice(texts)
            user = f"user{rng.randrange(users)}"
            t0 = time.perf_counter()
            result = agent.turn(user, text)
            latencies.append((time.perf_counter() - t0) * 1000)
            for stage, ms in (result.timings_ms or {}).items():
                stages.setdefault(stage, []).append(ms)
        elapsed = time.perf_counter() - t_start
        cpu = time.process_time() - cpu_start
        busy_end = _cpu_busy_s()
    # What the rest of the machine used meanwhile, in cores (2 = both cores busy).
    others = (
        round((busy_end - busy_start - cpu) / elapsed, 2)
        if busy_start is not None and busy_end is not None
        else None
    )
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    return {
        "turns_per_s": round(turns / elapsed, 1),
        "latency_ms": {
            "p50": round(percentile(latencies, 50), 2),
            "p95": round(percentile(latencies, 95), 2),
            "p99": round(percentile(latencies, 99), 2),
            "max": round(max(latencies), 2),
        },
        "cpu_ms_per_turn": round(cpu * 1000 / turns, 2),
        "stage_median_ms": {k: round(statistics.median(v), 2) for k, v in stages.items()},
        "stage_p95_ms": {k: round(percentile(v, 95), 2) for k, v in stages.items()},
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "other_processes_cores": others,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--db", type=Path, default=None, help="preloaded file (made if missing)")
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="LoCoMo-format JSON")
    parser.add_argument(
        "--embeddings", action="store_true", help="dense recall on, vectors preloaded"
    )
    parser.add_argument("--warm-users", action="store_true", help="one untimed turn per user first")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    mode = "vectors" if args.embeddings else "lexical"
    path = args.db or Path(f"/tmp/memwarden-bench-turn-{mode}-{args.episodes}-{args.users}-v2.db")
    texts = corpus(args.corpus)
    if not path.exists():
        t0 = time.perf_counter()
        preload(path, texts, args.episodes, args.users, embeddings=args.embeddings)
        print(f"preloaded {args.episodes:,} episodes in {time.perf_counter() - t0:.1f}s -> {path}")
    print(describe())
    print(
        f"data: {args.episodes:,} preloaded episodes across {args.users} users; "
        f"{args.turns} turns; recall {'hybrid (embeddings)' if args.embeddings else 'lexical'}"
        f"{'; every user warmed first' if args.warm_users else ''}"
    )
    report = run(
        path,
        texts,
        users=args.users,
        turns=args.turns,
        embeddings=args.embeddings,
        warm_users=args.warm_users,
    )
    lat = report["latency_ms"]
    print(f"turns/s: {report['turns_per_s']}  CPU per turn: {report['cpu_ms_per_turn']} ms")
    print(f"latency ms: p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}")
    print(
        "stage medians ms: " + "  ".join(f"{k} {v}" for k, v in report["stage_median_ms"].items())
    )
    print(
        f"load average before {report['load_before']}, after {report['load_after']}; "
        f"other processes used {report['other_processes_cores']} cores meanwhile"
    )
    if args.json:
        report |= {"episodes": args.episodes, "users": args.users, "turns": args.turns}
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
