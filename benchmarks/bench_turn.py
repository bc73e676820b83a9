"""Turn throughput and latency with the builtin LLM on a preloaded database.

    python -m benchmarks.bench_turn [--episodes 100000] [--users 100] [--turns 2000]

Preloads N episodes across U users (cached in /tmp by size), their texts drawn from real
conversation turns (LoCoMo), then replays T such turns on random users through
``Agent.turn`` with the builtin LLM, and prints turns per second and p50/p95/p99 latency.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert

from memwarden.agent import Agent
from memwarden.clock import utcnow
from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.schema import episodes, risk_log

from .machine import describe

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


def preload(path: Path, texts: list[str], n_episodes: int, n_users: int, seed: int = 7) -> None:
    """Bulk-insert synthetic episodes (and their risk rows) through the real schema."""
    rng = random.Random(seed)
    store = Store.open(Settings(db=str(path)))
    start = utcnow() - timedelta(days=30)
    batch = 5000
    next_id = 1
    for offset in range(0, n_episodes, batch):
        rows, risks = [], []
        for i in range(offset, min(n_episodes, offset + batch)):
            text = rng.choice(texts)
            ts = start + timedelta(seconds=i * 2)
            user = f"user{rng.randrange(n_users)}"
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
            next_id += 1
        with store.write() as conn:
            conn.execute(insert(episodes), rows)
            conn.execute(insert(risk_log), risks)
    store.optimize()  # as an operator does after a bulk import
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--turns", type=int, default=2000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="LoCoMo-format JSON")
    args = parser.parse_args()

    path = args.db or Path(f"/tmp/memwarden-bench-turn-locomo-{args.episodes}-{args.users}.db")
    texts = corpus(args.corpus)
    if not path.exists():
        t0 = time.perf_counter()
        preload(path, texts, args.episodes, args.users)
        print(f"preloaded {args.episodes:,} episodes in {time.perf_counter() - t0:.1f}s -> {path}")
    print(describe())
    print(
        f"data: {args.episodes:,} preloaded episodes across {args.users} users; {args.turns} turns"
    )

    rng = random.Random(11)
    latencies = []
    with Agent.open(Settings(db=str(path))) as agent:
        for _ in range(20):  # warm-up
            agent.turn("warmup", "hello there")
        t_start = time.perf_counter()
        for _ in range(args.turns):
            text = rng.choice(texts)
            user = f"user{rng.randrange(args.users)}"
            t0 = time.perf_counter()
            agent.turn(user, text)
            latencies.append((time.perf_counter() - t0) * 1000)
        elapsed = time.perf_counter() - t_start
    qs = statistics.quantiles(latencies, n=100)
    print(f"turns/s: {args.turns / elapsed:.1f}")
    print(
        f"latency ms: p50 {qs[49]:.2f}  p95 {qs[94]:.2f}  p99 {qs[98]:.2f}  max {max(latencies):.2f}"
    )


if __name__ == "__main__":
    main()
