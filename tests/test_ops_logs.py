"""`memwarden logs summary`: the seed's greps, over the window, across rotated files."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from memwarden.cli import app
from memwarden.logs import configure_logging, event, logger
from memwarden.ops.logsummary import log_files, summarize_log
from memwarden.settings import Settings


@pytest.fixture(autouse=True)
def _keep_logger_state() -> Iterator[None]:
    """Commands invoked in process configure memwarden's logger (handlers on streams the
    runner closes, propagation off): put it back as it was for the tests that follow.
    Other ops test modules import this fixture."""
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(level)
    logger.propagate = propagate


def _line(when: datetime, tag: str, message: str) -> str:
    return f"{when:%Y-%m-%d %H:%M:%S},123 [{tag}] {message}\n"


def test_logs_summary_counts_only_the_window_across_rotations(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    now = datetime.now()
    old = [
        _line(now - timedelta(hours=30, minutes=i), "ERROR", "old failure")
        for i in range(2000, 0, -1)
    ]
    (tmp_path / "agent.log.2").write_text("".join(old))
    recent = [
        _line(now - timedelta(hours=7), "ERROR", "just before the window"),
        _line(now - timedelta(hours=5), "ERROR", "risk_log table not found (schema mismatch!)"),
        'Traceback (most recent call last):\n  File "x.py", line 1\n',
        _line(
            now - timedelta(hours=4), "WARNING", "trace_decision: JSON parse failed for episode 456"
        ),
        _line(now - timedelta(hours=4), "WARN", "governance command timeout on /export_memory"),
    ]
    (tmp_path / "agent.log.1").write_text("".join(recent))
    current = [
        _line(now - timedelta(hours=3), "GOVERNANCE", "/export_memory executed (user: user123)"),
        _line(now - timedelta(hours=2), "GOVERNANCE", "/trace episode_45 executed (user: ana)"),
        _line(
            now - timedelta(hours=1), "EPISODE", "Episode 1024 created (score: 0.0, action: NONE)"
        ),
        _line(now - timedelta(minutes=5), "CRITICAL", "Multiple JSON parse failures (> 100/hr)"),
    ]
    log.write_text("".join(current))
    assert log_files(log) == [tmp_path / "agent.log.2", tmp_path / "agent.log.1", log]

    summary = summarize_log(log, timedelta(hours=6), now=now)
    assert summary.errors == 2  # the ERROR at -5 h and the CRITICAL; not the old ones
    assert summary.json_warnings == 1  # the [WARN] line does not mention JSON
    assert summary.warnings == 2 and summary.episodes == 1
    assert dict(summary.governance) == {"/export_memory": 1, "/trace": 1}
    assert summary.recent_errors[0].endswith("risk_log table not found (schema mismatch!)")
    oldest = (now - timedelta(hours=30, minutes=2000)).replace(microsecond=0)
    assert summary.covers_window and summary.first_line == oldest
    assert summarize_log(log, timedelta(days=3), now=now).errors == 2003


def test_logs_summary_reads_what_configure_logging_writes(tmp_path: Path) -> None:
    log = tmp_path / "memwarden.log"
    configure_logging(Settings(log_file=log), stream=io.StringIO())
    try:
        event("EPISODE", "Episode %d created (score: %s, action: %s)", 7, 0.0, "NONE")
        event("GOVERNANCE", "%s executed (user: %s)", "/task_events", "ana")
        logger.warning("trace_decision: JSON parse failed for episode %d", 7)
        logger.error("risk_log table not found (schema mismatch!)")
    finally:
        for handler in list(logger.handlers):
            handler.flush()
    summary = summarize_log(log, timedelta(minutes=5))
    assert (summary.episodes, summary.errors, summary.json_warnings) == (1, 1, 1)
    assert dict(summary.governance) == {"/task_events": 1}


def test_logs_summary_of_a_missing_file_is_empty(tmp_path: Path) -> None:
    summary = summarize_log(tmp_path / "none.log", timedelta(hours=6))
    assert not summary.exists and summary.lines == 0 and summary.errors == 0


def test_logs_summary_command_json_and_config_errors(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text(_line(datetime.now() - timedelta(minutes=1), "ERROR", "boom"))
    runner = CliRunner()
    result = runner.invoke(app, ["logs", "summary", "--file", str(log), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["errors"] == 1
    table = runner.invoke(app, ["--log-file", str(log), "logs", "summary", "--window", "1h"])
    assert "[ERROR] + [CRITICAL]" in table.stdout and "boom" in table.stdout
    assert runner.invoke(app, ["logs", "summary"]).exit_code == 2  # no log file configured
    assert (
        runner.invoke(app, ["logs", "summary", "--file", str(log), "--window", "soon"]).exit_code
        == 2
    )
