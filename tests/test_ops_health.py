"""`memwarden health`: every alert level and the rollback decision, from injected data.

Rows are written straight into a real database, SQLite and PostgreSQL (episodes with
their risk_log rows, tasks, governance_log), and log lines into a real log file, all
inside the window.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert, text
from typer.testing import CliRunner

from memwarden.cli import app
from memwarden.clock import utcnow
from memwarden.errors import ConfigError, InputError
from memwarden.ops.health import HealthReport, collect_health
from memwarden.ops.thresholds import Level, load_thresholds, parse_duration
from memwarden.store import Store
from memwarden.store.schema import episodes, governance_log, risk_log, tasks

from .engines import TestDatabase
from .postgres import SharedDatabase, sqlalchemy_url
from .test_governance_helpers import last_line
from .test_ops_logs import _keep_logger_state  # noqa: F401  (autouse)
from .test_runbook_sql import runbook_queries

pytestmark = pytest.mark.engines

WINDOW = timedelta(hours=6)


def add_turns(
    store: Store,
    n: int,
    *,
    score: float = 0.0,
    action: str = "NONE",
    user: str = "ana",
    minutes_ago: float = 30,
) -> list[int]:
    """``n`` episodes with their risk_log rows, spread over the last ``minutes_ago`` min."""
    ids = []
    now = utcnow()
    with store.write() as conn:
        for i in range(n):
            ts = now - timedelta(minutes=minutes_ago * (i + 1) / (n + 1))
            episode_id = conn.execute(
                insert(episodes)
                .values(
                    user_id=user,
                    ts=ts,
                    user_input=f"hello number {i}",
                    draft="hi",
                    reply="hi",
                    action=action,
                    draft_total_score=score,
                    final_score=0.0,
                )
                .returning(episodes.c.id)
            ).scalar_one()
            conn.execute(
                insert(risk_log).values(
                    user_id=user,
                    episode_id=episode_id,
                    ts=ts,
                    draft_total_score=score,
                    final_score=0.0,
                    action=action,
                    scores="{}",
                    details="{}",
                )
            )
            ids.append(int(episode_id))
    return ids


def add_tasks(store: Store, n: int, user: str = "ana") -> None:
    now = utcnow()
    with store.write() as conn:
        for i in range(n):
            ts = now - timedelta(minutes=i + 1)
            conn.execute(
                insert(tasks).values(
                    user_id=user, title=f"Task {i}", status="open", created_at=ts, updated_at=ts
                )
            )


def add_calls(
    store: Store,
    command: str,
    n: int,
    *,
    latency_ms: float = 20.0,
    failures: int = 0,
    user: str = "ana",
) -> None:
    now = utcnow()
    with store.write() as conn:
        for i in range(n):
            conn.execute(
                insert(governance_log).values(
                    user_id=user,
                    command=command,
                    args="[]",
                    success=i >= failures,
                    error=None,
                    latency_ms=latency_ms,
                    ts=now - timedelta(minutes=i + 1),
                )
            )


def write_log(path: Path, lines: list[tuple[str, str]], *, minutes_ago: float = 20) -> None:
    """Seed-format lines (tag, message), stamped in local time within the window."""
    now = datetime.now()
    with path.open("a", encoding="utf-8") as f:
        for i, (tag, message) in enumerate(lines):
            ts = now - timedelta(minutes=minutes_ago * (len(lines) - i) / (len(lines) + 1))
            f.write(f"{ts:%Y-%m-%d %H:%M:%S},{i % 1000:03d} [{tag}] {message}\n")


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "memwarden.log"


@pytest.fixture
def healthy(store: Store, log_file: Path) -> Store:
    """Six hours of the seed's baseline: 20 episodes and 4 tasks an hour, fast commands."""
    add_turns(store, 120, minutes_ago=350)
    add_tasks(store, 24)
    add_calls(store, "/export_memory", 10, latency_ms=120)
    add_calls(store, "/trace", 10, latency_ms=15)
    write_log(
        log_file,
        [("EPISODE", f"Episode {i} created (score: 0.0, action: NONE)") for i in range(120)],
    )
    return store


def health(store: Store, log_file: Path | None) -> HealthReport:
    return collect_health(store, load_thresholds(), WINDOW, log_file)


def test_health_healthy_baseline_is_ok(healthy: Store, log_file: Path) -> None:
    report = health(healthy, log_file)
    assert {m.spec.id: m.level for m in report.metrics if m.level != Level.OK} == {}
    assert report.level == Level.OK and report.exit_code == 0 and report.rollback == []
    assert report.metric("episodes_per_hour").value == pytest.approx(20.0)
    assert report.metric("tasks_per_hour").value == pytest.approx(4.0)
    assert report.metric("governance_success_percent").value == 100.0


