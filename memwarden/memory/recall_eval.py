"""Measuring recall on LoCoMo-format conversations: evidence recall@k over dialog turns.

Each conversation is loaded as one user's episodes, a dialog turn each, through
:func:`.ingest.ingest_turns` (session date as ``occurred_at``; speaker, session and
dialog id in ``meta``; an image's caption with the turn's words).  Every question of
categories 1-4 is then asked of :func:`.recall.recall`, and recall@k is the share of the
question's evidence turns among the first k episodes, averaged over questions (the
LoCoMo paper's measure), overall and per category.

Evidence ids are cleaned as the data's README says: split on ``[;\\s]+``, zero padding
stripped (``D30:05`` -> ``D30:5``), and ids that name no turn dropped (and counted).
"""

from __future__ import annotations

import json
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..settings import Settings
from ..store import Store
from .embeddings import Embedder
from .ingest import Turn, ingest_turns
from .recall import recall

__all__ = [
    "CATEGORIES",
    "Conversation",
    "Question",
    "RecallReport",
    "evaluate_recall",
    "load_locomo",
]

CATEGORIES = (1, 2, 3, 4)  # multi-hop, temporal, open-domain, single-hop (5: adversarial)
CATEGORY_NAMES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop"}
_DIALOG_ID = re.compile(r"D(\d+):(\d+)")
_SESSION = re.compile(r"session_(\d+)")
_DATE_FORMATS = ("%I:%M %p on %d %B, %Y", "%I:%M %p on %d %b, %Y", "%d %B, %Y", "%Y-%m-%d")

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True)
class Question:
    text: str
    category: int
    evidence: tuple[str, ...]  # cleaned dialog ids, each naming a turn


@dataclass(frozen=True)
class Conversation:
    id: str
    turns: tuple[Turn, ...]
    questions: tuple[Question, ...]
    dropped_evidence: int  # evidence ids that were malformed or named no turn


@dataclass
class RecallReport:
    """What ``memwarden eval recall`` prints."""

    questions: int
    dropped_evidence: int
    recall: dict[str, float]  # "k" -> mean recall@k (0..1)
    by_category: dict[str, dict[str, float]]  # category -> "k" -> recall
    latency_ms: dict[str, float]  # "p50", "p95"
    category_questions: dict[str, int] = field(default_factory=dict)
    dense: bool = False

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document: exactly these keys."""
        return {
            "questions": self.questions,
            "dropped_evidence": self.dropped_evidence,
            "recall": self.recall,
            "by_category": self.by_category,
            "latency_ms": self.latency_ms,
        }


def _session_date(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(raw.strip(), fmt)
        except ValueError:
            continue
    return None


def _clean_evidence(raw: Iterable[Any], known: set[str]) -> tuple[list[str], int]:
    kept: list[str] = []
    dropped = 0
    for item in raw:
        for part in re.split(r"[;\s]+", str(item)):
            if not part:
                continue
            m = _DIALOG_ID.fullmatch(part)
            dialog_id = f"D{int(m[1])}:{int(m[2])}" if m else None
            if dialog_id is None or dialog_id not in known:
                dropped += 1
            elif dialog_id not in kept:
                kept.append(dialog_id)
    return kept, dropped


def load_locomo(path: Path) -> list[Conversation]:
    """The conversations of a LoCoMo-format JSON file, evidence cleaned."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InputError(f"cannot read {path}: {e}") from e
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of conversations")
    out: list[Conversation] = []
    for n, sample in enumerate(data):
        if not isinstance(sample, dict) or not isinstance(sample.get("conversation"), dict):
            raise InputError(f"{path}: item {n} has no 'conversation'")
        conv = sample["conversation"]
        sessions = sorted(int(m[1]) for key in conv if (m := _SESSION.fullmatch(key)))
        turns: list[Turn] = []
        for s in sessions:
            when = _session_date(conv.get(f"session_{s}_date_time"))
            for t in conv[f"session_{s}"] or []:
                caption = t.get("blip_caption")
                turns.append(
                    Turn(
                        text=str(t.get("text") or ""),
                        occurred_at=when,
                        speaker=t.get("speaker"),
                        session=str(s),
                        image_caption=caption if isinstance(caption, str) else None,
                        meta={"dialog_id": t.get("dia_id")},
                    )
                )
        known = {str(t.meta["dialog_id"]) for t in turns}
        questions: list[Question] = []
        dropped = 0
        for qa in sample.get("qa") or []:
            category = qa.get("category")
            if category not in CATEGORIES:
                continue
            evidence, lost = _clean_evidence(qa.get("evidence") or [], known)
            dropped += lost
            if evidence:
                questions.append(
                    Question(str(qa.get("question") or ""), int(category), tuple(evidence))
                )
        out.append(
            Conversation(
                str(sample.get("sample_id") or f"conversation-{n}"),
                tuple(turns),
                tuple(questions),
                dropped,
            )
        )
    return out


