"""Benchmark: what the "drawn-on" links cost a turn and a delete.

    python -m benchmarks.bench_drawn_on --db /tmp/scale/memwarden-scale-1000000-10000.db \
        --db postgresql+psycopg://postgres@127.0.0.1:5432/memwarden_bench \
        --deletes /tmp/memwarden-bench-gov-1000000-1000-100000-v2.db

Per turn (each ``--db``, a database of ``bench_scale``): ``quoted_beliefs()`` over a
200-belief profile and the ``still_there()`` check a turn runs under the user's lock,
2,000 samples each.  Per delete (``--deletes``, a database of ``bench_governance``, on a
copy): ``/delete_episode`` of 50 episodes that sourced a belief (the deletes that look
up the turns quoting a removed value), ``/delete_belief`` of 50 beliefs of users with
~900 episodes, and of 5 beliefs of the 100,000-episode user.  Prints the machine, the
data size and the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from memwarden.governance import Governance
from memwarden.logs import configure_logging
from memwarden.memory.beliefs import list_beliefs
from memwarden.memory.references import quoted_beliefs, still_there
from memwarden.settings import Settings
from memwarden.store import Store

from .machine import describe

USER = "user0005"
TEXTS = [
    "Noted. That connects to something you said before about the guitar and the project.",
    "Here is what I found in our past conversations: you said nothing of the sort.",
]


def _ms(call: Callable[[], Any], n: int) -> str:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return f"p50 {samples[n // 2]:.3f}  p95 {samples[int(n * 0.95)]:.3f} ms (n={n})"


def per_turn(url: str, samples: int) -> None:
    store = Store.open(Settings(db=url, log_level="WARNING"))
    try:
        with store.read() as conn:
            beliefs = list_beliefs(conn, USER)
            episodes = conn.exec_driver_sql("SELECT COUNT(*) FROM episodes").scalar_one()
            ids = [
                int(r[0])
                for r in conn.exec_driver_sql(
                    f"SELECT id FROM episodes WHERE user_id = '{USER}' ORDER BY id LIMIT 6"
                )
            ]
        # The profile a draft is given: up to 200 beliefs (the user's, repeated to 200).
        own = [(b.id, b.key, b.value) for b in beliefs] or [(0, "location", "Porto")]
        profile = (own * (200 // len(own) + 1))[:200]
        refs = [("episode", i) for i in ids] + [("belief", b.id) for b in beliefs[:2]]
        print(f"{store.engine.dialect.name}: {episodes:,} episodes; {USER}: {len(beliefs)} beliefs")
        print(
            f"  quoted_beliefs(200 beliefs, 2 texts)  {_ms(lambda: quoted_beliefs(profile, TEXTS), samples)}"
        )
        with store.write() as conn:
            assert still_there(conn, USER, refs)
            print(
                f"  still_there({len(refs)} memories)           {_ms(lambda: still_there(conn, USER, refs), samples)}"
            )
    finally:
        store.close()


def _pct(values: list[float]) -> str:
    values = sorted(values)
    return (
        f"p50 {values[len(values) // 2]:.2f}  p95 {values[int(len(values) * 0.95)]:.2f}  "
        f"max {values[-1]:.2f} ms (n={len(values)})"
    )


def deletes(source: Path) -> None:
    work = source.with_name(source.name + ".drawn-on.db")
    shutil.copyfile(source, work)
    os.sync()
    try:
        rng = random.Random(3)
        conn = sqlite3.connect(work)
        sourced, beliefs = [], []
        for user in rng.sample([f"user{u:04d}" for u in range(101, 1000)], 120):
            rows = conn.execute(
                "SELECT s.episode_id, s.belief_id FROM belief_sources AS s JOIN semantic_beliefs "
                "AS b ON b.id = s.belief_id WHERE b.user_id = ? ORDER BY s.episode_id",
                (user,),
            ).fetchall()
            if len(rows) >= 2:
                sourced.append((user, rows[0][0]))
                beliefs.append((user, rows[-1][1]))
        big = [
            ("user0000", r[0])
            for r in conn.execute(
                "SELECT id FROM semantic_beliefs WHERE user_id = 'user0000' LIMIT 5"
            )
        ]
        size = conn.execute("SELECT COUNT(*) FROM episodes").fetchone()[0]
        conn.close()
        print(f"deletes on a copy of {source.name}: {size:,} episodes")
        settings = Settings(db=str(work), log_level="WARNING")
        configure_logging(settings, stream=open(os.devnull, "w"))  # noqa: SIM115
        with Governance.open(settings) as gov:
            for user, episode in sourced[:3]:
                gov.trace(user, episode)  # warm the connection and statements
            timed: dict[str, list[float]] = {"episode": [], "belief": [], "big": []}
            for kind, calls in (
                ("episode", [(gov.delete_episode, u, e) for u, e in sourced[:50]]),
                ("belief", [(gov.delete_belief, u, b) for u, b in beliefs[:50]]),
                ("big", [(gov.delete_belief, u, b) for u, b in big]),
            ):
                for call, user, ident in calls:
                    start = time.perf_counter()
                    result = call(user, ident)
                    timed[kind].append((time.perf_counter() - start) * 1000)
                    assert result.ok, result.reply
        print(f"  /delete_episode of a belief's source   {_pct(timed['episode'])}")
        print(f"  /delete_belief, ~900-episode users     {_pct(timed['belief'])}")
        print(f"  /delete_belief, 100,000-episode user   {_pct(timed['big'])}")
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(str(work) + suffix).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--db", action="append", default=[], help="a bench_scale database")
    parser.add_argument("--deletes", type=Path, help="a bench_governance database")
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    print(describe())
    print(f"load average: {os.getloadavg()[0]:.2f}")
    for url in args.db:
        per_turn(url, args.samples)
    if args.deletes is not None:
        deletes(args.deletes)


if __name__ == "__main__":
    main()