def test_health_info_level_when_a_target_is_missed(healthy: Store, log_file: Path) -> None:
    add_calls(healthy, "/trace", 30, latency_ms=150)  # p95 150 ms: target < 100 ms missed
    report = health(healthy, log_file)
    trace = report.metric("trace_latency_p95_ms")
    assert trace.level == Level.INFO and trace.value == 150.0
    assert report.level == Level.INFO and report.exit_code == 0


def test_health_warning_level_on_benign_mean_above_0_1(healthy: Store, log_file: Path) -> None:
    add_turns(healthy, 30, score=1.0, action="REWRITE")  # 30 / 150 turns at 1.0: mean 0.2
    report = health(healthy, log_file)
    mean = report.metric("risk_gate_benign_mean_score")
    assert mean.value == pytest.approx(0.2)
    assert mean.level == Level.WARNING and report.level == Level.WARNING
    assert report.exit_code == 1 and report.rollback == []


def test_health_critical_level_on_trace_p95_above_3s(healthy: Store, log_file: Path) -> None:
    add_calls(healthy, "/trace", 2, latency_ms=4000)  # 2 of 12 slow: p95 slow, median fast
    report = health(healthy, log_file)
    assert report.metric("trace_latency_p95_ms").level == Level.CRITICAL
    assert report.metric("trace_latency_p50_ms").level == Level.OK
    assert report.level == Level.CRITICAL and report.exit_code == 2
    assert report.rollback == []  # slow tail, not "consistently timing out"


def test_health_rollback_recommended_with_every_reason(
    healthy: Store, log_file: Path, db: TestDatabase
) -> None:
    add_turns(healthy, 200, score=1.0, action="REWRITE")  # benign mean 200/320 = 0.625
    add_calls(healthy, "/trace", 40, latency_ms=5000)  # median /trace 5 s
    add_calls(healthy, "/task_events", 20, failures=20)  # 20 of 80 calls fail: 75 %
    _orphans(db, 11)
    write_log(log_file, [("ERROR", f"boom {i}") for i in range(700)])  # > 100 an hour
    report = health(healthy, log_file)
    assert report.level == Level.CRITICAL and report.exit_code == 2
    assert set(report.rollback) == {
        "Exception rate > 1% (> 100 per 10k episodes)",
        "Exception rate > 100/hr (Alert Thresholds: rollback immediately)",
        "Risk gate mean score > 0.5 on benign data",
        "/trace consistently timing out > 3s (median > 3000ms)",
        "Multiple DB integrity violations (orphaned entries > 10)",
        "Governance commands failing > 5% of the time",
    }
    assert report.metric("orphaned_entries").value == 11
    assert report.metric("orphaned_entries").level == Level.CRITICAL


def _orphans(db: TestDatabase, n: int) -> None:
    # Foreign keys off, as in a hand-run shell: the only way orphans appear.
    now = utcnow().strftime("%Y-%m-%d %H:%M:%S.%f")
    for i in range(n):
        db.run(
            "INSERT INTO risk_log (user_id, episode_id, ts, draft_total_score, final_score, "
            "action, scores, details) VALUES ('ana', ?, ?, 0, 0, 'NONE', '{}', '{}')",
            900_000 + i,
            now,
        )


def test_health_single_rollback_reason_on_mean_above_0_5(healthy: Store, log_file: Path) -> None:
    add_turns(healthy, 200, score=1.0)
    report = health(healthy, log_file)
    assert report.rollback == ["Risk gate mean score > 0.5 on benign data"]
    assert report.metric("risk_gate_benign_mean_score").level == Level.CRITICAL


def test_health_blocked_turns_are_not_benign(healthy: Store, log_file: Path) -> None:
    add_turns(healthy, 40, score=3.0, action="BLOCK")
    report = health(healthy, log_file)
    assert report.metric("risk_gate_benign_mean_score").value == 0.0
    assert report.context["excluded_turns"] == 40 and report.level == Level.OK


def test_health_too_few_samples_are_not_judged(store: Store, log_file: Path) -> None:
    add_turns(store, 5, score=0.9)  # mean 0.9, but only 5 turns (< 10)
    report = health(store, log_file)
    mean = report.metric("risk_gate_benign_mean_score")
    assert mean.level == Level.INFO and not mean.judged and "not judged" in mean.note
    assert report.rollback == []


