"""The risk gate's release metrics on our own regression set, through the command line.

    python -m benchmarks.bench_gate_regression [PATH]

Runs ``memwarden eval gate tests/gate_cases.jsonl --rewrite --json`` and prints the three
seed metrics and the confusion matrix.  Goals (issue 3): hit rate >= 0.95, control false
positive <= 0.02, rewrite success >= 0.90 (the seed's was 0.56).  The regenerate step of
``--rewrite`` returns the draft unchanged, so the rewrite figure is the gate's own
deterministic repair.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from .machine import describe

DEFAULT = Path(__file__).resolve().parents[1] / "tests/gate_cases.jsonl"


def main(path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    print(describe())
    print(
        f"data: {path.name}, {len(rows)} cases {dict(Counter(r['expected_action'] for r in rows))}"
    )
    print("command: memwarden eval gate", path, "--rewrite --json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMWARDEN_")}
    proc = subprocess.run(
        [sys.executable, "-m", "memwarden", "eval", "gate", str(path), "--rewrite", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode not in (0, 1):
        raise SystemExit(f"eval failed ({proc.returncode}): {proc.stderr.strip()}")
    report = json.loads(proc.stdout)
    print(f"expected_action_hit_rate {report['expected_action_hit_rate']:.4f}  (goal >= 0.95)")
    print(f"control_false_positive   {report['control_false_positive']:.4f}  (goal <= 0.02)")
    print(f"rewrite_success_rate     {report['rewrite_success_rate']:.4f}  (goal >= 0.90)")
    print("confusion matrix (rows expected, columns gate):")
    for expected, row in report["confusion_matrix"].items():
        print(f"  {expected:8s} " + "  ".join(f"{k}={v}" for k, v in row.items()))
    misses = [r for r in report["results"] if r["action"] != r["expected_action"]]
    for miss in misses:
        print(f"  miss: {miss['id']} expected {miss['expected_action']} got {miss['action']}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