def _ingested(progress: Progress | None, before: int, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    written = [before]

    def step(n: int) -> None:
        written[0] += n
        progress("ingest", written[0], total)

    return step


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def evaluate_recall(
    path: Path,
    ks: Sequence[int] = (5, 10, 25, 50),
    *,
    embedder: Embedder | None = None,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> RecallReport:
    """Recall@k of memwarden's recall on the conversations in ``path``.

    The conversations are loaded into ``settings``' database (a fresh temporary SQLite
    file by default).  ``embedder`` None means lexical recall.
    """
    if not ks or any(k <= 0 for k in ks):
        raise InputError("k must be positive integers")
    ks = sorted(set(ks))
    conversations = load_locomo(path)
    with tempfile.TemporaryDirectory(prefix="memwarden-eval-") as tmp:
        cfg = settings or Settings(db=str(Path(tmp) / "recall.db"))
        store = Store.open(cfg)
        try:
            return _run(store, conversations, ks, embedder, progress)
        finally:
            store.close()


def _run(
    store: Store,
    conversations: Sequence[Conversation],
    ks: Sequence[int],
    embedder: Embedder | None,
    progress: Progress | None,
) -> RecallReport:
    total_turns = sum(len(c.turns) for c in conversations)
    total_questions = sum(len(c.questions) for c in conversations)
    done = 0
    dialog_of: dict[tuple[str, int], str] = {}
    for conv in conversations:
        ids = ingest_turns(
            store,
            conv.id,
            conv.turns,
            embedder=embedder,
            progress=_ingested(progress, done, total_turns),
        )
        kept = [t for t in conv.turns if t.text.strip() or t.image_caption]
        for episode_id, turn in zip(ids, kept, strict=True):
            dialog_of[(conv.id, episode_id)] = str(turn.meta["dialog_id"])
        done += len(conv.turns)
        if progress:
            progress("ingest", done, total_turns)
    with store.write() as conn:
        store.search.optimize(conn)

    top = max(ks)
    sums = {k: 0.0 for k in ks}
    by_cat: dict[int, dict[int, float]] = {c: {k: 0.0 for k in ks} for c in CATEGORIES}
    per_cat: dict[int, int] = dict.fromkeys(CATEGORIES, 0)
    latencies: list[float] = []
    asked = 0
    for conv in conversations:
        for question in conv.questions:
            with store.read() as conn:
                start = time.perf_counter()
                found = recall(
                    conn,
                    store.search,
                    conv.id,
                    question.text,
                    episodes=top,
                    beliefs=0,
                    embedder=embedder,
                )
                latencies.append((time.perf_counter() - start) * 1000)
            ranked = [dialog_of.get((conv.id, m.id)) for m in found if m.kind == "episode"]
            wanted = set(question.evidence)
            for k in ks:
                share = len(wanted.intersection(ranked[:k])) / len(wanted)
                sums[k] += share
                by_cat[question.category][k] += share
            per_cat[question.category] += 1
            asked += 1
            if progress:
                progress("recall", asked, total_questions)

    def mean(total: float, n: int) -> float:
        return round(total / n, 4) if n else 0.0

    return RecallReport(
        questions=asked,
        dropped_evidence=sum(c.dropped_evidence for c in conversations),
        recall={str(k): mean(sums[k], asked) for k in ks},
        by_category={
            str(c): {str(k): mean(by_cat[c][k], per_cat[c]) for k in ks}
            for c in CATEGORIES
            if per_cat[c]
        },
        latency_ms={
            "p50": round(_percentile(latencies, 0.50), 3),
            "p95": round(_percentile(latencies, 0.95), 3),
        },
        category_questions={str(c): n for c, n in per_cat.items() if n},
        dense=embedder is not None,
    )
