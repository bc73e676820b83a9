"""/export_memory: one streamed JSON document, valid against docs/export-schema.json."""

from __future__ import annotations

import io
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from memwarden.agent import Agent
from memwarden.clock import utcnow
from memwarden.governance import EXPORT_VERSION, Governance
from memwarden.governance.export import _embed, write_export
from memwarden.settings import Settings
from memwarden.store import Store

from .engines import TestDatabase
from .test_governance_helpers import export_document, reset_logging, validate_export

pytestmark = pytest.mark.engines


def _session(agent: Agent) -> None:
    for text in (
        "My name is Ana. I live in Porto.",
        "I moved to Berlin.",
        "Remind me to renew my passport.",
        "Where do I live?",
    ):
        agent.turn("ana", text)
    agent.turn("ana", "/task done 1")
    agent.turn("ana", "/trace 4")
    agent.turn("bob", "I live in Oslo and I love skiing.")


@pytest.fixture(autouse=True)
def _fresh_logging() -> Iterator[None]:
    reset_logging()
    yield
    reset_logging()


def test_export_memory_has_every_section_and_validates(agent: Agent) -> None:
    _session(agent)
    doc = export_document(agent.governance, "ana")

    assert doc["format"] == "memwarden-export"
    assert doc["version"] == EXPORT_VERSION
    assert doc["user_id"] == "ana"
    assert [e["user_input"] for e in doc["episodes"]][:2] == [
        "My name is Ana. I live in Porto.",
        "I moved to Berlin.",
    ]
    last = doc["episodes"][3]
    assert last["reply"] == "You told me that you live in Berlin."
    assert last["trace"]["drafts"] == [last["draft"]]
    assert {m["kind"] for m in last["trace"]["recalled"]} == {"belief", "episode"}
    assert last["action"] == "NONE" and last["draft_total_score"] == 0.0
    location = next(b for b in doc["beliefs"] if b["key"] == "location")
    assert location["value"] == "Berlin"
    assert [h["change"] for h in location["history"]] == ["created", "updated"]
    assert [h["old_value"] for h in location["history"]] == [None, "Porto"]
    assert location["sources"] == [1, 2]
    [task] = doc["tasks"]
    assert task["title"] == "Renew my passport" and task["status"] == "done"
    assert [e["event"] for e in task["events"]] == ["created", "completed"]
    assert [r["episode_id"] for r in doc["risk_log"]] == [1, 2, 3, 4]
    assert [(g["command"], g["args"], g["success"]) for g in doc["governance_log"]] == [
        ("/trace", ["4"], True)
    ]
    assert doc["counts"] == {
        "episodes": 4,
        "beliefs": 2,
        "tasks": 1,
        "risk_log": 4,
        "governance_log": 1,
    }


def test_export_memory_other_user_sees_only_their_own(agent: Agent) -> None:
    _session(agent)
    doc = export_document(agent.governance, "bob")
    text = json.dumps(doc)

    assert doc["counts"]["episodes"] == 1 and doc["counts"]["tasks"] == 0
    for word in ("Porto", "Berlin", "passport", "Ana"):
        assert word not in text
    empty = export_document(agent.governance, "nobody")
    assert empty["counts"] == dict.fromkeys(empty["counts"], 0)


def test_export_memory_pages_give_the_same_document(agent: Agent, store: Store) -> None:
    for i in range(23):
        agent.turn("ana", f"I like topic{chr(97 + i)} a lot.")
    now = utcnow()
    docs = []
    for page in (1, 4, 1000):
        buffer = io.StringIO()
        with store.read() as conn:
            counts, size = write_export(conn, "ana", buffer, exported_at=now, page=page)
        assert size == len(buffer.getvalue().encode())
        docs.append(json.loads(buffer.getvalue()))
    assert docs[0] == docs[1] == docs[2]
    assert counts["episodes"] == 23 and counts["beliefs"] == 23


