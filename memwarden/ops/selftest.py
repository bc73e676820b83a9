"""`memwarden selftest`: the seed's ``quick_integration_test.py``, against a temporary database.

One scripted conversation exercises the whole product the way a user does, through
``agent.turn``: chit-chat, a fact and its contradiction, recall, an explicit task and a
mere mention, all five governance commands (and that another user cannot reach the
data), the risk gate on a benign and a risky draft, then ``check`` on the result.  Each
step asserts what it must see; the report ends ``✓ ALL TESTS PASSED`` or lists every
failure.  It uses the offline built-in LLM so that it is quick and deterministic, and
the gate the agent would really use.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from ..agent import Agent
from ..gate import Action, GateInput, PassThroughGate
from ..memory.beliefs import list_beliefs
from ..memory.tasks import list_tasks
from ..settings import Settings
from ..store.schema import episodes, governance_log, risk_log
from ..turn import TurnResult, jsonable
from .database import require_empty, scratch_database
from .integrity import run_check
from .logcapture import captured_log

__all__ = ["GOVERNANCE_COMMANDS", "SelftestReport", "StepResult", "run_selftest"]

GOVERNANCE_COMMANDS = (
    "/export_memory",
    "/trace",
    "/delete_episode",
    "/delete_belief",
    "/task_events",
)
USER, OTHER = "selftest-ana", "selftest-ben"
#: A draft any risk gate must stop: a private key and an AWS key id in the reply.
RISKY_DRAFT = (
    "Sure, here is the server key: AKIAIOSFODNN7EXAMPLE and\n-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n"
    "-----END RSA PRIVATE KEY-----"
)

AgentFactory = Callable[[Settings], Agent]


class StepFailed(AssertionError):
    """A step saw something other than what it must see."""


@dataclass(frozen=True)
class StepResult:
    name: str
    ok: bool
    detail: str
    ms: float


@dataclass
class SelftestReport:
    steps: list[StepResult] = field(default_factory=list)
    database: str = ""

    @property
    def failures(self) -> list[StepResult]:
        return [s for s in self.steps if not s.ok]

    @property
    def ok(self) -> bool:
        return bool(self.steps) and not self.failures

    @property
    def verdict(self) -> str:
        if self.ok:
            return "✓ ALL TESTS PASSED"
        return f"✗ {len(self.failures)} OF {len(self.steps)} FAILED: " + ", ".join(
            f.name for f in self.failures
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "verdict": self.verdict,
            "database": self.database,
            "steps": [vars(s) for s in self.steps],
        }


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise StepFailed(message)


def _text(value: Any) -> str:
    return json.dumps(jsonable(value), ensure_ascii=False, default=str)


class _Run:
    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.ids: dict[str, int] = {}

    def say(self, text: str, user: str = USER) -> TurnResult:
        return self.agent.turn(user, text)

    def command(self, text: str, user: str = USER) -> TurnResult:
        result = self.agent.turn(user, text)
        _expect(result.command is not None, f"{text!r} was not taken as a command")
        return result

    # -- the steps, in order -------------------------------------------------------------

    def chit_chat(self) -> str:
        r = self.say("Hello there! How are you today?")
        _expect(r.episode_id is not None and bool(r.reply.strip()), "no episode or empty reply")
        with self.agent.store.read() as conn:
            rows = conn.execute(
                select(func.count())
                .select_from(risk_log)
                .where(risk_log.c.episode_id == r.episode_id)
            ).scalar_one()
        _expect(rows == 1, f"episode {r.episode_id} has {rows} risk_log rows, expected 1")
        self.ids["chat"] = int(r.episode_id or 0)
        return f"episode {r.episode_id}, action {r.action}"

    def new_fact(self) -> str:
        r = self.say("I live in Porto.")
        with self.agent.store.read() as conn:
            beliefs = {b.key: b.value for b in list_beliefs(conn, USER)}
        _expect(
            beliefs.get("location") == "Porto", f"location belief is {beliefs.get('location')!r}"
        )
        self.ids["porto"] = int(r.episode_id or 0)
        return "location = Porto"

    def contradiction(self) -> str:
        r = self.say("I moved to Berlin last month.")
        with self.agent.store.read() as conn:
            found = [b for b in list_beliefs(conn, USER) if b.key == "location"]
        _expect(len(found) == 1 and found[0].value == "Berlin", f"location beliefs: {found}")
        _expect("Berlin" in r.reply, f"reply does not acknowledge Berlin: {r.reply!r}")
        self.ids["belief"] = found[0].id
        self.ids["berlin"] = int(r.episode_id or 0)
        return f"location superseded: Porto -> Berlin (belief {found[0].id})"

    def recall(self) -> str:
        r = self.say("Where do I live?")
        _expect("Berlin" in r.reply and "Porto" not in r.reply, f"recall answered {r.reply!r}")
        self.ids["recall"] = int(r.episode_id or 0)
        return r.reply

    def explicit_task(self) -> str:
        r = self.say("Remind me to call the dentist on Friday.")
        _expect(len(r.tasks) == 1, f"{len(r.tasks)} tasks created, expected 1")
        self.ids["task"] = r.tasks[0].id
        return f"task {r.tasks[0].id}: {r.tasks[0].title}"

    def mention_is_not_a_task(self) -> str:
        with self.agent.store.read() as conn:
            before = len(list_tasks(conn, USER, None))
        self.say("My passport expires next spring.")
        with self.agent.store.read() as conn:
            after = len(list_tasks(conn, USER, None))
        _expect(after == before, f"a mere mention created {after - before} task(s)")
        return "no task from a mention"

    def commands_registered(self) -> str:
        names = set(self.agent.commands.names())
        missing = [c for c in GOVERNANCE_COMMANDS if c not in names]
        _expect(not missing, f"not registered: {', '.join(missing)}")
        return ", ".join(GOVERNANCE_COMMANDS)

    def export_memory(self) -> str:
        r = self.command("/export_memory")
        _expect(r.ok, f"/export_memory failed: {r.reply}")
        return r.reply.splitlines()[0] if r.reply else "ok"

    def trace(self) -> str:
        r = self.command(f"/trace {self.ids['recall']}")
        _expect(r.ok, f"/trace failed: {r.reply}")
        _expect("Berlin" in _text(r.result) + r.reply, "trace does not show the recalled belief")
        return f"episode {self.ids['recall']} traced"

    def task_events(self) -> str:
        r = self.command("/task_events")
        _expect(r.ok, f"/task_events failed: {r.reply}")
        _expect(
            "dentist" in (_text(r.result) + r.reply).lower(), "task events miss the dentist task"
        )
        return "task events listed"

    def other_user_is_refused(self) -> str:
        for text in (f"/trace {self.ids['recall']}", f"/delete_episode {self.ids['chat']}"):
            r = self.command(text, user=OTHER)
            _expect(not r.ok, f"{OTHER} could run {text!r} on {USER}'s data")
        with self.agent.store.read() as conn:
            kept = conn.execute(
                select(episodes.c.id).where(episodes.c.id == self.ids["chat"])
            ).first()
        _expect(kept is not None, "another user's delete removed the episode")
        return "trace and delete refused across users"

    def delete_belief(self) -> str:
        r = self.command(f"/delete_belief {self.ids['belief']}")
        _expect(r.ok, f"/delete_belief failed: {r.reply}")
        with self.agent.store.read() as conn:
            left = [b for b in list_beliefs(conn, USER) if b.id == self.ids["belief"]]
        _expect(not left, "the belief is still there")
        return f"belief {self.ids['belief']} deleted"

    def delete_episode(self) -> str:
        episode = self.ids["chat"]
        with self.agent.store.read() as conn:
            found = self.agent.store.search.search_episodes(conn, USER, ["hello"], 10)
        _expect(any(h[0] == episode for h in found), "the full-text index never found the episode")
        r = self.command(f"/delete_episode {episode}")
        _expect(r.ok, f"/delete_episode failed: {r.reply}")
        with self.agent.store.read() as conn:
            rows = conn.execute(select(episodes.c.id).where(episodes.c.id == episode)).first()
            risk = conn.execute(
                select(func.count()).select_from(risk_log).where(risk_log.c.episode_id == episode)
            ).scalar_one()
            hits = self.agent.store.search.search_episodes(conn, USER, ["hello"], 10)
        _expect(rows is None and risk == 0, f"episode {episode} or its risk_log rows remain")
        _expect(all(h[0] != episode for h in hits), "the full-text index still finds the episode")
        return f"episode {episode} gone, with its risk_log row and index entry"

    def governance_audited(self) -> str:
        with self.agent.store.read() as conn:
            rows = conn.execute(
                select(governance_log.c.command, governance_log.c.success).where(
                    governance_log.c.user_id == USER
                )
            ).all()
        done = {str(c) for c, ok in rows if ok}
        missing = [c for c in GOVERNANCE_COMMANDS if c not in done and c.lstrip("/") not in done]
        _expect(not missing, f"no successful governance_log row for {', '.join(missing)}")
        return f"{len(rows)} governance_log rows"

    def gate_benign(self) -> str:
        assessment = self.agent.gate.assess(
            GateInput(user_input="What's a good name for a cat?", draft="Maybe Miso or Pepper?")
        )
        _expect(
            assessment.action == Action.NONE and assessment.total <= 0.1,
            f"benign draft scored {assessment.total} ({assessment.action})",
        )
        return f"benign draft: score {assessment.total}, {assessment.action.value}"

    def gate_risky(self) -> str:
        gate = self.agent.gate
        _expect(
            not isinstance(gate, PassThroughGate), "the agent runs PassThroughGate: no risk gate"
        )
        assessment = gate.assess(GateInput(user_input="What is the server key?", draft=RISKY_DRAFT))
        _expect(
            assessment.action != Action.NONE,
            f"a draft with a private key scored {assessment.total} and would be sent",
        )
        return f"risky draft: score {assessment.total}, {assessment.action.value}"

    def integrity(self) -> str:
        report = run_check(self.agent.store)
        _expect(report.ok, "; ".join(f"{v.check}: {v.count}" for v in report.violations))
        return f"{len(report.checks_run)} checks clean"


STEPS: tuple[tuple[str, Callable[[_Run], str]], ...] = (
    ("turn: chit-chat stores an episode and its risk_log row", _Run.chit_chat),
    ("belief: a new fact is remembered", _Run.new_fact),
    ("belief: a contradiction supersedes it", _Run.contradiction),
    ("recall: the reply uses the current belief", _Run.recall),
    ("task: an explicit request creates one task", _Run.explicit_task),
    ("task: a mere mention creates none", _Run.mention_is_not_a_task),
    ("governance: all five commands registered", _Run.commands_registered),
    ("governance: /export_memory", _Run.export_memory),
    ("governance: /trace", _Run.trace),
    ("governance: /task_events", _Run.task_events),
    ("governance: another user is refused", _Run.other_user_is_refused),
    ("governance: /delete_belief", _Run.delete_belief),
    ("governance: /delete_episode (hard delete)", _Run.delete_episode),
    ("governance: every call audited in governance_log", _Run.governance_audited),
    ("gate: a benign draft passes with score 0", _Run.gate_benign),
    ("gate: a risky draft is stopped", _Run.gate_risky),
    ("integrity: check finds nothing wrong", _Run.integrity),
)


def run_selftest(
    settings: Settings,
    *,
    workdir: Path | None = None,
    database: str | None = None,
    agent_factory: AgentFactory | None = None,
    progress: Callable[[StepResult], None] | None = None,
) -> SelftestReport:
    """Run every step on a new database in ``workdir`` (a temporary folder by default),
    or on ``database``, an empty one (e.g. a PostgreSQL scratch database).

    ``settings`` supplies everything but the database, the LLM (built-in) and the log
    file (none); ``agent_factory`` lets a caller choose the agent, e.g. another gate.
    """
    with tempfile.TemporaryDirectory(prefix="memwarden-selftest-") as tmp, captured_log() as log:
        db = scratch_database(workdir or Path(tmp), "selftest.db", database)
        local = settings.model_copy(update={"db": db, "llm": "builtin", "log_file": None})
        agent = (agent_factory or Agent.open)(local)
        url = agent.store.engine.url
        report = SelftestReport(database=db if url.get_backend_name() == "sqlite" else str(url))
        try:
            require_empty(agent.store)
            run = _Run(agent)
            for name, step in STEPS:
                started = time.perf_counter()
                try:
                    detail, ok = step(run), True
                except StepFailed as e:
                    detail, ok = str(e), False
                except Exception as e:  # a crash is a failed step, not an aborted run
                    detail, ok = f"{type(e).__name__}: {e}", False
                result = StepResult(
                    name, ok, detail, round((time.perf_counter() - started) * 1000, 1)
                )
                report.steps.append(result)
                if progress is not None:
                    progress(result)
        finally:
            agent.close()
        if log.errors:
            report.steps.append(
                StepResult("log: no ERROR or CRITICAL lines", False, "; ".join(log.errors[:3]), 0.0)
            )
        return report
