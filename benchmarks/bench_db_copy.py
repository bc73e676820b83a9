"""Benchmark: `memwarden db copy` of a soak-test database from SQLite to PostgreSQL.

    .venv/bin/python -m benchmarks.bench_db_copy                       # 100 sessions x 20 turns
    .venv/bin/python -m benchmarks.bench_db_copy --sessions 400 --dir /tmp/copybench

The soak database (``memwarden soak``'s scripted sessions, sentence vectors on) is built
once into ``--dir`` and reused while its options match.  Each run copies it into a new
PostgreSQL database (dropped afterwards) and prints: the source's size and rows, the
copy's and the verification's wall time, rows/s and MB/s of the copy, and a second run
over the complete copy (which must insert 0 rows: what a resumed copy costs when there
is nothing left to do).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid
from pathlib import Path

import psycopg

from memwarden.ops.copy import copy_database
from memwarden.ops.soak import SoakOptions, run_soak
from memwarden.settings import Settings
from memwarden.store.migrate import head_revision

from .machine import describe

ADMIN_URL = os.environ.get("MEMWARDEN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _source(folder: Path, sessions: int, turns: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = folder / "soak.json"
    wanted = {"sessions": sessions, "turns": turns, "users": 20, "seed": 0}
    built = {**wanted, "revision": head_revision()}  # a new migration: build it again
    if stamp.exists() and json.loads(stamp.read_text()) == built and (folder / "soak.db").exists():
        return folder / "soak.db"
    started = time.perf_counter()
    report = run_soak(
        Settings(db=str(folder / "unused.db"), llm="builtin", embeddings=True),
        SoakOptions(**wanted),
        workdir=folder,
    )
    if not report.ok:
        raise SystemExit(f"the soak failed: {report.failures()}")
    print(
        f"built the soak database in {time.perf_counter() - started:.0f} s ({report.turns} turns)"
    )
    stamp.write_text(json.dumps(built))
    return folder / "soak.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/memwarden-bench/copy"))
    args = parser.parse_args()

    print(describe())
    source = _source(args.dir, args.sessions, args.turns)
    name = f"memwarden_bench_{uuid.uuid4().hex[:10]}"
    base = ADMIN_URL.rsplit("/", 1)[0]
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        server = admin.execute("SHOW server_version").fetchone()
        admin.execute(f'CREATE DATABASE "{name}"')
    target = f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    try:
        first = copy_database(source, target, batch_size=args.batch_size)
        second = copy_database(source, target, batch_size=args.batch_size)
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if not (first.ok and second.ok and second.copied == 0):
        raise SystemExit(f"copy not verified: {first.differences() or second.differences()}")
    mb = first.source_bytes / 1e6
    print(f"PostgreSQL {server[0] if server else '?'}; batch size {args.batch_size}")
    print(
        f"source: {mb:.1f} MB SQLite, {first.rows} rows "
        + ", ".join(f"{t.name} {t.source_rows}" for t in first.tables if t.source_rows)
    )
    print("| run | rows copied | copy (s) | verify (s) | rows/s (copy) | MB/s (copy) |")
    print("|---|---|---|---|---|---|")
    for label, report in (("first", first), ("second (nothing left)", second)):
        rate = report.copied / report.copy_seconds if report.copy_seconds else 0.0
        print(
            f"| {label} | {report.copied} | {report.copy_seconds:.2f} | "
            f"{report.verify_seconds:.2f} | {rate:,.0f} | "
            f"{mb / report.copy_seconds if report.copied else 0:.1f} |"
        )


if __name__ == "__main__":
    main()
