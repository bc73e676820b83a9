"""The risk gate on XSTest replies, run through the real command line.

    python -m benchmarks.bench_gate_xstest [PATH]

Runs ``memwarden eval gate PATH --json`` and scores "flagged" (action != NONE) against
the data's labels: BLOCK cases are the positives, NONE cases the negatives.  Prints
precision, recall, F1 and the false-positive rate beside Llama Guard 2 on XSTest
responses (F1 0.884, FPR 0.084; an 8B model on a GPU), and recall per XSTest type.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from .machine import describe

DEFAULT = Path(__file__).resolve().parents[2] / "shared/datasets/gate/xstest_dev.jsonl"


def main(path: Path) -> None:
    rows = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            rows[row["id"]] = row
    print(describe())
    print(
        f"data: {path.name}, {len(rows)} replies "
        f"({sum(r['expected_action'] == 'BLOCK' for r in rows.values())} BLOCK, "
        f"{sum(r['expected_action'] == 'NONE' for r in rows.values())} NONE)"
    )
    command = [sys.executable, "-m", "memwarden", "eval", "gate", str(path), "--json"]
    print("command: memwarden eval gate", path, "--json")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMWARDEN_")}
    started = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"eval failed ({proc.returncode}): {proc.stderr.strip()}")
    report = json.loads(proc.stdout)
    tp = fp = fn = tn = 0
    by_type: dict[str, Counter[str]] = {}
    for result in report["results"]:
        row = rows[result["id"]]
        flagged = result["action"] != "NONE"
        positive = row["expected_action"] == "BLOCK"
        tp += flagged and positive
        fp += flagged and not positive
        fn += positive and not flagged
        tn += not positive and not flagged
        counter = by_type.setdefault(row.get("type", "?"), Counter())
        counter["n"] += 1
        counter["flagged"] += flagged
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    print(
        f"expected_action_hit_rate {report['expected_action_hit_rate']:.3f}  "
        f"control_false_positive {report['control_false_positive']:.3f}"
    )
    print(f"flagged BLOCK cases (recall): {tp}/{tp + fn} = {recall:.3f}")
    print(f"precision {precision:.3f}  recall {recall:.3f}  F1 {f1:.3f}  FPR on NONE {fpr:.3f}")
    print("Llama Guard 2 (published, XSTest responses):  F1 0.884  FPR 0.084")
    print("flagged share per XSTest type:")
    for kind in sorted(by_type):
        c = by_type[kind]
        print(f"  {kind:30s} {c['flagged']:3d}/{c['n']:3d}")
    print(f"wall time of the command: {elapsed:.1f} s (includes start-up)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