def test_health_json_warnings_per_hour_reach_info_warning_critical(
    healthy: Store, log_file: Path
) -> None:
    expected = {40: Level.INFO, 130: Level.WARNING, 700: Level.CRITICAL}  # per 6 h
    seen = 0
    for total, level in expected.items():
        write_log(
            log_file,
            [
                ("WARNING", f"trace_decision: JSON parse failed for episode {i}")
                for i in range(total - seen)
            ],
        )
        seen = total
        assert health(healthy, log_file).metric("json_warnings_per_hour").level == level


def test_health_without_log_file_marks_log_metrics_info(healthy: Store) -> None:
    report = health(healthy, None)
    metric = report.metric("exceptions_per_hour")
    assert metric.value is None and metric.level == Level.INFO and "no log file" in metric.note


def test_health_thresholds_file_overrides_rules(
    healthy: Store, log_file: Path, tmp_path: Path
) -> None:
    add_turns(healthy, 30, score=1.0)  # mean 0.2: WARNING by default
    override = tmp_path / "ours.toml"
    override.write_text(
        "[metrics.risk_gate_benign_mean_score]\nrules = [\n"
        '  { level = "CRITICAL", op = ">", value = 0.15, source = "ours" },\n]\n'
    )
    report = collect_health(healthy, load_thresholds(override), WINDOW, log_file)
    assert report.metric("risk_gate_benign_mean_score").level == Level.CRITICAL
    assert (
        report.metric("risk_gate_benign_mean_score").spec.title == "Risk gate mean score (benign)"
    )


def test_thresholds_invalid_file_is_a_config_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[metrics.episodes_per_hour]\nrules = [{ level = "LOUD", op = ">", value = 1 }]\n'
    )
    with pytest.raises(ConfigError):
        load_thresholds(bad)
    bad.write_text("[[rollback]]\nmetric = 'nope'\nop = '>'\nvalue = 1\nreason = 'x'\n")
    with pytest.raises(ConfigError, match="unknown metric"):
        load_thresholds(bad)


@pytest.mark.parametrize(
    ("raw", "seconds"), [("6h", 21600), ("90m", 5400), ("30d", 2592000), ("1h30m", 5400)]
)
def test_parse_duration_accepts_units(raw: str, seconds: int) -> None:
    assert parse_duration(raw).total_seconds() == seconds


@pytest.mark.parametrize("raw", ["", "6", "6x", "h6", "0h", "-1h"])
def test_parse_duration_rejects_garbage(raw: str) -> None:
    with pytest.raises(InputError):
        parse_duration(raw)


# -- the command ------------------------------------------------------------------------


def _cli(*args: str, db: str, log_file: Path | None = None) -> object:
    root = ["--db", db] + (["--log-file", str(log_file)] if log_file else [])
    return CliRunner().invoke(app, [*root, *args])


def test_health_command_exit_codes_follow_the_worst_level(
    healthy: Store, db: TestDatabase, log_file: Path
) -> None:
    result = _cli("health", "--json", db=db.url, log_file=log_file)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    add_turns(healthy, 30, score=1.0)
    result = _cli("health", "--json", db=db.url, log_file=log_file)
    doc = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert result.exit_code == 1 and doc["status"] == "WARNING"  # type: ignore[attr-defined]
    add_turns(healthy, 300, score=1.0)
    result = _cli("health", db=db.url, log_file=log_file)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "ROLLBACK RECOMMENDED: Risk gate mean score > 0.5 on benign data" in result.stdout  # type: ignore[attr-defined]


def test_health_prometheus_output_parses(healthy: Store, db: TestDatabase, log_file: Path) -> None:
    result = _cli("health", "--prometheus", db=db.url, log_file=log_file)
    families = {f.name: f for f in text_string_to_metric_families(result.stdout)}  # type: ignore[attr-defined]
    assert families["memwarden_episodes_per_hour"].samples[0].value == pytest.approx(20.0)
    assert families["memwarden_rollback_recommended"].samples[0].value == 0
    statuses = {s.labels["metric"]: s.value for s in families["memwarden_health_status"].samples}
    assert statuses["orphaned_entries"] == 0 and len(statuses) == 14


def test_health_command_on_missing_database_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    result = _cli("health", db=str(missing))
    assert result.exit_code == 1 and not missing.exists()  # type: ignore[attr-defined]
    assert last_line(result.stderr) == f"error: no database at {missing}"  # type: ignore[attr-defined]


