"""`memwarden soak`: realistic scripted sessions against a fresh database.

Sessions of ``turns`` turns each are replayed for ``users`` simulated users (sessions go
to users in turn, so a user's memory carries over between sessions).  Turns come from
:mod:`.soakscripts`: chit-chat, facts, contradictions, questions, explicit task requests
and mere mentions, risky inputs and governance calls (including a cross-user probe that
must be refused).  ``duration`` keeps starting sessions until that many seconds passed.

What is checked, and fails the run (non-zero exit):

* any exception from a turn, or an ``ERROR``/``CRITICAL`` log record;
* any JSON parse warning in the log (the seed's soak reports "JSON warnings: 0");
* any orphan or other ``check`` violation in the database afterwards;
* benign score drift: the mean first-draft score of benign turns in the last third of
  the run differs from the first third by more than ``drift_tolerance``, or the benign
  mean itself exceeds it (the seed's "0.0 ± 0.1");
* a task created without an explicit request, or a request without a task;
* a governance call answering other than expected (a cross-user probe that succeeds);
* episodes in the database other than those created minus those deleted.

The LLM is the built-in one (offline, deterministic); the gate is the agent's.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Any

from sqlalchemy import func, select

from ..agent import Agent
from ..memory.beliefs import list_beliefs
from ..settings import Settings
from ..store.schema import episodes
from ..turn import TurnResult
from .database import require_empty, scratch_database
from .integrity import run_check
from .logcapture import captured_log
from .orphans import count_orphans
from .soakscripts import Profile, ScriptedTurn, new_profile, next_turn

__all__ = ["SoakOptions", "SoakReport", "run_soak"]

Progress = Callable[[int, int | None, float], None]


@dataclass(frozen=True)
class SoakOptions:
    sessions: int = 5
    turns: int = 15
    users: int | None = None  # default: one per session, at most 20
    duration: float | None = None  # seconds; sessions keep starting until then
    seed: int = 0
    drift_tolerance: float = 0.1

    def user_count(self) -> int:
        return self.users if self.users else max(1, min(self.sessions, 20))


@dataclass
class SoakReport:
    options: SoakOptions
    sessions_planned: int | None = None
    sessions_completed: int = 0
    turns: int = 0
    episodes_created: int = 0
    episodes_deleted: int = 0
    episodes_in_db: int = 0
    tasks_created: int = 0
    tasks_requested: int = 0
    task_mismatches: list[str] = field(default_factory=list)
    governance_calls: int = 0
    governance_failures: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    error_logs: list[str] = field(default_factory=list)
    json_warnings: int = 0
    benign: list[float] = field(default_factory=list)
    orphans: dict[str, int] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def benign_mean(self) -> float:
        return fmean(self.benign) if self.benign else 0.0

    @property
    def drift(self) -> float:
        third = len(self.benign) // 3
        if third == 0:
            return 0.0
        return fmean(self.benign[-third:]) - fmean(self.benign[:third])

    def failures(self) -> list[str]:
        tol = self.options.drift_tolerance
        found = []
        if self.exceptions:
            found.append(f"{len(self.exceptions)} exceptions")
        if self.error_logs:
            found.append(f"{len(self.error_logs)} ERROR log lines")
        if sum(self.orphans.values()):
            found.append(f"{sum(self.orphans.values())} orphaned rows")
        if self.violations:
            found.append("integrity: " + ", ".join(self.violations))
        if abs(self.drift) > tol or self.benign_mean > tol:
            found.append(f"benign score drift {self.drift:+.2f} (mean {self.benign_mean:.2f})")
        if self.json_warnings:
            found.append(f"{self.json_warnings} JSON parse warnings")
        if self.task_mismatches:
            found.append(f"{len(self.task_mismatches)} task mismatches")
        if self.governance_failures:
            found.append(f"{len(self.governance_failures)} governance failures")
        if self.episodes_in_db != self.episodes_created - self.episodes_deleted:
            found.append(
                f"{self.episodes_in_db} episodes stored, expected "
                f"{self.episodes_created - self.episodes_deleted}"
            )
        if self.sessions_planned is not None and self.sessions_completed < self.sessions_planned:
            found.append(f"{self.sessions_completed}/{self.sessions_planned} sessions completed")
        if not self.turns_complete:
            found.append(f"{self.turns} turns, expected {self.expected_turns}")
        return found

    @property
    def expected_turns(self) -> int:
        """Turns accounted for: each stored an episode, made a governance call or raised."""
        return self.episodes_created + self.governance_calls + len(self.exceptions)

    @property
    def turns_complete(self) -> bool:
        return self.turns == self.expected_turns

    @property
    def ok(self) -> bool:
        return not self.failures()

    def lines(self) -> list[tuple[bool, str, str]]:
        """The seed's "Staging Soak Test Results", one (ok, label, value) per line."""
        planned = (
            self.sessions_planned if self.sessions_planned is not None else self.sessions_completed
        )
        drift_ok = (
            abs(self.drift) <= self.options.drift_tolerance
            and self.benign_mean <= self.options.drift_tolerance
        )
        stored_ok = self.episodes_in_db == self.episodes_created - self.episodes_deleted
        return [
            (
                self.sessions_completed >= planned,
                "Sessions",
                f"{self.sessions_completed}/{planned} completed",
            ),
            (self.turns_complete, "Total turns", f"{self.turns}"),
            (
                stored_ok,
                "Episodes",
                f"{self.episodes_created} created ({self.episodes_deleted} deleted by "
                f"/delete_episode, {self.episodes_in_db} stored)",
            ),
            (
                not self.task_mismatches,
                "Tasks",
                f"{self.tasks_created} created (explicit-only: "
                f"{self.tasks_requested} requested, {len(self.task_mismatches)} mismatches)",
            ),
            (
                not self.governance_failures,
                "Governance calls",
                f"{self.governance_calls} ({len(self.governance_failures)} failures)",
            ),
            (
                not self.exceptions and not self.error_logs,
                "Exceptions",
                f"{len(self.exceptions)} (+{len(self.error_logs)} ERROR log lines)",
            ),
            (not self.json_warnings, "JSON warnings", f"{self.json_warnings}"),
            (
                drift_ok,
                "Risk score drift",
                f"{self.drift:+.2f} (benign mean {self.benign_mean:.2f} over "
                f"{len(self.benign)} turns)"
                + (" (no drift)" if drift_ok and self.drift == 0 else ""),
            ),
            (
                not sum(self.orphans.values()) and not self.violations,
                "DB integrity",
                f"{sum(self.orphans.values())} orphans, {len(self.violations)} violations",
            ),
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "failures": self.failures(),
            "options": vars(self.options),
            "sessions_planned": self.sessions_planned,
            "sessions_completed": self.sessions_completed,
            "turns": self.turns,
            "episodes_created": self.episodes_created,
            "episodes_deleted": self.episodes_deleted,
            "episodes_in_db": self.episodes_in_db,
            "tasks_created": self.tasks_created,
            "tasks_requested": self.tasks_requested,
            "task_mismatches": self.task_mismatches[:20],
            "governance_calls": self.governance_calls,
            "governance_failures": self.governance_failures[:20],
            "exceptions": self.exceptions[:20],
            "error_logs": self.error_logs[:20],
            "json_warnings": self.json_warnings,
            "benign_turns": len(self.benign),
            "benign_mean": round(self.benign_mean, 4),
            "risk_score_drift": round(self.drift, 4),
            "orphans": self.orphans,
            "violations": self.violations,
            "seconds": round(self.seconds, 2),
            "turns_per_second": round(self.turns / self.seconds, 1) if self.seconds else None,
        }


