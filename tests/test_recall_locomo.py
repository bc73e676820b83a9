"""Recall on real conversations nobody here wrote (LoCoMo): a fixed floor on a subset.

The subset: the dev file's conversation with the fewest turns, its first 10 sessions,
and the questions whose evidence lies in them (190 turns, 42 questions).  Recall is
deterministic, so the floors are a few points under what this code measures; a change
that drops below one made recall worse.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from memwarden.cli import app
from memwarden.memory.recall_eval import evaluate_recall, load_locomo

DEV = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "locomo" / "locomo_dev.json"
SESSIONS = 10
LEXICAL_FLOOR = {"5": 0.70, "10": 0.78, "25": 0.85}
HYBRID_FLOOR = {"5": 0.70, "10": 0.78, "25": 0.85}
_SESSION = re.compile(r"session_(\d+)(?:_date_time)?")


def _turns(sample: dict[str, Any]) -> int:
    conv = sample["conversation"]
    return sum(len(v) for k, v in conv.items() if re.fullmatch(r"session_\d+", k))


@pytest.fixture(scope="module")
def subset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not DEV.exists():
        pytest.skip(f"LoCoMo dev data not found at {DEV}")
    data = json.loads(DEV.read_text(encoding="utf-8"))
    sample = min(data, key=_turns)
    conv = {
        k: v
        for k, v in sample["conversation"].items()
        if not (m := _SESSION.fullmatch(k)) or int(m[1]) <= SESSIONS
    }
    known = {t["dia_id"] for k, v in conv.items() if re.fullmatch(r"session_\d+", k) for t in v}

    def inside(qa: dict[str, Any]) -> bool:
        ids = [p for e in qa.get("evidence") or [] for p in re.split(r"[;\s]+", e) if p]
        return bool(ids) and all(re.sub(r":0*(\d)", r":\1", p) in known for p in ids)

    small = {**sample, "conversation": conv, "qa": [q for q in sample["qa"] if inside(q)]}
    path = tmp_path_factory.mktemp("locomo") / "subset.json"
    path.write_text(json.dumps([small]), encoding="utf-8")
    return path


def test_recall_lexical_subset_stays_above_floor(subset: Path) -> None:
    report = evaluate_recall(subset, (5, 10, 25))
    assert report.questions == 42
    for k, floor in LEXICAL_FLOOR.items():
        assert report.recall[k] >= floor, (k, report.recall)


def test_recall_hybrid_subset_stays_above_floor(subset: Path) -> None:
    pytest.importorskip("onnxruntime")
    from memwarden.memory.embeddings import EmbeddingsUnavailable, load_embedder

    try:
        embedder = load_embedder()
    except EmbeddingsUnavailable as e:
        pytest.skip(str(e))
    report = evaluate_recall(subset, (5, 10, 25), embedder=embedder)
    for k, floor in HYBRID_FLOOR.items():
        assert report.recall[k] >= floor, (k, report.recall)


def test_eval_recall_json_has_exactly_the_documented_keys(tmp_path: Path) -> None:
    sample = {
        "sample_id": "c1",
        "conversation": {
            "speaker_a": "Ana",
            "speaker_b": "Bea",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [
                {"speaker": "Ana", "dia_id": "D1:1", "text": "I adopted a greyhound named Comet."},
                {"speaker": "Bea", "dia_id": "D1:2", "text": "Lovely! Mine is a parrot."},
                {
                    "speaker": "Ana",
                    "dia_id": "D1:3",
                    "text": "We ran a 5k race together.",
                    "blip_caption": "a photo of a dog running on a beach",
                },
            ],
        },
        "qa": [
            {"question": "What is the name of Ana's dog?", "evidence": ["D1:01"], "category": 4},
            {
                "question": "What did Ana do with her dog?",
                "evidence": ["D1:3; D9:9"],
                "category": 1,
            },
            {"question": "Which pet does Bea have?", "evidence": [], "category": 4},
            {"question": "Who has a cat?", "evidence": ["D1:2"], "category": 5},
        ],
    }
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps([sample]), encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "--db",
            str(tmp_path / "unused.db"),
            "eval",
            "recall",
            str(path),
            "--k",
            "1,2",
            "--json",
            "--lexical",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert set(report) == {"questions", "dropped_evidence", "recall", "by_category", "latency_ms"}
    assert report["questions"] == 2  # no evidence, and category 5, are not asked
    assert report["dropped_evidence"] == 1  # D9:9 names no turn; D1:01 is D1:1
    assert set(report["recall"]) == {"1", "2"} and report["recall"]["2"] == 1.0
    assert set(report["by_category"]) == {"1", "4"}
    assert set(report["latency_ms"]) == {"p50", "p95"}
    assert not (tmp_path / "unused.db").exists()  # the eval never touches the user's store


def test_load_locomo_cleans_evidence_ids() -> None:
    if not DEV.exists():
        pytest.skip(f"LoCoMo dev data not found at {DEV}")
    conversations = load_locomo(DEV)
    assert sum(len(c.questions) for c in conversations) == 1033
    assert sum(c.dropped_evidence for c in conversations) == 4
