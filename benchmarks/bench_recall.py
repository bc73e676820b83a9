"""Recall latency for one user with many episodes, ingest cost, and the vector store.

    python -m benchmarks.bench_recall [--episodes 10000] [--queries 300] [--json out.json]

Builds one user with N episodes from real conversation turns (LoCoMo dev, cycled with
fresh session ids and dates until N), through ``ingest_turns``, then asks Q real
questions of ``recall`` (warm caches, the first query excluded) and prints p50/p95/p99
wall time and CPU time per query, lexical and (with the extra) hybrid.  Ingest cost per
episode is measured on a fresh sample.  With ``sqlite-vec`` installed it also compares
its ``vec0`` KNN with the numpy brute force recall uses.

The machine is shared: wall time includes waiting for a core, CPU time does not; both
are printed, with the load average before and after and how many cores other processes
kept busy while the queries ran.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from memwarden.memory.embeddings import Embedder, EmbeddingsUnavailable, load_embedder
from memwarden.memory.ingest import Turn, ingest_turns
from memwarden.memory.recall import recall
from memwarden.memory.recall_eval import load_locomo
from memwarden.settings import Settings
from memwarden.store import Store

from .bench_turn import _cpu_busy_s
from .machine import describe
from .percentiles import percentile

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2] / "shared" / "datasets" / "locomo" / "locomo_dev.json"
)


class MemoEmbedder:
    """Embeds each distinct text once (the corpus is cycled), counting the real work."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.model = inner.model
        self.dim = inner.dim
        self.memo: dict[str, Any] = {}

    def embed(self, texts: Sequence[str]) -> Any:
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            for text, vector in zip(missing, self.inner.embed(missing), strict=True):
                self.memo[text] = vector
        return np.stack([self.memo[t] for t in texts])


def _turns(data: Path, n: int) -> tuple[list[Turn], list[str]]:
    conversations = load_locomo(data)
    base = [t for c in conversations for t in c.turns]
    questions = [q.text for c in conversations for q in c.questions]
    out: list[Turn] = []
    cycle = 0
    while len(out) < n:
        shift = timedelta(days=400 * cycle)
        for t in base:
            if len(out) == n:
                break
            out.append(
                replace(
                    t,
                    occurred_at=t.occurred_at + shift if t.occurred_at else None,
                    session=f"{cycle}:{t.session}",
                )
            )
        cycle += 1
    return out, questions


