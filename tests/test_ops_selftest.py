"""`memwarden selftest`, `smoke` and `soak`: end to end, at a small size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from memwarden.agent import Agent
from memwarden.cli import app
from memwarden.errors import InputError
from memwarden.gate import Action, Assessment, GateDecision, GateInput, PassThroughGate, Regenerate
from memwarden.logs import logger
from memwarden.ops.selftest import run_selftest
from memwarden.ops.smoke import SMOKE_USER, run_smoke
from memwarden.ops.soak import SoakOptions, SoakReport, run_soak
from memwarden.settings import Settings
from memwarden.store.schema import governance_log

from .engines import TestDatabase
from .test_ops_logs import _keep_logger_state  # noqa: F401  (autouse)

pytestmark = pytest.mark.engines

RiskGate = pytest.importorskip("memwarden.gate.risk_gate").RiskGate


class DriftingGate:
    """A gate whose scores creep up with every draft it sees: what drift looks like."""

    def __init__(self) -> None:
        self.seen = 0

    def assess(self, gate_input: GateInput) -> Assessment:
        self.seen += 1
        return Assessment(total=min(self.seen / 100, 0.45), action=Action.NONE)

    def review(self, gate_input: GateInput, regenerate: Regenerate) -> GateDecision:
        a = self.assess(gate_input)
        return GateDecision(Action.NONE, a.total, a.total, gate_input.draft, a)


def _scratch(db: TestDatabase) -> str | None:
    """Where selftest and soak run: their own temporary SQLite file, or the test's
    (empty) PostgreSQL database."""
    return None if db.is_sqlite else db.url


def test_selftest_passes_with_the_risk_gate(tmp_path: Path, db: TestDatabase) -> None:
    report = run_selftest(
        Settings(),
        workdir=tmp_path,
        database=_scratch(db),
        agent_factory=lambda s: Agent.open(s, gate=RiskGate()),
    )
    assert [s.name for s in report.failures] == []
    assert report.verdict == "✓ ALL TESTS PASSED" and len(report.steps) == 17
    assert report.database.startswith("/" if db.is_sqlite else "postgresql")


def test_selftest_reports_a_missing_gate_as_a_failure(tmp_path: Path) -> None:
    report = run_selftest(
        Settings(), workdir=tmp_path, agent_factory=lambda s: Agent.open(s, gate=PassThroughGate())
    )
    assert [s.name for s in report.failures] == ["gate: a risky draft is stopped"]
    assert report.verdict.startswith("✗ 1 OF 17 FAILED: gate: a risky draft is stopped")
    assert "PassThroughGate" in report.failures[0].detail


def test_selftest_command_prints_every_step_and_the_verdict(db: TestDatabase) -> None:
    scratch = [] if db.is_sqlite else ["--scratch-db", db.url]
    result = CliRunner().invoke(app, ["selftest", *scratch])
    assert "governance: /delete_episode (hard delete)" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "✓ ALL TESTS PASSED", result.output
    assert result.exit_code == 0


def test_smoke_reads_and_changes_no_user_data(agent: Agent, settings: Settings) -> None:
    for said in ("I live in Porto", "Remind me to call Ana", "Where do I live?"):
        agent.turn("ana", said)
    report = run_smoke(settings, user="ana")
    assert report.ok and report.verdict == "✓ Smoke test passed"
    assert [c.command for c in report.calls] == ["/export_memory", "/task_events", "/trace"]
    assert report.changed == {} and report.audit_rows == 3
    assert not (Path(settings.db).parent / "exports").exists()  # exported to memory only
    default = run_smoke(settings)
    assert default.user == SMOKE_USER and [c.command for c in default.calls] == [
        "/export_memory",
        "/task_events",
    ]
    with agent.store.read() as conn:
        audited = conn.execute(
            select(func.count())
            .select_from(governance_log)
            .where(governance_log.c.user_id == SMOKE_USER)
        ).scalar_one()
    assert audited == 2


def test_smoke_command_refuses_a_missing_database(tmp_path: Path) -> None:
    missing = tmp_path / "prod.db"
    result = CliRunner().invoke(app, ["smoke", "--db", str(missing)])
    assert result.exit_code == 1 and not missing.exists()


def test_selftest_and_soak_refuse_a_database_with_data(agent: Agent, db: TestDatabase) -> None:
    agent.turn("ana", "I live in Porto.")
    with pytest.raises(InputError, match=r"is not empty \(episodes has rows\)"):
        run_selftest(Settings(), database=db.url)
    with pytest.raises(InputError, match="is not empty"):
        run_soak(Settings(), SoakOptions(sessions=1, turns=2), database=db.url)
    result = CliRunner().invoke(app, ["selftest", "--scratch-db", db.url])
    assert result.exit_code == 2 and "is not empty" in result.stderr
    assert db.count("episodes") == 1 and db.count("governance_log") == 0


def test_soak_small_end_to_end_passes(db: TestDatabase) -> None:
    scratch = [] if db.is_sqlite else ["--scratch-db", db.url]
    result = CliRunner().invoke(
        app, ["soak", "--sessions", "3", "--turns", "12", "--seed", "5", *scratch]
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Staging Soak Test Results" in out and "✓ Sessions: 3/3 completed" in out
    assert "✓ Total turns: 36" in out and "✓ Risk score drift:" in out


def test_soak_json_counts_add_up(tmp_path: Path, db: TestDatabase) -> None:
    report = run_soak(
        Settings(),
        SoakOptions(sessions=4, turns=20, users=2, seed=11),
        workdir=tmp_path,
        database=_scratch(db),
        agent_factory=lambda s: Agent.open(s, gate=RiskGate()),
    )
    doc = report.to_dict()
    assert doc["ok"], doc["failures"]
    assert doc["turns"] == 80 and doc["sessions_completed"] == 4
    assert doc["episodes_created"] + doc["governance_calls"] == 80
    assert doc["episodes_in_db"] == doc["episodes_created"] - doc["episodes_deleted"]
    assert (
        doc["tasks_created"] == doc["tasks_requested"]
        and doc["orphans"]
        and not any(doc["orphans"].values())
    )
    json.dumps(doc)


def test_soak_fails_on_benign_score_drift(tmp_path: Path) -> None:
    report = run_soak(
        Settings(),
        SoakOptions(sessions=2, turns=30, seed=3),
        workdir=tmp_path,
        agent_factory=lambda s: Agent.open(s, gate=DriftingGate()),
    )
    assert not report.ok
    assert any(f.startswith("benign score drift") for f in report.failures())
    line = next(line for line in report.lines() if line[1] == "Risk score drift")
    assert line[0] is False


class FaultyGate:
    """A passing gate that misbehaves on its ``at``-th draft the way production can:
    it raises, writes an orphan through a connection with foreign keys off, or logs a
    JSON parse warning."""

    def __init__(self, fault: str, db: TestDatabase, at: int = 7) -> None:
        self.fault, self.db, self.at, self.seen = fault, db, at, 0

    def assess(self, gate_input: GateInput) -> Assessment:
        return Assessment(total=0.0, action=Action.NONE)

    def review(self, gate_input: GateInput, regenerate: Regenerate) -> GateDecision:
        self.seen += 1
        if self.seen == self.at:
            if self.fault == "exception":
                raise RuntimeError("gate crashed")
            if self.fault == "orphan":  # through a connection with foreign keys off
                self.db.execute(
                    "INSERT INTO risk_log (user_id, episode_id, ts, draft_total_score, "
                    "final_score, action, scores, details) "
                    "VALUES ('x', 999999, '2026-01-21 18:00:00', 0, 0, 'NONE', '{}', '{}')"
                )
            if self.fault == "json":
                logger.warning("trace_decision: JSON parse failed for episode 456")
        a = self.assess(gate_input)
        return GateDecision(Action.NONE, a.total, a.total, gate_input.draft, a)


@pytest.mark.parametrize(
    ("fault", "failure"),
    [("exception", "1 exceptions"), ("orphan", "1 orphaned rows"), ("json", "1 JSON parse")],
)
def test_soak_fails_on_a_single_fault(
    tmp_path: Path, db: TestDatabase, fault: str, failure: str
) -> None:
    report = run_soak(
        Settings(),
        SoakOptions(sessions=2, turns=10, seed=4),
        workdir=tmp_path,
        database=_scratch(db),
        agent_factory=lambda s: Agent.open(
            s, gate=FaultyGate(fault, TestDatabase(s.db, db.exports_dir))
        ),
    )
    assert not report.ok
    assert any(f.startswith(failure) for f in report.failures()), report.failures()
    assert any(not ok for ok, _, _ in report.lines())


def test_soak_report_flags_turns_not_accounted_for() -> None:
    # Six turns ran; four stored an episode and one made a governance call: one turn
    # neither stored anything nor raised.
    report = SoakReport(
        SoakOptions(turns=3),
        sessions_completed=2,
        turns=6,
        episodes_created=4,
        episodes_in_db=4,
        governance_calls=1,
    )
    assert "6 turns, expected 5" in report.failures()
    assert (False, "Total turns", "6") in report.lines()
    report.exceptions.append("session 1 turn 2: boom")
    assert report.failures() == ["1 exceptions"] and (True, "Total turns", "6") in report.lines()


def test_soak_duration_mode_stops_by_itself(tmp_path: Path) -> None:
    report = run_soak(Settings(), SoakOptions(turns=5, duration=1.0, seed=2), workdir=tmp_path)
    assert report.sessions_planned is None and report.sessions_completed >= 1
    assert 1.0 <= report.seconds < 60 and report.ok, report.failures()  # it stops
