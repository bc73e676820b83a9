"""Gate latency per 1,000-character draft (``RiskGate.assess``), on this machine.

    python -m benchmarks.bench_gate_latency

Drafts: every draft of tests/gate_cases.jsonl and of the XSTest dev replies, repeated or
cut to exactly 1,000 characters (with the case's user input and memory).  Each is timed
``REPEATS`` times after a warm-up; the figure per draft is the median of its runs, and
p50/p95/max are taken over drafts.  ``review`` (with repair) is timed on the REWRITE
cases too.  Goal (issue 3): p95 <= 5 ms per 1,000-character draft.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

from memwarden.gate import GateInput, RiskGate

from .machine import describe
from .percentiles import percentile

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (ROOT / "tests/gate_cases.jsonl", ROOT.parent / "shared/datasets/gate/xstest_dev.jsonl")
REPEATS = 7
LENGTH = 1000


def _inputs() -> tuple[list[GateInput], list[GateInput], list[bool]]:
    drafts: list[GateInput] = []
    benign: list[bool] = []
    rewrites: list[GateInput] = []
    for source in SOURCES:
        if not source.exists():
            continue
        for line in source.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            text = row["draft"]
            while len(text) < LENGTH:
                text = text + "\n" + row["draft"]
            gate_input = GateInput(
                row["user_input"],
                text[:LENGTH],
                row.get("memory", []),
                row.get("tasks_created", []),
            )
            drafts.append(gate_input)
            benign.append(row["expected_action"] == "NONE")
            if row["expected_action"] == "REWRITE":
                rewrites.append(
                    GateInput(
                        row["user_input"],
                        row["draft"],
                        row.get("memory", []),
                        row.get("tasks_created", []),
                    )
                )
    return drafts, rewrites, benign


def _percentiles(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50):.2f} ms  p95 {percentile(values, 95):.2f} ms  "
        f"max {max(values):.2f} ms  mean {statistics.fmean(values):.2f} ms"
    )


def main() -> None:
    gate = RiskGate()
    drafts, rewrites, benign = _inputs()
    print(describe())
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"data: {len(drafts)} drafts of exactly {LENGTH} characters, {REPEATS} runs each")
    for gate_input in drafts:
        gate.assess(gate_input)
    per_draft: list[float] = []
    for gate_input in drafts:
        runs = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            gate.assess(gate_input)
            runs.append((time.perf_counter() - started) * 1000)
        per_draft.append(statistics.median(runs))
    print("assess, all drafts:", _percentiles(per_draft), "(goal p95 <= 5 ms)")
    controls = [t for t, ok in zip(per_draft, benign, strict=True) if ok]
    print(f"assess, the {len(controls)} drafts expected NONE:", _percentiles(controls))
    per_review: list[float] = []
    for gate_input in rewrites:
        runs = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            gate.review(gate_input, lambda _context, _d=gate_input.draft: _d)
            runs.append((time.perf_counter() - started) * 1000)
        per_review.append(statistics.median(runs))
    if per_review:
        print(
            f"review of {len(per_review)} REWRITE drafts (as written, with repair):",
            _percentiles(per_review),
        )


if __name__ == "__main__":
    main()