def _percentiles(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 50), 3),
        "p95": round(percentile(values, 95), 3),
        "p99": round(percentile(values, 99), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def _time_queries(
    store: Store, user: str, questions: Sequence[str], embedder: Embedder | None
) -> dict[str, Any]:
    wall: list[float] = []
    cpu: list[float] = []
    busy, own, start = _cpu_busy_s(), time.process_time(), time.perf_counter()
    for i, question in enumerate(questions):
        with store.read() as conn:
            w0, c0 = time.perf_counter(), time.process_time()
            recall(conn, store.search, user, question, episodes=10, beliefs=0, embedder=embedder)
            w1, c1 = time.perf_counter(), time.process_time()
        if i:  # the first query fills the caches
            wall.append((w1 - w0) * 1000)
            cpu.append((c1 - c0) * 1000)
    busy_end = _cpu_busy_s()
    others = (
        round((busy_end - busy - (time.process_time() - own)) / (time.perf_counter() - start), 2)
        if busy is not None and busy_end is not None
        else None
    )
    # What the rest of the machine used meanwhile, in cores (2 = both cores busy).
    return {"wall_ms": _percentiles(wall), "cpu_ms": _percentiles(cpu), "other_cores": others}


def _ingest_cost(turns: Sequence[Turn], embedder: Embedder | None, sample: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Settings(db=str(Path(tmp) / "ingest.db")))
        try:
            start = time.perf_counter()
            ingest_turns(store, "sample", turns[:sample], embedder=embedder)
            return round((time.perf_counter() - start) * 1000 / sample, 3)
        finally:
            store.close()


def _vector_stores(vectors: Any, queries: Any) -> dict[str, Any]:
    """numpy brute force over a cached matrix vs sqlite-vec's vec0 KNN, top 200."""
    import numpy as np

    def einsum(q: Any) -> Any:  # what recall uses
        return np.einsum("ij,j->i", vectors, q)

    def blas(q: Any) -> Any:
        return vectors @ q

    out: dict[str, Any] = {}
    for name, score in (("numpy_einsum_ms", einsum), ("numpy_blas_ms", blas)):
        times = []
        for q in queries:
            start = time.perf_counter()
            scores = score(q)
            scores.argpartition(len(scores) - 200)[-200:]
            times.append((time.perf_counter() - start) * 1000)
        out[name] = _percentiles(times)
    try:
        import sqlite_vec

        from memwarden.store.engine import sqlite_module
    except ImportError:
        out["sqlite_vec"] = "not installed"
        return out
    db = sqlite_module().connect(":memory:")
    db.enable_load_extension(True)
    sqlite_vec.load(db)
    db.execute(
        f"CREATE VIRTUAL TABLE v USING vec0(embedding float[{vectors.shape[1]}] distance_metric=cosine)"
    )
    db.executemany(
        "INSERT INTO v(rowid, embedding) VALUES (?, ?)",
        [(i + 1, np.asarray(row, dtype="<f4").tobytes()) for i, row in enumerate(vectors)],
    )
    times = []
    for q in queries:
        start = time.perf_counter()
        db.execute(
            "SELECT rowid, distance FROM v WHERE embedding MATCH ? AND k = 200",
            (np.asarray(q, dtype="<f4").tobytes(),),
        ).fetchall()
        times.append((time.perf_counter() - start) * 1000)
    out["sqlite_vec_ms"] = _percentiles(times)
    out["sqlite_vec_version"] = db.execute("SELECT vec_version()").fetchone()[0]
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--episodes", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--ingest-sample", type=int, default=300)
    parser.add_argument("--lexical", action="store_true", help="skip the embeddings runs")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    print(describe())
    report: dict[str, Any] = {"episodes": args.episodes, "load_before": os.getloadavg()}
    turns, questions = _turns(args.data, args.episodes)
    rng = random.Random(7)
    asked = rng.sample(questions, min(args.queries + 1, len(questions)))
    embedder: Embedder | None = None
    if not args.lexical:
        try:
            start = time.perf_counter()
            embedder = load_embedder()
            report["model_load_s"] = round(time.perf_counter() - start, 2)
        except EmbeddingsUnavailable as e:
            print(f"embeddings unavailable ({e}): lexical only")

    report["ingest_ms_per_episode"] = {"lexical": _ingest_cost(turns, None, args.ingest_sample)}
    if embedder is not None:
        report["ingest_ms_per_episode"]["embeddings"] = _ingest_cost(
            turns, embedder, args.ingest_sample
        )

    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Settings(db=str(Path(tmp) / "bench.db")))
        try:
            memo = MemoEmbedder(embedder) if embedder is not None else None
            start = time.perf_counter()
            ingest_turns(store, "bench", turns, embedder=memo, batch=1000)
            with store.write() as conn:
                store.search.optimize(conn)
            report["build_s"] = round(time.perf_counter() - start, 1)
            report["recall_lexical"] = _time_queries(store, "bench", asked, None)
            if embedder is not None:
                report["recall_hybrid"] = _time_queries(store, "bench", asked, embedder)
                import numpy as np

                from memwarden.memory.vectors import user_vectors

                with store.read() as conn:
                    matrix = user_vectors(conn, "bench", embedder.model, embedder.dim).episodes
                queries = embedder.embed(asked[:100])
                report["vector_store"] = _vector_stores(np.asarray(matrix), queries)
                q = embedder.embed(asked[:1])
                report["query_embedding_ms"] = _percentiles(
                    _repeat(lambda: embedder.embed(asked[:1]), 200)
                )
                del q
        finally:
            store.close()
    report["load_after"] = os.getloadavg()
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def _repeat(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


if __name__ == "__main__":
    main()
