"""The HTTP service under load: requests/s and latency of POST /v1/turns and
GET /v1/episodes/{id}/trace, with 1 and N uvicorn workers.

    python -m benchmarks.bench_server [--episodes 20000] [--users 50] [--clients 50]
        [--workers 1,2] [--requests 3000] [--seconds 20] [--rates 0.5,1] [--json out.json]

The server is ``memwarden serve`` in its own process(es) on 127.0.0.1 (builtin LLM, no
access log, no rate limit); this process is the load generator: asyncio with a minimal
keep-alive HTTP/1.1 client (cheap, so it takes little CPU from the server on a small
machine).  Every run is bounded by a request count and a time limit.  Two modes:

* closed loop: C clients each send their next request as soon as the last one answered
  (the saturation throughput; latency is then C / throughput by Little's law);
* paced: C clients each send R requests per second (``--rates``) at fixed intervals, with
  random phases (an open-loop offered load of C x rate requests/s; latency includes any
  queueing, measured from the scheduled send time).

Each client is its own user with its own key; the database is a copy of a preloaded one
(episodes spread over the users), fresh for every run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select

from memwarden.clock import utcnow
from memwarden.server.keys import KeyRing
from memwarden.settings import Settings
from memwarden.store import Store
from memwarden.store.blocks import next_in_block
from memwarden.store.migrate import head_revision
from memwarden.store.schema import episodes, risk_log

from .machine import describe
from .percentiles import percentile

TEXTS = [
    "I went to the {a} with my {b} and it was great.",
    "Do you think the {a} will be open on Sunday?",
    "I love {a}.",
    "Where do I live?",
    "What do you remember about the {a}?",
    "My {b} is worried about the {a}.",
    "I live in {c}.",
    "Tell me something about {a} and {b}.",
    "Remind me to call the {a} about the {b}.",
]
WORDS = [
    "garden",
    "coffee",
    "train",
    "museum",
    "concert",
    "recipe",
    "dentist",
    "meeting",
    "project",
    "budget",
    "holiday",
    "flight",
    "passport",
    "sister",
    "dog",
    "piano",
]
CITIES = ["Porto", "Berlin", "Lisbon", "Madrid", "Oslo", "Vienna"]


def text(rng: random.Random) -> str:
    return rng.choice(TEXTS).format(a=rng.choice(WORDS), b=rng.choice(WORDS), c=rng.choice(CITIES))


def preload(path: Path, n_episodes: int, n_users: int) -> None:
    """Episodes (with risk rows) spread over ``user0..userN``, through the real schema."""
    rng = random.Random(7)
    tmp = path.with_name(path.name + ".building")
    tmp.unlink(missing_ok=True)
    store = Store.open(Settings(db=str(tmp)))
    start = utcnow() - timedelta(days=30)
    newest: dict[str, int] = {}  # ids as the store hands them out: per-user blocks
    top = 0
    for offset in range(0, n_episodes, 5000):
        rows, risks = [], []
        for i in range(offset, min(n_episodes, offset + 5000)):
            user, ts = f"user{i % n_users}", start + timedelta(seconds=i * 2)
            episode_id = newest[user] = next_in_block(newest.get(user), top)
            top = max(top, episode_id)
            rows.append(
                {
                    "id": episode_id,
                    "user_id": user,
                    "ts": ts,
                    "user_input": text(rng),
                    "draft": "Noted.",
                    "reply": "Noted.",
                    "action": "NONE",
                    "draft_total_score": 0.0,
                    "final_score": 0.0,
                }
            )
            risks.append(
                {
                    "id": episode_id,  # the same rule over the same users: the same ids
                    "user_id": user,
                    "episode_id": episode_id,
                    "ts": ts,
                    "draft_total_score": 0.0,
                    "final_score": 0.0,
                    "action": "NONE",
                    "scores": "{}",
                    "details": "{}",
                }
            )
        with store.write() as conn:
            conn.execute(insert(episodes), rows)
            conn.execute(insert(risk_log), risks)
    store.close()
    tmp.rename(path)


def prepare(cache: Path, work: Path, clients: int) -> tuple[list[str], dict[str, list[int]]]:
    """A fresh copy of the preloaded database, a key per client, episode ids per user."""
    for suffix in ("", "-wal", "-shm", ".lock"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(cache, work)
    store = Store.open(Settings(db=str(work)))
    ring = KeyRing(store)
    keys = [ring.add_user(f"user{i}")[1] for i in range(clients)]
    with store.read() as conn:
        ids: dict[str, list[int]] = {}
        for user_id, episode_id in conn.execute(select(episodes.c.user_id, episodes.c.id)):
            ids.setdefault(user_id, []).append(int(episode_id))
    store.close()
    return keys, ids


# -- a minimal keep-alive HTTP/1.1 client ----------------------------------------------------


class Connection:
    def __init__(self, port: int, key: str) -> None:
        self.port, self.key = port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {self.key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return status


@dataclass
class Result:
    endpoint: str
    workers: int
    mode: str
    clients: int
    offered_rps: float | None
    requests: int
    errors: int
    seconds: float
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_ms: float  # server CPU time (all workers) per request
    client_cpu_ms: float  # load generator CPU time per request


async def load(
    port: int,
    keys: list[str],
    ids: dict[str, list[int]],
    endpoint: str,
    requests: int,
    seconds: float,
    rate: float | None,
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    budget = requests
    start = time.perf_counter()
    stop = start + seconds

    async def client(n: int) -> None:
        nonlocal budget, errors
        rng = random.Random(n)
        conn = Connection(port, keys[n])
        mine = ids.get(f"user{n}", [])
        next_at = time.perf_counter() + (rng.random() / rate if rate else 0.0)
        while budget > 0 and time.perf_counter() < stop:
            budget -= 1
            if rate:
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
            t0 = next_at if rate else time.perf_counter()
            if endpoint == "turns":
                status = await conn.request(
                    "POST", "/v1/turns", json.dumps({"text": text(rng)}).encode()
                )
            else:
                status = await conn.request("GET", f"/v1/episodes/{rng.choice(mine)}/trace")
            latencies.append((time.perf_counter() - t0) * 1000)
            errors += status != 200
            if rate:
                next_at += 1.0 / rate

    await asyncio.gather(*(client(n) for n in range(len(keys))))
    return latencies, errors, time.perf_counter() - start


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU time of every live process in the process group (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp
            total += (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return total


def serve(db: Path, workers: int, lexical: bool = False) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "MEMWARDEN_RATE_LIMIT_PER_S": "0", "MEMWARDEN_LOG_LEVEL": "WARNING"}
    if lexical:
        env["MEMWARDEN_EMBEDDINGS"] = "false"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "memwarden",
            "--db",
            str(db),
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                if b" 200 " in s.recv(100):
                    return proc, port
        except OSError:
            pass
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    raise SystemExit("the server did not start")


def _recall_mode(lexical: bool) -> str:
    """What recall the server runs, decided as the server decides it (``embedder_for``
    on settings from the same environment); a model that fails verification stops here,
    as it would fail every turn of the server."""
    if lexical:
        return "lexical (embeddings off)"
    from memwarden.memory.embeddings import embedder_for

    if embedder_for(Settings()) is None:
        return "lexical (MEMWARDEN_EMBEDDINGS is off, or the [embeddings] extra is missing)"
    return "hybrid (MiniLM embeddings + full text)"


def stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def run(
    args: argparse.Namespace,
    cache: Path,
    endpoint: str,
    workers: int,
    mode: str,
    rate: float | None,
) -> Result:
    work = Path(f"/tmp/memwarden-bench-server-work-{os.getpid()}.db")
    clients = args.clients if mode != "single" else 1
    keys, ids = prepare(cache, work, clients)
    proc, port = serve(work, workers, args.lexical)
    try:
        asyncio.run(load(port, keys, ids, endpoint, 200, 3, None))  # warm-up
        server_cpu, own_cpu = group_cpu_seconds(proc.pid), time.process_time()
        latencies, errors, elapsed = asyncio.run(
            load(port, keys, ids, endpoint, args.requests, args.seconds, rate)
        )
        server_cpu = group_cpu_seconds(proc.pid) - server_cpu
        own_cpu = time.process_time() - own_cpu
    finally:
        stop(proc)
    return Result(
        endpoint,
        workers,
        mode,
        clients,
        clients * rate if rate else None,
        len(latencies),
        errors,
        round(elapsed, 2),
        round(len(latencies) / elapsed, 1),
        round(percentile(latencies, 50), 2),
        round(percentile(latencies, 95), 2),
        round(percentile(latencies, 99), 2),
        round(max(latencies), 2),
        round(server_cpu * 1000 / len(latencies), 2),
        round(own_cpu * 1000 / len(latencies), 2),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts")
    parser.add_argument("--requests", type=int, default=3000, help="at most, per run")
    parser.add_argument("--seconds", type=float, default=20.0, help="at most, per run")
    parser.add_argument("--rates", default="0.5,1", help="paced: requests/s per client, each")
    parser.add_argument("--modes", default="single,closed,paced")
    parser.add_argument("--endpoints", default="turns,trace")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    parser.add_argument(
        "--lexical",
        action="store_true",
        help="serve with MEMWARDEN_EMBEDDINGS=false (recall as without the [embeddings] "
        "extra, as the CI install has it); default: hybrid where the extra is installed",
    )
    args = parser.parse_args()
    # SIGTERM (or a timeout) still stops the server: run()'s finally does it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    users = max(args.users, args.clients)
    cache = Path(f"/tmp/memwarden-bench-server-{head_revision()}-{args.episodes}-{users}.db")
    if not cache.exists():
        preload(cache, args.episodes, users)
    print(describe())
    print(
        f"data: {args.episodes:,} preloaded episodes over {users} users; builtin LLM; "
        f"recall {_recall_mode(args.lexical)}; "
        f"load generator: this process (asyncio, keep-alive HTTP/1.1)"
    )
    print(
        "| endpoint | workers | mode | clients | offered req/s | requests | errors | req/s "
        "| p50 ms | p95 ms | p99 ms | server CPU ms/req | client CPU ms/req |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    results = []
    for endpoint in args.endpoints.split(","):
        for workers in (int(w) for w in args.workers.split(",")):
            runs: list[tuple[str, float | None]] = [
                (m, None) for m in args.modes.split(",") if m != "paced"
            ]
            if "paced" in args.modes.split(","):
                runs += [("paced", float(rate)) for rate in args.rates.split(",")]
            for mode, rate in runs:
                r = run(args, cache, endpoint, workers, mode, rate)
                results.append(r)
                offered = f"{r.offered_rps:.0f}" if r.offered_rps else "max"
                print(
                    f"| {r.endpoint} | {r.workers} | {r.mode} | {r.clients} | {offered} | {r.requests} "
                    f"| {r.errors} | {r.rps} | {r.p50_ms} | {r.p95_ms} | {r.p99_ms} "
                    f"| {r.server_cpu_ms} | {r.client_cpu_ms} |",
                    flush=True,
                )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
