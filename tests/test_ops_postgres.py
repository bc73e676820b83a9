"""Operations on PostgreSQL: the same Core queries answer health, review, check,
validate and smoke (backup and restore are SQLite-only for now)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from memwarden.agent import Agent
from memwarden.errors import ConfigError
from memwarden.ops.backup import backup
from memwarden.ops.health import collect_health
from memwarden.ops.integrity import run_check
from memwarden.ops.review import collect_review
from memwarden.ops.smoke import run_smoke
from memwarden.ops.thresholds import Level, load_thresholds
from memwarden.ops.validate import validate
from memwarden.settings import Settings

from .postgres import fresh_database
from .test_ops_health import add_calls, add_tasks, add_turns
from .test_ops_logs import _keep_logger_state  # noqa: F401  (autouse)

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_agent() -> Iterator[Agent]:
    for url in fresh_database():
        with Agent.open(Settings(db=url)) as agent:
            yield agent


def test_postgres_health_review_check_validate_smoke(pg_agent: Agent) -> None:
    store = pg_agent.store
    add_turns(store, 120, minutes_ago=350)
    add_turns(store, 30, score=1.0, action="REWRITE")
    add_turns(store, 5, score=3.0, action="BLOCK")
    add_tasks(store, 24)
    add_calls(store, "/trace", 20, latency_ms=15)
    add_calls(store, "/export_memory", 10, latency_ms=4000, failures=1)

    report = collect_health(store, load_thresholds(), timedelta(hours=6), None)
    assert report.metric("risk_gate_benign_mean_score").value == pytest.approx(0.2)
    assert report.metric("risk_gate_benign_mean_score").level == Level.WARNING
    assert report.metric("export_memory_latency_p50_ms").value == 4000.0
    assert report.metric("governance_success_percent").value == pytest.approx(96.6666, rel=1e-3)
    assert report.rollback == ["/export_memory consistently timing out > 3s (median > 3000ms)"]
    assert report.context["excluded_turns"] == 5

    review = collect_review(store, load_thresholds(), timedelta(days=3), None)
    assert review.figures["governance_adoption_percent"] == 100.0 and len(review.days) == 3

    assert run_check(store).ok
    assert validate(store).ok, [i for i in validate(store).items if not i.ok]

    pg_agent.turn("ana", "I live in Porto")
    smoke = run_smoke(pg_agent.settings, user="ana")
    assert smoke.ok and smoke.changed == {}


def test_postgres_backup_is_not_implemented_yet(pg_agent: Agent, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not implemented"):
        backup(pg_agent.store, tmp_path / "snap.db")