def test_export_memory_malformed_stored_json_is_embedded_as_text(
    agent: Agent, db: TestDatabase
) -> None:
    agent.turn("ana", "I live in Porto.")
    db.execute(
        "UPDATE episodes SET trace = '{\"recalled\": [', meta = 'NaN'",
        "UPDATE risk_log SET details = 'not json', scores = '{}'",
    )
    doc = export_document(agent.governance, "ana")

    assert doc["episodes"][0]["trace"] == '{"recalled": ['
    assert doc["episodes"][0]["meta"] == "NaN"  # valid for Python, not for RFC 8259
    assert doc["risk_log"][0]["details"] == "not json"
    assert doc["risk_log"][0]["scores"] == {}


def test_export_memory_slash_command_writes_a_private_file(agent: Agent, db: TestDatabase) -> None:
    _session(agent)
    result = agent.turn("ana", "/export_memory")

    assert result.ok and result.episode_id is None and result.command == "/export_memory"
    summary = result.result
    path = Path(summary["path"])
    assert path.parent == db.exports_dir
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path) in result.reply and "4 episodes" in result.reply
    doc = json.loads(path.read_text())
    validate_export(doc)
    assert summary["counts"] == doc["counts"] and summary["bytes"] == path.stat().st_size
    assert summary["version"] == EXPORT_VERSION


def test_export_memory_to_path_is_atomic(agent: Agent, tmp_path: Path) -> None:
    agent.turn("ana", "I live in Porto.")
    target = tmp_path / "out" / "ana.json"
    result = agent.governance.export_memory("ana", out=target)
    assert result.ok and result.result is not None and result.result.path == str(target)
    validate_export(json.loads(target.read_text()))
    assert [p.name for p in target.parent.iterdir()] == ["ana.json"]  # no temp file left


def test_export_memory_unwritable_path_is_one_line_error(agent: Agent, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = agent.governance.export_memory("ana", out=blocker / "sub" / "x.json")
    assert not result.ok and result.error_kind == "usage"
    assert "cannot write the export" in result.reply and "\n" not in result.reply


def test_export_memory_to_a_device_or_pipe_is_refused(agent: Agent, tmp_path: Path) -> None:
    agent.turn("ana", "I live in Porto.")
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    result = agent.governance.export_memory("ana", out=pipe)
    assert not result.ok and result.error_kind == "usage"
    assert result.reply == f"cannot write the export to {pipe}: it exists and is not a regular file"
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)  # still the pipe, not replaced by a file
    assert not list(tmp_path.glob(".pipe*"))  # no temp file left beside it


@pytest.mark.parametrize("words", [["now"], ["a", "b"]])
def test_export_memory_extra_words_are_usage_errors(
    agent: Agent, db: TestDatabase, words: list[str]
) -> None:
    result = agent.turn("ana", "/export_memory " + " ".join(words))
    assert not result.ok
    assert result.reply.startswith("usage: /export_memory")
    assert result.result == {"error": {"kind": "usage", "message": result.reply}}
    assert db.audit()[-1][:4] == ("ana", "/export_memory", json.dumps(words), 0)
    assert not db.exports_dir.exists()


