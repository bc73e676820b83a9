"""The agent: one turn is recall, draft, gate, store, learn.

agent = Agent.open(Settings(db="memory.db"))
result = agent.turn("ana", "I moved to Berlin")
result.reply   # "Got it, I'll remember that you live in Berlin now (I had Porto before)."
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from .clock import utcnow
from .commands import SlashCommands, parse_id, validate_user_id
from .errors import ConcurrencyConflict, InputError
from .gate import Gate, GateConfig, GateDecision, GateInput, RiskGate, redact_secrets
from .llm import ChatModel, DraftContext, DraftModel, from_settings
from .logs import event
from .memory import tasks as task_store
from .memory.beliefs import apply_facts, beliefs_by_key, list_beliefs
from .memory.embeddings import embedder_for
from .memory.episodes import insert_episode
from .memory.extract import extract_facts
from .memory.facts import Fact
from .memory.indexing import TurnVectors, embed_turn_later, store_turn_vectors
from .memory.llm_extract import LLMExtractor
from .memory.recall import RecalledMemory, recall
from .memory.references import BELIEF, quoted_beliefs, record_recalls, still_there
from .memory.taskbook import TaskBook
from .memory.taskbook import register_commands as register_task_commands
from .memory.tasks import Task
from .settings import Settings
from .store import Store
from .store.blocks import with_next_id
from .store.schema import episodes, risk_log
from .turn import TurnResult

__all__ = ["MAX_INPUT_CHARS", "Agent", "parse_id", "validate_user_id"]

MAX_INPUT_CHARS = 20_000
WRITE_ATTEMPTS = 5
Extractor = Callable[[str], list[Fact]]


class Agent:
    """A memory agent over one store, serving any number of users."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        *,
        llm: DraftModel | None = None,
        gate: Gate | None = None,
        extractor: Extractor | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.llm = llm if llm is not None else from_settings(settings)
        self.gate = gate if gate is not None else default_gate(settings)
        if extractor is None:
            use_llm = settings.llm_extract_beliefs and isinstance(self.llm, ChatModel)
            extractor = LLMExtractor(self.llm) if use_llm else extract_facts  # type: ignore[arg-type]
        self.extract = extractor
        self.commands = SlashCommands()
        self.tasks = TaskBook(store)
        register_task_commands(self.commands, self.tasks)
        # Imported here: memwarden.governance builds on this module (validate_user_id).
        from .governance import Governance, register_commands

        self.governance = Governance(store, settings)
        register_commands(self.commands, self.governance)

    @classmethod
    def open(cls, settings: Settings, **kwargs: Any) -> Agent:
        """Open the configured store (migrating it to head) and build an agent on it."""
        return cls(Store.open(settings), settings, **kwargs)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- the turn ---------------------------------------------------------------------

    def turn(self, user_id: str, text: str) -> TurnResult:
        """Answer ``text`` from ``user_id``; a text starting with ``/`` is a command."""
        user_id = validate_user_id(user_id)
        if not isinstance(text, str) or not text.strip():
            raise InputError("say something: the text is empty")
        if len(text) > MAX_INPUT_CHARS:
            raise InputError(f"the text is too long ({len(text)} > {MAX_INPUT_CHARS} characters)")
        if text.lstrip().startswith("/"):
            return self.command(user_id, text)
        return self._turn(user_id, text.strip())

    def command(self, user_id: str, text: str) -> TurnResult:
        """Run a slash command; its answer has the shape of a turn, with no episode."""
        name, outcome = self.commands.run(validate_user_id(user_id), text)
        return TurnResult(
            episode_id=None,
            reply=outcome.reply,
            action="NONE",
            draft_total_score=0.0,
            command=name,
            ok=outcome.ok,
            result=outcome.result,
        )

    def _turn(self, user_id: str, text: str) -> TurnResult:
        # A delete that commits while the reply is drafted may take a memory the draft
        # drew on: the turn is then answered again from what is left (up to
        # WRITE_ATTEMPTS times; past that it is a conflict, and nothing is stored).
        for attempt in range(WRITE_ATTEMPTS):
            try:
                return self._answer(user_id, text)
            except _DrawnMemoryGone as e:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise ConcurrencyConflict("memories changed while answering: try again") from e
        raise AssertionError("unreachable")

    def _answer(self, user_id: str, text: str) -> TurnResult:
        timings: dict[str, float] = {}
        # What is stored of the user's words has its secrets masked: transcripts are
        # kept, card numbers and passwords are not.  The draft model sees the original.
        kept = redact_secrets(text)
        with _timed(timings, "extract_ms"):
            facts = self.extract(kept)
            task_title = task_store.parse_task_request(kept)
        embedder = embedder_for(self.settings)
        # The text's vector (recall query and episode vector) is computed on the
        # embedding thread while recall reads the full-text index.
        pending = embed_turn_later(embedder, kept, [f.statement for f in facts])
        vectors: TurnVectors | None = None
        with _timed(timings, "recall_ms"), self.store.read() as conn:
            recalled = recall(
                conn,
                self.store.search,
                user_id,
                text,
                episodes=self.settings.recall_episodes,
                beliefs=self.settings.recall_beliefs,
                embedder=embedder,
                pending_vector=(lambda: pending.result().text) if pending else None,
            )
            profile = list_beliefs(conn, user_id)[:200]
            replaced = beliefs_by_key(conn, user_id, (f.key for f in facts))
            previous = {k: b.value for k, b in replaced.items()}
            open_tasks = [t.title for t in task_store.list_tasks(conn, user_id, "open")]
        if pending is not None:
            vectors = pending.result()
            timings["embed_ms"] = vectors.ms  # overlapped with recall_ms
        context = DraftContext(
            profile=profile,
            recalled=recalled,
            new_facts=facts,
            previous_values=previous,
            tasks_created=[task_title] if task_title else [],
            open_tasks=open_tasks + ([task_title] if task_title else []),
        )
        drafts: list[str] = []

        def regenerate(extra_context: str) -> str:
            drafts.append(self.llm.generate_draft(text, context, extra_context))
            return drafts[-1]

        with _timed(timings, "draft_ms"):
            drafts.append(self.llm.generate_draft(text, context))
        with _timed(timings, "gate_ms"):
            decision = self.gate.review(
                GateInput(
                    user_input=text,
                    draft=drafts[0],
                    memory=context.memory_texts(),
                    tasks_created=context.tasks_created,
                ),
                regenerate,
            )
        with _timed(timings, "store_ms"):
            # Beliefs the drafts or reply quote without recalling them: a delete of one
            # must find this turn too (memory/references.py).
            quoted = quoted_beliefs(
                [
                    *((b.id, b.key, b.value) for b in profile),
                    *((b.id, k, b.value) for k, b in replaced.items()),
                ],
                [*drafts, decision.reply],
            )
            episode_id, changes, touched = self._store_turn(
                user_id,
                kept,
                decision.redacted_draft or drafts[0],
                decision,
                facts,
                task_title,
                recalled,
                timings,
                vectors,
                quoted,
            )
        event(
            "EPISODE",
            "Episode %d created (score: %s, action: %s)",
            episode_id,
            float(decision.draft_total_score),
            decision.action.value,
        )
        return TurnResult(
            episode_id=episode_id,
            reply=decision.reply,
            action=decision.action.value,
            draft_total_score=decision.draft_total_score,
            final_score=decision.final_score,
            recalled=tuple(recalled),
            tasks=tuple(touched),
            beliefs=tuple(changes),
            timings_ms=timings,
        )

    def _store_turn(
        self,
        user_id: str,
        text: str,
        draft: str,
        decision: GateDecision,
        facts: Sequence[Fact],
        task_title: str | None,
        recalled: Sequence[RecalledMemory],
        timings: dict[str, float],
        vectors: TurnVectors | None = None,
        quoted: Sequence[int] = (),
    ) -> tuple[int, list[Any], list[Task]]:
        # Everything a turn writes is one transaction: the episode, its risk_log row,
        # beliefs and tasks (and, by trigger, their full-text entries).  It starts by
        # taking the user's write lock, so the user's turns are stored one at a time in
        # commit order, each reading what the one before wrote (docs/scaling.md).  A
        # busy database, a lock wait past the timeout, a serialization failure or a
        # belief changed by a writer that took no lock make us retry with fresh reads.
        for attempt in range(WRITE_ATTEMPTS):
            try:
                with self.store.write(user_id) as conn:
                    return self._write_turn(
                        conn,
                        user_id,
                        text,
                        draft,
                        decision,
                        facts,
                        task_title,
                        recalled,
                        timings,
                        vectors,
                        quoted,
                    )
            except ConcurrencyConflict:
                if attempt == WRITE_ATTEMPTS - 1:
                    raise
                # Exponential backoff with jitter, so retrying writers do not collide again.
                time.sleep(0.01 * 2**attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")

    def _write_turn(
        self,
        conn: Connection,
        user_id: str,
        text: str,
        draft: str,
        decision: GateDecision,
        facts: Sequence[Fact],
        task_title: str | None,
        recalled: Sequence[RecalledMemory],
        timings: dict[str, float],
        vectors: TurnVectors | None = None,
        quoted: Sequence[int] = (),
    ) -> tuple[int, list[Any], list[Task]]:
        refs = [*((m.kind, m.id) for m in recalled), *((BELIEF, b) for b in quoted)]
        # Under the user's lock, so no delete of the user's can commit before this turn
        # does: a memory the draft drew on that is gone now was deleted since it was
        # read, and the reply may quote it.
        if not still_there(conn, user_id, refs):
            raise _DrawnMemoryGone
        # A turn is never stamped before the user's previous one, even when workers'
        # clocks disagree, so ts order is id order for each user.
        now = max(utcnow(), _latest_ts(conn, user_id) or datetime.min)
        trace = {
            "recalled": [m.as_trace() for m in recalled],
            "drafts": [draft] + [a.draft for a in decision.attempts],
            "timings_ms": timings,
            "llm": self.llm.name,
        }
        episode_id = insert_episode(
            conn,
            user_id=user_id,
            ts=now,
            user_input=text,
            draft=draft,
            reply=decision.reply,
            action=decision.action.value,
            draft_total_score=decision.draft_total_score,
            final_score=decision.final_score,
            trace=trace,
        )
        risk = {
            "user_id": user_id,
            "episode_id": episode_id,
            "ts": now,
            "draft_total_score": decision.draft_total_score,
            "final_score": decision.final_score,
            "action": decision.action.value,
            "scores": json.dumps(decision.assessment.scores()),
            "details": json.dumps(risk_details(decision)),
        }
        conn.execute(_INSERT_RISK, with_next_id(conn, risk_log, user_id, risk))
        record_recalls(conn, user_id, episode_id, refs)
        changes = apply_facts(conn, user_id, episode_id, facts, now)
        store_turn_vectors(conn, user_id, episode_id, changes, vectors)
        touched = (
            [task_store.create_task(conn, user_id, task_title, now, episode_id)]
            if task_title
            else []
        )
        return episode_id, changes, touched


class _DrawnMemoryGone(Exception):
    """A memory the turn's draft drew on was deleted before the turn was stored."""


# The statements of every turn's write, built once (building one anew cost as much as
# running it).
_INSERT_RISK = insert(risk_log)
_LATEST_TS = (
    select(episodes.c.ts)
    .where(episodes.c.user_id == bindparam("user_id"))
    .order_by(episodes.c.id.desc())
    .limit(1)
)


def _latest_ts(conn: Connection, user_id: str) -> datetime | None:
    """When the user's newest episode was stored (one probe of the user's id index)."""
    latest: datetime | None = conn.execute(_LATEST_TS, {"user_id": user_id}).scalar()
    return latest


def risk_details(decision: GateDecision) -> dict[str, Any]:
    """What ``risk_log.details`` holds: flagged spans and every rewrite attempt."""
    return {
        "categories": [
            {
                "category": c.category,
                "score": c.score,
                "spans": [asdict(s) for s in c.spans],
            }
            for c in decision.assessment.categories
        ],
        "attempts": [
            {
                "method": a.method,
                "extra_context": a.extra_context,
                "draft": a.draft,
                "score": a.assessment.total,
                "action": a.assessment.action.value,
                "scores": a.assessment.scores(),
            }
            for a in decision.attempts
        ],
        "final_score": decision.final_score,
    }


def default_gate(settings: Settings) -> Gate:
    """The gate used when none is passed in: the risk gate, configured by settings."""
    return RiskGate(GateConfig(max_rewrites=settings.gate_max_rewrites))


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = round((time.perf_counter() - start) * 1000, 3)
