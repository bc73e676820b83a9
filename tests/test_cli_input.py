"""Bad input at the command line: one line on stderr, a non-zero exit, nothing written."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
from pathlib import Path

import pytest

from .cli import run_cli


def _run(
    *args: str, db: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env={"MEMWARDEN_DB": str(db), **(env or {})}, timeout=60)


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_tasks_add_title_with_brackets_prints_as_typed(db_path: Path) -> None:
    added = _run("tasks", "add", "--user", "ana", "[/x] buy [bold]milk", db=db_path)
    assert added.returncode == 0, added.stderr
    listed = _run("tasks", "list", "--user", "ana", db=db_path)
    assert listed.returncode == 0, listed.stderr
    assert "[/x] buy [bold]milk" in listed.stdout


def test_users_add_name_with_brackets_shows_its_key(db_path: Path) -> None:
    added = _run("users", "add", "bad[/x]name", db=db_path)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().splitlines()[-1].startswith("mwk_")
    listed = _run("users", "list", db=db_path)
    assert listed.returncode == 0 and "bad[/x]name" in listed.stdout, listed.stderr


def test_error_message_with_brackets_is_one_line(db_path: Path) -> None:
    missing = db_path.parent / "nope[b]x[/b].db"  # printed as typed, not as markup
    proc = _run("check", db=missing)
    assert proc.returncode == 1
    assert _one_line(proc) == f"error: no database at {missing}"


@pytest.mark.parametrize(
    "command",
    [
        ["export", "--user", "ana"],
        ["trace", "--user", "ana", "1"],
        ["task-events", "--user", "ana"],
        ["tasks", "list", "--user", "ana"],
        ["users", "list"],
        ["db", "current"],
        ["db", "optimize"],
    ],
)
def test_read_command_on_missing_database_creates_nothing(
    command: list[str], tmp_path: Path
) -> None:
    typo = tmp_path / "no-such-folder" / "typo.db"
    proc = _run(*command, db=typo)
    assert proc.returncode == 1
    assert _one_line(proc) == f"error: no database at {typo}"
    assert not typo.parent.exists()


def test_database_from_a_newer_memwarden_is_refused(db_path: Path) -> None:
    assert _run("turn", "--user", "ana", "hello", db=db_path).returncode == 0
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    for command in (
        ["turn", "--user", "ana", "hi"],
        ["db", "upgrade"],
        ["tasks", "list", "-u", "ana"],
    ):
        proc = _run(*command, db=db_path)
        assert proc.returncode == 2, proc.stderr
        assert "database is at migration 0099, which this memwarden does not know" in _one_line(
            proc
        )
    with sqlite3.connect(db_path) as conn:  # nothing was migrated or written
        assert conn.execute("SELECT count(*) FROM episodes").fetchone() == (1,)
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0099",)


@pytest.mark.parametrize(
    ("db", "env", "expected"),
    [
        ("://", {}, "error: invalid setting db: not a database URL"),
        ("postgresql+psycopg://h:notaport/x", {}, "error: invalid setting db: not a database URL"),
        ("postgresql+psycopg://", {}, "error: invalid setting db: the PostgreSQL URL names no"),
        ("", {"MEMWARDEN_LOG_LEVEL": "nonsense"}, "error: invalid setting log_level: not a log"),
    ],
)
def test_bad_setting_is_one_line_config_error(
    db: str, env: dict[str, str], expected: str, db_path: Path
) -> None:
    proc = run_cli("turn", "-u", "ana", "hi", env={"MEMWARDEN_DB": db or str(db_path), **env})
    assert proc.returncode == 2
    assert _one_line(proc).startswith(expected)
    assert not db_path.exists()  # (the log-level case names this database)


@pytest.mark.parametrize(
    ("url", "backend", "sqlite_file"),
    [
        ("postgresql+psycopg:///db?host=/var/run/postgresql", "postgresql", None),
        ("postgresql+psycopg://u@127.0.0.1?dbname=x", "postgresql", None),
        ("postgresql+psycopg://u@[::1]/x?sslmode=disable", "postgresql", None),
        ("postgresql+psycopg://u@?service=memwarden", "postgresql", None),
        ("/var/lib/memwarden/memwarden.db", "sqlite", "/var/lib/memwarden/memwarden.db"),
    ],
)
def test_valid_database_urls_are_accepted(url: str, backend: str, sqlite_file: str | None) -> None:
    from sqlalchemy.engine import make_url

    from memwarden.settings import Settings

    settings = Settings(db=url)  # raises on a URL the store cannot use
    assert make_url(settings.database_url()).get_backend_name() == backend
    assert settings.sqlite_path() == (Path(sqlite_file) if sqlite_file else None)


def test_python_log_level_aliases_are_accepted() -> None:
    from memwarden.settings import Settings

    assert Settings(log_level="warn").log_level == "WARNING"
    assert Settings(log_level="fatal").log_level == "CRITICAL"


def test_huge_numbers_are_answered_not_crashed(db_path: Path) -> None:
    assert _run("turn", "--user", "ana", "remind me to buy milk", db=db_path).returncode == 0
    huge = "99999999999999999999"
    for verb in ("done", "cancel"):
        proc = _run("tasks", verb, "--user", "ana", huge, db=db_path)
        assert proc.returncode == 2 and _one_line(proc) == f"error: no task {huge}"
    events = _run("task-events", "--user", "ana", "--limit", huge, "--json", db=db_path)
    assert events.returncode == 0, events.stderr
    assert [e["event"] for e in json.loads(events.stdout)["events"]] == ["created"]
    for command in (["health", "--window", f"{huge}h"], ["health", "--review", "999999999d"]):
        proc = _run(*command, db=db_path)
        assert proc.returncode == 2
        assert _one_line(proc).startswith("error: a window is at most 366 days")


def test_unusable_log_file_is_one_line_config_error(db_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    proc = _run("--log-file", str(folder), "tasks", "add", "-u", "ana", "x", db=db_path)
    assert proc.returncode == 2
    assert _one_line(proc) == f"error: cannot open the log file {folder}: Is a directory"
    assert not db_path.exists()


def test_backup_of_a_file_that_is_not_a_database_is_one_line(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    proc = _run("backup", str(tmp_path / "snap.db"), db=text)
    assert proc.returncode == 1
    assert _one_line(proc) == f"error: cannot open {text}: file is not a database"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_backup_over_a_folder_is_refused_even_with_overwrite(db_path: Path, tmp_path: Path) -> None:
    assert _run("turn", "--user", "ana", "hello", db=db_path).returncode == 0
    folder = tmp_path / "snapshots"
    folder.mkdir()
    proc = _run("backup", str(folder), "--overwrite", db=db_path)
    assert proc.returncode == 2
    assert _one_line(proc) == f"error: {folder} exists and is not a file: choose a new name"
    assert folder.is_dir() and not any(folder.iterdir())


def test_logs_summary_of_a_missing_file_is_no_all_clear(tmp_path: Path) -> None:
    missing = tmp_path / "memwarden.log"
    proc = run_cli("logs", "summary", "--file", str(missing))
    assert proc.returncode == 2 and proc.stdout == ""
    assert _one_line(proc) == f"error: no log file at {missing}"


def test_empty_user_is_refused_by_tasks_and_chat(db_path: Path) -> None:
    assert _run("turn", "--user", "ana", "hello", db=db_path).returncode == 0
    for command in (["tasks", "add", "--user", "", "buy milk"], ["tasks", "list", "--user", " "]):
        proc = _run(*command, db=db_path)
        assert proc.returncode == 2 and _one_line(proc) == "error: a user id is required"
    chat = run_cli("chat", "--user", " ", env={"MEMWARDEN_DB": str(db_path)}, input="hi\n")
    assert chat.returncode == 2 and _one_line(chat) == "error: a user id is required"
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (0,)


def test_revoking_a_revoked_key_says_so_and_logs_nothing(db_path: Path) -> None:
    assert _run("users", "add", "bob", db=db_path).returncode == 0
    listed = _run("users", "keys", "list", "bob", "--json", db=db_path)
    key_id = json.loads(listed.stdout)[0]["key_id"]
    first = _run("users", "keys", "revoke", key_id, db=db_path)
    assert first.returncode == 0 and first.stdout.startswith(f"Revoked key {key_id}")
    assert "[AUTH]" in first.stderr
    again = _run("users", "keys", "revoke", key_id, db=db_path)
    assert again.returncode == 0
    assert again.stdout.startswith(f"Key {key_id} of 'bob' was already revoked")
    assert "[AUTH]" not in again.stderr


@pytest.mark.parametrize("option", ["--min-hit=-5", "--max-fp=99", "--retention=nan"])
def test_eval_gate_thresholds_outside_0_to_1_are_refused(option: str) -> None:
    proc = run_cli("eval", "gate", str(Path(__file__).with_name("gate_cases.jsonl")), option)
    assert proc.returncode == 2 and "Invalid value" in proc.stderr and proc.stdout == ""


def test_restore_over_a_file_that_is_not_a_database_is_refused(
    db_path: Path, tmp_path: Path
) -> None:
    assert _run("turn", "--user", "ana", "hello", db=db_path).returncode == 0
    snapshot = tmp_path / "snap.db"
    assert _run("backup", str(snapshot), db=db_path).returncode == 0
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    proc = _run("restore", str(snapshot), db=notes)
    assert proc.returncode == 1
    assert _one_line(proc) == (
        f"error: cannot open {notes}: file is not a database: refusing to replace it"
    )
    assert notes.read_text() == "hello\n"


def test_db_copy_to_a_url_naming_no_database_is_a_config_error(db_path: Path) -> None:
    assert _run("turn", "--user", "ana", "hello", db=db_path).returncode == 0
    proc = run_cli(
        "db", "copy", "--from", str(db_path), "--to", "postgresql+psycopg://u@127.0.0.1:5432"
    )
    assert proc.returncode == 2
    assert (
        _one_line(proc) == "error: invalid target: the PostgreSQL URL names no database (…/DBNAME)"
    )


def test_bad_scratch_database_and_thresholds_are_config_errors(
    db_path: Path, tmp_path: Path
) -> None:
    proc = run_cli("selftest", "--scratch-db", "://")
    assert proc.returncode == 2
    assert _one_line(proc).startswith("error: invalid --scratch-db: not a database URL")
    assert _run("turn", "--user", "ana", "hello", db=db_path).returncode == 0
    thresholds = tmp_path / "t.toml"
    thresholds.write_text("metrics = 5\n")
    proc = _run("health", "--thresholds", str(thresholds), db=db_path)
    assert proc.returncode == 2
    assert _one_line(proc).startswith(f"error: invalid thresholds ({thresholds}):")


def test_serve_on_an_address_it_cannot_listen_on_is_one_line(db_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _run("serve", "--port", str(port), db=db_path)
    assert proc.returncode == 2
    assert _one_line(proc) == f"error: cannot listen on 127.0.0.1:{port}: Address already in use"
    proc = _run("serve", "--host", "192.0.2.1", db=db_path)  # TEST-NET-1: no such address here
    assert proc.returncode == 2
    assert (
        _one_line(proc) == "error: cannot listen on 192.0.2.1:8080: Cannot assign requested address"
    )


def test_misspelled_thresholds_key_is_refused(db_path: Path, tmp_path: Path) -> None:
    assert _run("turn", "--user", "ana", "hello", db=db_path).returncode == 0
    misspelled = tmp_path / "t.toml"
    misspelled.write_text("[metrics.risk_gate_benign_mean_score]\nmin_sample = 3\n")
    proc = _run("health", "--thresholds", str(misspelled), db=db_path)
    assert proc.returncode == 2
    assert _one_line(proc) == (
        f"error: thresholds file {misspelled}: unknown key "
        "'metrics.risk_gate_benign_mean_score.min_sample'"
    )
    fine = tmp_path / "fine.toml"  # a field this metric's default leaves out, a table's name
    fine.write_text(
        '[metrics.risk_gate_benign_mean_score]\nunit = "score"\n'
        "[review.growth_per_episode_max]\nepisode_recalls = 9\n"
    )
    accepted = _run("health", "--thresholds", str(fine), "--json", db=db_path)
    assert accepted.returncode in (0, 1) and accepted.stderr == ""  # a level, not an error
    assert json.loads(accepted.stdout)["thresholds"] == str(fine)


def test_export_json_summary_without_a_file_is_refused(db_path: Path) -> None:
    assert _run("turn", "--user", "ana", "hello", db=db_path).returncode == 0
    proc = _run("export", "--user", "ana", "--json", db=db_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert _one_line(proc) == (
        "error: --json prints the summary of an export to a file: give -o FILE"
    )


def test_review_criterion_min_days_past_a_year_is_a_config_error(tmp_path: Path) -> None:
    from memwarden.errors import ConfigError
    from memwarden.ops.thresholds import load_thresholds

    path = tmp_path / "t.toml"
    path.write_text(
        '[[review.criteria]]\nid = "x"\ntitle = "x"\nfigure = "orphaned_entries"\n'
        'op = "<="\nvalue = 0\nmin_days = 1e10\n'
    )
    with pytest.raises(ConfigError, match="min_days must lie in 0-366"):
        load_thresholds(path)
