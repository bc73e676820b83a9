"""`memwarden eval gate`: metrics, one JSON document, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .cli import run_cli

CASES = Path(__file__).with_name("gate_cases.jsonl")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("eval", "gate", *args)


def test_eval_gate_json_is_one_document(tmp_path: Path) -> None:
    proc = _run(str(CASES), "--json", "--rewrite")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["expected_action_hit_rate"] >= 0.95
    assert len(doc["results"]) == sum(1 for line in CASES.open() if line.strip())
    assert {"id", "action", "score", "categories"} <= set(doc["results"][0])


def test_eval_gate_bad_file_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "draft": "hi"}\n', encoding="utf-8")
    proc = _run(str(bad))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "expected_action" in proc.stderr


def test_eval_gate_below_the_hit_rate_floor_exits_1(tmp_path: Path) -> None:
    cases = tmp_path / "cases.jsonl"
    row = {
        "id": "c1",
        "user_input": "hi",
        "memory": [],
        "draft": "Hello!",
        "expected_action": "BLOCK",
    }
    cases.write_text(json.dumps(row) + "\n", encoding="utf-8")
    proc = _run(str(cases))
    assert proc.returncode == 1
    assert "expected_action_hit_rate" in proc.stdout


def test_eval_gate_rewrite_floor_without_the_rewrite_loop_exits_1() -> None:
    proc = _run(str(CASES), "--min-rewrite", "0.9")
    assert proc.returncode == 1
    assert "rewrite_success_rate not measured" in proc.stdout