class _Soak:
    def __init__(self, agent: Agent, options: SoakOptions, report: SoakReport) -> None:
        self.agent = agent
        self.options = options
        self.report = report
        self.rng = random.Random(options.seed)
        self.profiles = [
            new_profile(self.rng, f"soak-user-{i:03d}") for i in range(options.user_count())
        ]
        self.alive: dict[str, list[int]] = {p.user: [] for p in self.profiles}

    def session(self, number: int, progress: Callable[[], None]) -> None:
        profile = self.profiles[number % len(self.profiles)]
        for index in range(self.options.turns):
            scripted = next_turn(self.rng, profile, index)
            where = f"session {number} turn {index} ({profile.user}): {scripted.text!r}"
            try:
                if scripted.governance:
                    self.governance(profile, scripted, where)
                else:
                    self.say(profile, scripted, where)
            except Exception as e:  # counted and reported; the soak goes on
                self.report.exceptions.append(f"{where}: {type(e).__name__}: {e}"[:400])
            self.report.turns += 1
            progress()
        self.report.sessions_completed += 1

    def say(self, profile: Profile, scripted: ScriptedTurn, where: str) -> None:
        result = self.agent.turn(profile.user, scripted.text)
        self.report.episodes_created += 1
        if result.episode_id is not None:
            self.alive[profile.user].append(result.episode_id)
        self.report.tasks_created += len(result.tasks)
        self.report.tasks_requested += int(scripted.expect_task)
        if bool(result.tasks) != scripted.expect_task:
            self.report.task_mismatches.append(f"{where}: {len(result.tasks)} tasks")
        if scripted.benign:
            self.report.benign.append(result.draft_total_score)

    def governance(self, profile: Profile, scripted: ScriptedTurn, where: str) -> None:
        command, expect_ok = self._command(profile, scripted.governance or "")
        result: TurnResult = self.agent.turn(profile.user, command)
        self.report.governance_calls += 1
        if result.ok != expect_ok:
            outcome = "succeeded" if result.ok else f"failed: {result.reply[:120]}"
            self.report.governance_failures.append(f"{where} -> {command!r} {outcome}")
        elif command.startswith("/delete_episode") and result.ok:
            self.report.episodes_deleted += 1

    def _command(self, profile: Profile, command: str) -> tuple[str, bool]:
        mine = self.alive[profile.user]
        if command == "/trace":
            others = [p for p in self.profiles if p.user != profile.user and self.alive[p.user]]
            if others and self.rng.random() < 0.15:  # a cross-user probe must be refused
                return f"/trace {self.rng.choice(self.alive[self.rng.choice(others).user])}", False
            if mine:
                return f"/trace {self.rng.choice(mine[-10:])}", True
        if command == "/delete_episode" and len(mine) > 3:
            victim = mine.pop(self.rng.randrange(len(mine) - 2))  # an older one
            return f"/delete_episode episode_{victim}", True
        if command == "/delete_belief":
            with self.agent.store.read() as conn:
                beliefs = list_beliefs(conn, profile.user)
            if beliefs:
                return f"/delete_belief belief_{self.rng.choice(beliefs).id}", True
        if command in ("/export_memory", "/task list"):
            return command, True
        return "/task_events", True


