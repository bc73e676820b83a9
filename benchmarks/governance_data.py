"""The governance benchmarks' database: N episodes across U users, bulk-loaded through
memwarden's schema and full-text triggers (``bench_governance``, ``bench_scale``).

One user with ``big`` episodes, 100 users with exactly 1,000, the rest spread over the
others, interleaved in time; every episode has a realistic trace (3 recalled memories,
recorded in ``episode_recalls`` as a turn records them) and a risk_log row, both with ids
in per-user blocks as the store hands them out (``store/blocks.py``); every user has
beliefs with history and sources, and tasks with events.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from memwarden.settings import Settings
from memwarden.store import Store, textindex
from memwarden.store.blocks import next_in_block
from memwarden.store.engine import sqlite_module

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