@pytest.mark.postgres
def test_health_command_on_missing_postgres_database_is_one_line_error(
    pg_shared: SharedDatabase,
) -> None:
    missing = sqlalchemy_url("memwarden_no_such_database")
    result = _cli("health", db=missing)
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert last_line(result.stderr).startswith("error: ")  # type: ignore[attr-defined]
    assert 'database "memwarden_no_such_database" does not exist' in result.stderr  # type: ignore[attr-defined]


def test_health_review_marks_criteria_met_and_not_met(
    healthy: Store, db: TestDatabase, log_file: Path
) -> None:
    result = _cli("health", "--review", "72h", "--json", db=db.url, log_file=log_file)
    doc = json.loads(result.stdout)  # type: ignore[attr-defined]
    met = {c["id"]: c["met"] for c in doc["criteria"]}
    assert met["risk_gate_stable"] is True and met["no_exceptions"] is True
    assert met["no_support_tickets"] is None  # checked by hand
    assert met["user_adoption"] is True  # ana has episodes and used governance
    assert result.exit_code == 0  # type: ignore[attr-defined]
    add_turns(healthy, 10, user="bob")  # a user who never used governance: 1 of 2 = 50 %
    write_log(log_file, [("ERROR", "boom")])
    doc = json.loads(
        _cli("health", "--review", "30d", "--json", db=db.url, log_file=log_file).stdout
    )  # type: ignore[attr-defined]
    met = {c["id"]: c["met"] for c in doc["criteria"]}
    assert met["no_exceptions"] is False  # 1 per 130 episodes > 1 per 10,000
    assert doc["figures"]["governance_adoption_percent"] == 50.0
    assert len(doc["days"]) == 30 and {g["table"] for g in doc["growth"]} >= {"episodes", "tasks"}


def test_health_review_judges_30_day_items_only_in_a_30_day_window(
    healthy: Store, db: TestDatabase, log_file: Path
) -> None:
    for k in range(6):  # six users who never used governance: ana alone is 1 of 7 = 14 %
        add_turns(healthy, 2, user=f"user{k}")
    short = json.loads(
        _cli("health", "--review", "72h", "--json", db=db.url, log_file=log_file).stdout
    )  # type: ignore[attr-defined]
    by_id = {c["id"]: c for c in short["criteria"]}
    assert by_id["user_adoption"]["met"] is True  # ≥ 10 % after 72 hours
    assert by_id["adoption_30d"]["met"] is None  # 20-40 % is a 30-day expectation
    assert by_id["adoption_30d"]["note"] == "judged in a review of 30 days or more"
    assert by_id["adoption_30d"]["value"] == pytest.approx(100 / 7, abs=1e-3)
    assert short["exit_code"] == 0
    result = _cli("health", "--review", "30d", "--json", db=db.url, log_file=log_file)
    by_id = {c["id"]: c for c in json.loads(result.stdout)["criteria"]}  # type: ignore[attr-defined]
    assert by_id["adoption_30d"]["met"] is False
    assert result.exit_code == 1  # type: ignore[attr-defined]


def test_seed_check_1_sql_agrees_with_health(
    healthy: Store, log_file: Path, db: TestDatabase
) -> None:
    """The runbook's Check 1 in the engine's dialect (the seed's own on SQLite)."""
    add_turns(healthy, 30, score=1.0)
    check_1 = runbook_queries()["Check 1: risk gate stability"][db.dialect]
    with healthy.read() as conn:
        _, avg, _, high = conn.execute(text(check_1.rstrip().rstrip(";"))).one()
    assert health(healthy, log_file).metric("risk_gate_benign_mean_score").value == pytest.approx(
        avg
    )
    assert high == 0


def test_health_leaves_derived_vectors_to_check(
    healthy: Store, log_file: Path, db: TestDatabase, tmp_path: Path
) -> None:
    db.run(  # a vector whose episode is gone
        "INSERT INTO memory_vectors (user_id, episode_id, model, vector) "
        "VALUES ('ana', 999999, 'm', ?)",
        b"\x00",
    )
    assert health(healthy, log_file).metric("orphaned_entries").value == 0  # skip_tables
    everything = tmp_path / "all.toml"
    everything.write_text("[metrics.orphaned_entries]\nskip_tables = []\n")
    report = collect_health(healthy, load_thresholds(everything), WINDOW, log_file)
    assert report.metric("orphaned_entries").value == 1
    assert report.context["orphans"]["orphan_memory_vectors.episode_id"] == 1