def run_soak(
    settings: Settings,
    options: SoakOptions,
    *,
    workdir: Path | None = None,
    database: str | None = None,
    agent_factory: Callable[[Settings], Agent] | None = None,
    progress: Progress | None = None,
) -> SoakReport:
    """Run the soak on a new database in ``workdir`` (a temporary folder by default),
    or on ``database``, an empty one (e.g. a PostgreSQL scratch database)."""
    report = SoakReport(options, None if options.duration else options.sessions)
    total = None if options.duration else options.sessions * options.turns
    with tempfile.TemporaryDirectory(prefix="memwarden-soak-") as tmp, captured_log() as counter:
        db = scratch_database(workdir or Path(tmp), "soak.db", database)
        local = settings.model_copy(update={"db": db, "llm": "builtin", "log_file": None})
        agent = (agent_factory or Agent.open)(local)
        started = time.perf_counter()
        try:
            require_empty(agent.store)
            soak = _Soak(agent, options, report)

            def tick() -> None:
                if progress is not None:
                    progress(report.turns, total, time.perf_counter() - started)

            number = 0
            while (
                time.perf_counter() - started < options.duration
                if options.duration
                else number < options.sessions
            ):
                soak.session(number, tick)
                number += 1
            report.seconds = time.perf_counter() - started
            with agent.store.read() as conn:
                report.orphans = count_orphans(conn)
                report.episodes_in_db = int(
                    conn.execute(select(func.count()).select_from(episodes)).scalar_one()
                )
            report.violations = [f"{v.check}: {v.count}" for v in run_check(agent.store).violations]
        finally:
            agent.close()
    report.error_logs = counter.errors
    report.json_warnings = counter.json_warnings
    return report