def test_export_memory_cli_streams_to_stdout_and_file(settings: Settings, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from memwarden.cli import app

    with Agent.open(settings) as agent:
        _session(agent)
    runner = CliRunner()
    cli = ["--db", settings.db]
    streamed = runner.invoke(app, [*cli, "export", "--user", "ana"])
    assert streamed.exit_code == 0, streamed.output
    validate_export(json.loads(streamed.stdout))
    out = tmp_path / "ana.json"
    saved = runner.invoke(app, [*cli, "export", "--user", "ana", "-o", str(out), "--json"])
    assert saved.exit_code == 0
    summary = json.loads(saved.stdout)
    assert summary["path"] == str(out) and summary["counts"]["episodes"] == 4
    assert os.path.getsize(out) == summary["bytes"]
    missing = runner.invoke(app, [*cli, "export"])
    assert missing.exit_code == 2  # --user is required


def test_export_memory_library_reads_one_snapshot(agent: Agent, settings: Settings) -> None:
    agent.turn("ana", "My name is Ana.")

    class TurnMidExport(io.StringIO):
        """Takes a turn (another connection, committed) once the first episode is out."""

        took_turn = False

        def write(self, chunk: str) -> int:
            if not self.took_turn and "My name is Ana." in chunk:
                self.took_turn = True
                agent.turn("ana", "I live in Porto. Remind me to call the bank.")
            return super().write(chunk)

    out = TurnMidExport()
    with Governance.open(settings) as gov:
        assert gov.export_memory("ana", out=out).ok
    assert out.took_turn
    doc = json.loads(out.getvalue())
    # Every section as of the export's start: the turn written half-way is in none.
    assert doc["counts"]["episodes"] == 1 and len(doc["risk_log"]) == 1
    assert doc["tasks"] == [] and "Porto" not in out.getvalue()
    with Governance.open(settings) as gov:
        after = export_document(gov, "ana")
    assert after["counts"]["episodes"] == 2 and len(after["tasks"]) == 1


def test_export_memory_tricky_values_round_trip(
    agent: Agent, store: Store, db: TestDatabase
) -> None:
    agent.turn("ana", "Remind me to buy café au lait. My name is Zoë.")
    agent.turn("ana", 'Where do I live? "quoted" \\ back\nslash')
    db.execute(
        "UPDATE episodes SET draft_total_score = 0.30000000000000004, meta = 'x' WHERE id = 1",
        "UPDATE episodes SET trace = '{\"a\": 1,}' WHERE id = 2",
    )
    buffer = io.StringIO()
    with store.read() as conn:
        _, size = write_export(conn, "ana", buffer, exported_at=utcnow(), page=1)
    document = json.loads(buffer.getvalue())
    validate_export(document)
    assert size == len(buffer.getvalue().encode("utf-8"))
    first, second = document["episodes"]
    assert first["user_input"] == "Remind me to buy café au lait. My name is Zoë."
    assert first["draft_total_score"] == 0.30000000000000004 and first["meta"] == "x"
    assert second["user_input"] == 'Where do I live? "quoted" \\ back\nslash'
    assert second["trace"] == '{"a": 1,}'
    assert (_embed('{"a": 1}', None), _embed("{", None), _embed(None, 1)) == (
        '{"a": 1}',
        '"{"',
        "null",
    )


@pytest.mark.sqlite_only("SQLite's SQL renderer; PostgreSQL's has its own test below")
def test_export_memory_sql_and_python_renderers_give_one_document(
    agent: Agent, store: Store, db: TestDatabase
) -> None:
    from memwarden.governance import export_sqlite

    _session(agent)
    agent.turn("bob", "Remind me to wax the skis. My name is Bo.")  # ids between ana's
    agent.turn("ana", "Remind me to call the bank.")  # a second task, which keeps its events
    agent.turn("ana", "Zoë sagt: «naïve» café\u2028 and a tab\there")
    ids = [i for (i,) in db.rows("SELECT id FROM episodes WHERE user_id = 'ana' ORDER BY id")]
    first_belief = "(SELECT min(id) FROM semantic_beliefs WHERE user_id = 'ana')"
    last_task = "(SELECT max(id) FROM tasks WHERE user_id = 'ana')"
    db.execute(
        f"UPDATE episodes SET draft_total_score = 1.0 / 3, final_score = 1e16 WHERE id = {ids[0]}",
        f"UPDATE episodes SET draft_total_score = 0.1 + 0.2, final_score = -2.5e-7, "
        f"meta = '{{\"speaker\": \"Zoë\"}}', occurred_at = '2023-05-08 13:56:00.000000' "
        f"WHERE id = {ids[1]}",
        f"UPDATE episodes SET trace = '{{a: 1}}', meta = 'NaN' WHERE id = {ids[2]}",
        f"UPDATE episodes SET final_score = 9e999, trace = NULL WHERE id = {ids[3]}",
        "UPDATE risk_log SET details = 'not json', draft_total_score = 123456789.123456789",
        "UPDATE belief_history SET confidence = 0.1 + 0.2",
        "UPDATE semantic_beliefs SET confidence = 1.0 / 3",
        "UPDATE task_events SET detail = '{\"a\": [1, 2.5e-7, null]}' WHERE event = 'created'",
        "UPDATE task_events SET detail = 'not json' WHERE event <> 'created'",
        f"UPDATE semantic_beliefs SET statement = 'User is Zoë' WHERE id = {first_belief}",
        f"UPDATE tasks SET title = 'Call Zoë' WHERE id = {last_task}",
        f"DELETE FROM belief_sources WHERE belief_id = {first_belief}",  # no children
        f"DELETE FROM task_events WHERE task_id = {last_task}",
        f"UPDATE belief_history SET episode_id = NULL WHERE belief_id = {first_belief}",
    )
    _tricky_governance_rows(agent, db)
    now = utcnow()
    documents, texts = [], []
    for in_python in (False, True):
        buffer = io.StringIO()
        with store.read() as conn:
            assert export_sqlite.available(conn)
            write_export(conn, "ana", buffer, exported_at=now, page=2, in_python=in_python)
        texts.append(buffer.getvalue())
        documents.append(json.loads(texts[-1]))
        validate_export(documents[-1])

    in_sql, in_python_doc = documents
    assert in_sql == in_python_doc

    # Each section came from its renderer: SQLite keeps "ë", Python escapes it.
    def section(text_: str, name: str, after: str) -> str:
        return text_[text_.index(f'"{name}":[') : text_.index(f'"{after}":')]

    for name, after in (
        ("episodes", "beliefs"),
        ("beliefs", "tasks"),
        ("tasks", "risk_log"),
        ("governance_log", "counts"),
    ):
        assert "Zoë" in section(texts[0], name, after), name
        stored_json = ('"speaker": "Zoë"', '["Zoë"]')  # embedded verbatim by both
        python_text = section(texts[1], name, after)
        assert "Zoë" not in python_text.replace(stored_json[0], "").replace(stored_json[1], "")
    assert in_sql["beliefs"][0]["sources"] == [] and in_sql["tasks"][-1]["events"] == []
    assert all(h["episode_id"] is None for h in in_sql["beliefs"][0]["history"])
    first, second, third, fourth = in_sql["episodes"][:4]
    assert (first["draft_total_score"], first["final_score"]) == (1 / 3, 1e16)
    assert (second["draft_total_score"], second["final_score"]) == (0.1 + 0.2, -2.5e-7)
    assert (
        second["meta"] == {"speaker": "Zoë"}
        and second["occurred_at"] == "2023-05-08T13:56:00.000000"
    )
    assert (third["trace"], third["meta"]) == ("{a: 1}", "NaN")  # JSON5 and NaN: not JSON
    assert fourth["final_score"] is None and fourth["trace"] is None  # infinity: no JSON number
    assert in_sql["episodes"][-1]["user_input"] == "Zoë sagt: «naïve» café\u2028 and a tab\there"
    belief = in_sql["beliefs"][0]
    assert belief["confidence"] == 1 / 3 and belief["history"][0]["confidence"] == 0.1 + 0.2
    events = [e for task in in_sql["tasks"] for e in task["events"]]
    assert {"a": [1, 2.5e-7, None]} in [e["detail"] for e in events]
    assert "not json" in [e["detail"] for e in events]
    _assert_tricky_governance_rows(in_sql["governance_log"])


def _tricky_governance_rows(agent: Agent, db: TestDatabase) -> None:
    """Governance rows for the renderers: a failed call, another user's call between
    ana's, a float that 15 digits do not round-trip, args that are not JSON."""
    agent.turn("ana", "/trace 999999")
    agent.turn("bob", "/task_events")
    agent.turn("ana", "/task_events")
    first = "(SELECT min(id) FROM governance_log WHERE user_id = 'ana')"
    last = "(SELECT max(id) FROM governance_log WHERE user_id = 'ana')"
    db.execute(
        f"UPDATE governance_log SET latency_ms = 1.0 / 3, args = '[\"Zoë\"]' WHERE id = {first}",
        f"UPDATE governance_log SET args = 'not json', error = 'Zoë «x»' WHERE id = {last}",
    )


def _assert_tricky_governance_rows(rows: list[dict[str, Any]]) -> None:
    assert [r["command"] for r in rows] == ["/trace", "/trace", "/task_events"]
    assert (rows[0]["latency_ms"], rows[0]["args"]) == (1 / 3, ["Zoë"])
    assert (rows[1]["success"], rows[2]["success"]) == (False, True)
    assert rows[1]["error"] and rows[1]["args"] == ["999999"]
    assert (rows[2]["args"], rows[2]["error"]) == ("not json", "Zoë «x»")


@pytest.mark.sqlite_only("PostgreSQL never stores text that is not UTF-8")
@pytest.mark.parametrize("in_python", [False, True])
def test_export_memory_unreadable_row_fails_cleanly(
    agent: Agent, store: Store, db: TestDatabase, in_python: bool
) -> None:
    from memwarden.errors import StoreError
    from memwarden.store import translate_errors

    agent.turn("ana", "I live in Porto.")
    db.execute("UPDATE episodes SET user_input = CAST(x'ff' AS TEXT)")  # not UTF-8

    with pytest.raises(StoreError), translate_errors(), store.read() as conn:
        write_export(conn, "ana", io.StringIO(), exported_at=utcnow(), in_python=in_python)
    result = agent.governance.export_memory("ana", out=io.StringIO())
    assert not result.ok and "decode" in result.reply
    assert db.rows("SELECT success FROM governance_log WHERE command = '/export_memory'") == [(0,)]


def test_export_memory_to_a_text_file_matches_a_text_stream(
    agent: Agent, store: Store, tmp_path: Path
) -> None:
    _session(agent)
    agent.turn("ana", "Zoë was here")
    now = utcnow()
    stream = io.StringIO()
    with store.read() as conn:
        counts, size = write_export(conn, "ana", stream, exported_at=now)
    path = tmp_path / "ana.json"
    with path.open("w", encoding="utf-8") as f, store.read() as conn:
        f.write("prefix:")  # written as text before the export's bytes: stays first
        file_counts, file_size = write_export(conn, "ana", f, exported_at=now)

    assert path.read_text(encoding="utf-8") == "prefix:" + stream.getvalue()
    assert (file_counts, file_size) == (counts, size) == (counts, len(stream.getvalue().encode()))


class _FullDisk(io.StringIO):
    """A stream that fails once it holds more than a few bytes."""

    def write(self, s: str) -> int:
        if self.tell() + len(s) > 200:
            raise OSError(28, "No space left on device")
        return super().write(s)


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")
def test_export_memory_write_failing_half_way_closes_cleanly(agent: Agent) -> None:
    import gc

    _session(agent)

    result = agent.governance.export_memory("ana", out=_FullDisk())
    agent.store.engine.dispose()  # the pool's connections close (as at shutdown) ...
    gc.collect()  # ... and a section left open would close its cursor only now

    assert not result.ok and "No space left on device" in result.reply
    assert agent.governance.export_memory("ana", out=io.StringIO()).ok


def test_export_memory_to_an_ascii_stream_escapes_what_it_cannot_encode(
    agent: Agent, store: Store, tmp_path: Path
) -> None:
    agent.turn("ana", "Zoë lives in Kraków")
    agent.turn("ana", "/trace é😀")  # a refused call: its arguments are stored as typed
    now = utcnow()
    stream = io.StringIO()
    path = tmp_path / "ana.json"
    with store.read() as conn:
        write_export(conn, "ana", stream, exported_at=now)
    with path.open("w", encoding="ascii") as f, store.read() as conn:  # stdout in a C locale
        _, size = write_export(conn, "ana", f, exported_at=now)

    assert size == path.stat().st_size and path.read_bytes().isascii()
    document = json.loads(path.read_text(encoding="ascii"))
    assert document == json.loads(stream.getvalue())
    assert document["governance_log"][-1]["args"] == ["é😀"]


@pytest.mark.engines("postgres")
def test_export_memory_postgres_and_python_renderers_give_one_document(
    agent: Agent, store: Store, db: TestDatabase
) -> None:
    _session(agent)
    agent.turn("ana", "Remind me to call the bank.")  # a second task, which keeps its events
    agent.turn("ana", "Zoë sagt: «naïve» café\u2028 and a tab\there")
    ids = [i for (i,) in db.rows("SELECT id FROM episodes WHERE user_id = 'ana' ORDER BY id")]
    first_belief = "(SELECT min(id) FROM semantic_beliefs WHERE user_id = 'ana')"
    last_task = "(SELECT max(id) FROM tasks WHERE user_id = 'ana')"
    db.execute(
        f"UPDATE episodes SET draft_total_score = 1.0 / 3, final_score = 'Infinity' "
        f"WHERE id = {ids[0]}",
        f'UPDATE episodes SET draft_total_score = 0.1 + 0.2, meta = \'{{"speaker": "Zoë"}}\', '
        f"occurred_at = '2023-05-08 13:56:00' WHERE id = {ids[1]}",
        f"UPDATE episodes SET trace = '{{a: 1}}', meta = 'NaN' WHERE id = {ids[2]}",
        "UPDATE risk_log SET draft_total_score = 'NaN', final_score = 1e16",
        "UPDATE belief_history SET confidence = 0.1::float8 + 0.2::float8",
        "UPDATE semantic_beliefs SET confidence = 1.0 / 3",
        "UPDATE task_events SET detail = '{\"a\": [1, 2.5e-7, null]}' WHERE event = 'created'",
        "UPDATE task_events SET detail = 'NaN' WHERE event <> 'created'",
        f"UPDATE semantic_beliefs SET statement = 'User is \"Zoë\"' WHERE id = {first_belief}",
        f"UPDATE tasks SET title = 'Call Zoë\\' WHERE id = {last_task}",
        f"DELETE FROM belief_sources WHERE belief_id = {first_belief}",  # no children
        f"DELETE FROM task_events WHERE task_id = {last_task}",
        f"UPDATE belief_history SET episode_id = NULL WHERE belief_id = {first_belief}",
    )
    _tricky_governance_rows(agent, db)
    now = utcnow()
    texts, statements = [], []
    for in_python in (False, True):
        buffer = io.StringIO()
        with _statements(store) as seen, store.read() as conn:
            write_export(conn, "ana", buffer, exported_at=now, page=2, in_python=in_python)
        texts.append(buffer.getvalue())
        statements.append(seen)
    in_pg, in_python_doc = (json.loads(t) for t in texts)
    validate_export(in_pg)

    assert in_pg == in_python_doc
    # The server rendered the flat sections, the rows that are not JSON included:
    # none of the Python renderer's queries for them ran (the server's run on the driver's
    # cursor, which SQLAlchemy's events do not see); the Python renderer read the flags.
    flat = ("FROM episodes", "FROM risk_log", "FROM governance_log")
    python_queries = [s for s in statements[1] if any(f in s for f in flat)]
    pages = len(ids) // 2 + 1  # episodes' or risk_log's (a row each), two a page
    assert len(python_queries) == pages + pages + 2  # and governance_log's
    assert not any(s in statements[0] for s in python_queries)
    assert any("trace_is_json" in s for s in python_queries)
    # So did it beliefs and tasks with their children: no query of the Python renderer's.
    assert not any("semantic_beliefs" in s or "FROM tasks" in s for s in statements[0])
    assert any("FROM semantic_beliefs" in s for s in statements[1])
    beliefs, tasks = in_pg["beliefs"], in_pg["tasks"]
    assert beliefs[0]["sources"] == [] and beliefs[0]["statement"] == 'User is "Zoë"'
    assert {h["episode_id"] for h in beliefs[0]["history"]} == {None}
    assert beliefs[0]["confidence"] == 1 / 3 and beliefs[0]["history"][0]["confidence"] == 0.1 + 0.2
    assert tasks[-1]["title"] == "Call Zoë\\" and tasks[-1]["events"] == []
    details = [e["detail"] for task in tasks for e in task["events"]]
    assert {"a": [1, 2.5e-7, None]} in details and "NaN" in details
    first, second = in_pg["episodes"][:2]
    assert (first["draft_total_score"], first["final_score"]) == (1 / 3, None)
    assert second["occurred_at"] == "2023-05-08T13:56:00.000000"
    assert (in_pg["episodes"][2]["trace"], in_pg["episodes"][2]["meta"]) == ("{a: 1}", "NaN")
    assert second["meta"] == {"speaker": "Zoë"}
    assert len(in_pg["episodes"]) == len(ids) > 4
    assert {r["draft_total_score"] for r in in_pg["risk_log"]} == {None}
    _assert_tricky_governance_rows(in_pg["governance_log"])


@pytest.mark.engines("postgres")
def test_json_flags_follow_every_write_of_their_column(
    agent: Agent, store: Store, db: TestDatabase
) -> None:
    episode = agent.turn("ana", "I live in Berlin.").episode_id
    flags = f"SELECT meta_is_json, trace_is_json FROM episodes WHERE id = {episode}"
    assert db.rows(flags) == [(None, True)]  # no meta: neither JSON nor not
    for meta, trace, expected in (
        ("'{\"a\": [1, 2.5e3]}'", "'\"x\"'", (True, True)),
        ("'{a: 1}'", "'NaN'", (False, False)),  # JSON5 and a non-finite constant
        ("'[' || repeat('[', 100000) || ']'", "'\"\\ud800\"'", (False, True)),
        ("'{\"a\": 1} x'", "''", (False, False)),
    ):
        db.execute(f"UPDATE episodes SET meta = {meta}, trace = {trace} WHERE id = {episode}")
        assert db.rows(flags) == [expected], (meta, trace)
    db.execute("UPDATE risk_log SET details = 'not json', scores = '{}'")
    assert db.rows("SELECT DISTINCT scores_is_json, details_is_json FROM risk_log") == [
        (True, False)
    ]
    assert Governance(store, agent.settings).trace("ana", episode).ok
    assert db.rows("SELECT args_is_json FROM governance_log") == [(True,)]
    db.execute("UPDATE governance_log SET args = '[1,'")
    assert db.rows("SELECT args_is_json FROM governance_log") == [(False,)]


@contextmanager
def _statements(store: Store) -> Iterator[list[str]]:
    """The SQL statements run on ``store`` inside the block, in order."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


@pytest.mark.engines("postgres")
def test_export_memory_postgres_other_client_encoding_gives_one_document(
    agent: Agent, store: Store, tmp_path: Path
) -> None:
    agent.turn("ana", "Je m'appelle Zoé et j'habite à Genève, près du café.")
    now = utcnow()
    documents = []
    for encoding in ("UTF8", "LATIN1"):  # the server's bytes are UTF-8 only with the first
        path = tmp_path / f"{encoding}.json"
        with path.open("w", encoding="utf-8") as f, store.read() as conn:
            conn.exec_driver_sql(f"SET LOCAL client_encoding TO '{encoding}'")
            write_export(conn, "ana", f, exported_at=now)
        documents.append(json.loads(path.read_text(encoding="utf-8")))

    assert documents[0] == documents[1]
    assert "Genève" in documents[1]["episodes"][0]["user_input"]
