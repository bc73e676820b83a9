"""The HTTP API against a real uvicorn server on loopback: every endpoint, cross-user
404s, 401/403/413/422/429, streaming export, audit rows and metrics."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from memwarden.clock import utcnow
from memwarden.memory.episodes import insert_episode
from memwarden.server.keys import KeyRing
from memwarden.store.schema import governance_log

from .test_server_support import LiveServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("api") / "memwarden.db")
    yield live
    live.stop()


def turn(server: LiveServer, user: str, text: str) -> dict[str, Any]:
    r = server.client(user).post("/v1/turns", json={"text": text})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# -- probes, OpenAPI, who am I -------------------------------------------------------------


def test_probes_answer_and_openapi_lists_the_paths(server: LiveServer) -> None:
    c = server.client()
    assert c.get("/healthz").json() == {"status": "ok"}
    ready = c.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    spec = c.get("/openapi.json").json()
    for path in (
        "/v1/turns",
        "/v1/memory/export",
        "/v1/episodes/{episode_id}",
        "/v1/beliefs/{belief_id}",
        "/v1/tasks/events",
        "/v1/tasks/{task_id}/events",
        "/v1/episodes/{episode_id}/trace",
        "/v1/episodes",
        "/v1/beliefs",
        "/v1/tasks",
        "/v1/ops/health",
        "/v1/ops/backup",
        "/metrics",
        "/healthz",
        "/readyz",
        "/v1/me",
    ):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_readyz_is_503_when_migrations_are_not_at_head(tmp_path: Path) -> None:
    live = start_server(tmp_path / "blank.db", migrate=False)
    try:
        r = live.client().get("/readyz")
        assert r.status_code == 503
        assert r.json()["error"]["kind"] == "schema"
        assert live.client().get("/healthz").status_code == 200
    finally:
        live.stop()


def test_me_returns_the_user_with_security_headers(server: LiveServer) -> None:
    r = server.client("op").get("/v1/me")
    assert r.json()["user_id"] == "op" and r.json()["admin"] is True
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_console_pages_and_assets_are_served_locally(server: LiveServer) -> None:
    c = server.client()
    for page in ("/", "/chat", "/memory", "/ops"):
        r = c.get(page)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "https://" not in r.text and "http://" not in r.text  # no CDN
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', r.text):
            assert c.get(asset).status_code == 200, asset
    for asset in ("/static/app.js", "/static/chart.js", "/static/app.css"):
        body = c.get(asset).text
        assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", body), asset
    assert c.get("/docs").status_code == 404  # Swagger UI would need a CDN


# -- 401, 422, 413 ----------------------------------------------------------------------


def test_missing_malformed_and_unknown_keys_are_401(server: LiveServer) -> None:
    c = server.client()
    for headers in (
        {},
        {"Authorization": "Basic YW5hOnB3"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer mwk_000000000000_" + "A" * 43},
        {"Authorization": f"Bearer {server.keys['ana']}x"},
    ):
        r = c.post("/v1/turns", json={"text": "hi"}, headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert r.json()["error"]["kind"] == "unauthenticated"


def test_validation_errors_are_422_with_a_clear_message(server: LiveServer) -> None:
    c = server.client("ana")
    r = c.post("/v1/turns", json={"text": "hi", "user_id": "bob"})
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "user_id: Extra inputs are not permitted"
    assert c.post("/v1/turns", json={}).json()["error"]["message"] == "text: Field required"
    assert c.post("/v1/turns", json={"text": ""}).status_code == 422
    r = c.post("/v1/turns", json={"text": "   "})
    assert r.status_code == 422 and "empty" in r.json()["error"]["message"]
    r = c.post("/v1/turns", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    r = c.post("/v1/turns", json={"text": "x" * 20_001})
    assert r.status_code == 422 and "20000" in r.json()["error"]["message"]
    assert c.get("/v1/episodes", params={"limit": 0}).status_code == 422
    assert c.get("/v1/tasks", params={"status": "maybe"}).status_code == 422
    assert c.get("/v1/episodes/abc/trace").status_code == 422
    # Values are never echoed back.
    r = c.post("/v1/turns", json={"text": "hi", "password": "hunter2-secret"})
    assert "hunter2" not in r.text


def test_oversized_bodies_are_413(server: LiveServer) -> None:
    c = server.client("ana")
    big = json.dumps({"text": "x" * (server.settings.max_body_bytes + 10)}).encode()
    r = c.post("/v1/turns", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["kind"] == "too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while read
        yield b'{"text": "'
        for _ in range(server.settings.max_body_bytes // 1024 + 2):
            yield b"y" * 1024
        yield b'"}'

    r = c.post("/v1/turns", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


# -- turns ------------------------------------------------------------------------------


def test_turn_answers_like_turn_json_and_takes_the_user_from_the_key(server: LiveServer) -> None:
    body = turn(server, "ana", "My name is Ana and I live in Porto.")
    assert set(body) == {
        "episode_id",
        "reply",
        "action",
        "draft_total_score",
        "final_score",
        "recalled",
        "tasks",
        "beliefs",
        "timings_ms",
        "command",
        "ok",
        "result",
    }
    assert "Porto" in str(body["reply"])
    assert any(b["key"] == "location" for b in body["beliefs"])
    mine = server.client("ana").get("/v1/episodes").json()["items"]
    assert any(e["id"] == body["episode_id"] for e in mine)
    theirs = server.client("bob").get("/v1/episodes").json()["items"]
    assert all(e["id"] != body["episode_id"] for e in theirs)


def test_slash_commands_go_through_governance(server: LiveServer) -> None:
    episode = turn(server, "ana", "I love jazz.")["episode_id"]
    body = turn(server, "ana", f"/trace {episode}")
    assert body["command"] == "/trace" and body["ok"] is True and body["episode_id"] is None


def test_browse_pages_searches_and_shows_history(tmp_path: Path) -> None:
    live = start_server(tmp_path / "browse.db")
    try:
        for text in ("I live in Porto.", "I like green tea.", "I moved to Berlin last month."):
            turn(live, "ana", text)
        turn(live, "bob", "I live in Porto too.")
        c = live.client("ana")
        first = c.get("/v1/episodes", params={"limit": 2}).json()
        assert [e["user_input"] for e in first["items"]] == [
            "I moved to Berlin last month.",
            "I like green tea.",
        ]
        rest = c.get("/v1/episodes", params={"limit": 2, "before": first["next_before"]}).json()
        assert [e["user_input"] for e in rest["items"]] == ["I live in Porto."]
        assert rest["next_before"] is None
        found = c.get("/v1/episodes", params={"q": "PORTO"}).json()["items"]  # any case
        assert {e["user_input"] for e in found} == {
            "I live in Porto.",
            "I moved to Berlin last month.",
        }
        assert c.get("/v1/episodes", params={"q": "100%_"}).json()["items"] == []  # literal
        location = next(b for b in c.get("/v1/beliefs").json()["items"] if b["key"] == "location")
        assert location["value"] == "Berlin" and len(location["sources"]) == 2
        assert [(h["change"], h["old_value"], h["new_value"]) for h in location["history"]] == [
            ("created", None, "Porto"),
            ("updated", "Porto", "Berlin"),
        ]
        assert c.get("/v1/beliefs", params={"q": "tea"}).json()["items"][0]["key"] != "location"
        turn(live, "ana", "Remind me to water the plants.")
        assert [
            t["title"] for t in c.get("/v1/tasks", params={"status": "open"}).json()["items"]
        ] == ["Water the plants"]
        assert c.get("/v1/tasks", params={"status": "done"}).json()["items"] == []
    finally:
        live.stop()


# -- governance ---------------------------------------------------------------------------


def _normalise(body: dict[str, Any]) -> str:
    return re.sub(r"\d+", "N", json.dumps(body))


def test_another_users_ids_answer_404_exactly_like_missing_ids(server: LiveServer) -> None:
    bob_episode = turn(server, "bob", "I live in Oslo.")["episode_id"]
    bob_belief = server.client("bob").get("/v1/beliefs").json()["items"][0]["id"]
    turn(server, "bob", "Remind me to water the plants.")
    bob_task = server.client("bob").get("/v1/tasks").json()["items"][0]["id"]
    ana = server.client("ana")
    for path, method in (
        (f"/v1/episodes/{bob_episode}/trace", "GET"),
        (f"/v1/episodes/{bob_episode}", "DELETE"),
        (f"/v1/beliefs/{bob_belief}", "DELETE"),
        (f"/v1/tasks/{bob_task}/events", "GET"),
    ):
        theirs = ana.request(method, path)
        missing = ana.request(method, re.sub(r"/\d+", "/987654321", path))
        assert theirs.status_code == missing.status_code == 404, path
        assert _normalise(theirs.json()) == _normalise(missing.json())
        assert theirs.headers.get("content-length") is not None
    # Nothing of bob's was touched.
    assert server.client("bob").get(f"/v1/episodes/{bob_episode}/trace").status_code == 200
    assert server.client("bob").get("/v1/beliefs").json()["items"][0]["id"] == bob_belief


def test_trace_shows_recall_risk_action_and_is_audited(server: LiveServer) -> None:
    turn(server, "ana", "I work at the museum.")
    episode = turn(server, "ana", "Where do I work?")["episode_id"]
    r = server.client("ana").get(f"/v1/episodes/{episode}/trace")
    assert r.status_code == 200
    trace = r.json()
    assert trace["episode_id"] == episode and trace["input"] == "Where do I work?"
    assert trace["recalled"] and {"kind", "id", "text", "score"} <= set(trace["recalled"][0])
    assert "scores" in trace["risk"] and trace["action"] == "NONE"
    assert isinstance(trace["rewrite_attempts"], list) and trace["drafts"]
    store = server.store()
    try:
        with store.read() as conn:
            rows = conn.execute(
                select(governance_log.c.args, governance_log.c.success).where(
                    governance_log.c.user_id == "ana", governance_log.c.command == "/trace"
                )
            ).all()
    finally:
        store.close()
    assert (json.dumps([str(episode)]), True) in [(a, bool(s)) for a, s in rows]


def test_delete_episode_and_belief(server: LiveServer) -> None:
    episode = turn(server, "ana", "My favourite colour is teal.")["episode_id"]
    c = server.client("ana")
    r = c.delete(f"/v1/episodes/{episode}")
    assert r.status_code == 200 and r.json()["episode_id"] == episode
    assert c.get(f"/v1/episodes/{episode}/trace").status_code == 404
    assert c.delete(f"/v1/episodes/{episode}").status_code == 404
    turn(server, "ana", "I moved to Berlin last month.")
    belief = next(b for b in c.get("/v1/beliefs").json()["items"] if b["key"] == "location")
    r = c.delete(f"/v1/beliefs/{belief['id']}")
    assert r.status_code == 200 and r.json()["key"] == "location"
    assert all(b["id"] != belief["id"] for b in c.get("/v1/beliefs").json()["items"])


def test_task_events_lists_the_created_event(server: LiveServer) -> None:
    turn(server, "ana", "Remind me to renew my passport.")
    c = server.client("ana")
    task = c.get("/v1/tasks", params={"status": "open"}).json()["items"][-1]
    assert task["title"] == "Renew my passport"
    all_events = c.get("/v1/tasks/events").json()
    assert any(e["task_id"] == task["id"] for e in all_events["events"])
    one = c.get(f"/v1/tasks/{task['id']}/events", params={"limit": 5}).json()
    assert one["task_id"] == task["id"] and one["events"][0]["event"] == "created"


def test_governance_flag_off_answers_403(tmp_path: Path) -> None:
    live = start_server(tmp_path / "off.db", governance_surfaces_enabled=False)
    try:
        c = live.client("ana")
        for method, path in (
            ("GET", "/v1/memory/export"),
            ("GET", "/v1/episodes/1/trace"),
            ("DELETE", "/v1/episodes/1"),
            ("GET", "/v1/tasks/events"),
        ):
            r = c.request(method, path)
            assert r.status_code == 403 and r.json()["error"]["kind"] == "disabled", path
        assert c.post("/v1/turns", json={"text": "hello"}).status_code == 200
    finally:
        live.stop()


def test_export_streams_one_json_document(server: LiveServer) -> None:
    anas = turn(server, "ana", "I live in Porto and my dog is called Rex.")["episode_id"]
    for i in range(40):
        turn(server, "bob", f"Day {i}: I walked the dog along the river " + "and it rained " * 60)
    with server.client("bob").stream("GET", "/v1/memory/export") as r:
        assert r.status_code == 200
        assert r.headers["transfer-encoding"] == "chunked"
        assert r.headers["content-disposition"].startswith(
            'attachment; filename="memwarden-export-bob'
        )
        assert r.headers["cache-control"] == "no-store"
        chunks = list(r.iter_raw())
    document = json.loads(b"".join(chunks))
    assert len(chunks) > 1 and sum(map(len, chunks)) > 64 * 1024
    assert document["user_id"] == "bob" and document["format"] == "memwarden-export"
    assert document["counts"]["episodes"] >= 40
    assert server.keys["bob"].split("_", 2)[2] not in b"".join(chunks).decode()  # no secret
    # ana's episode, made in this test, stays hers
    assert anas not in {e["id"] for e in document["episodes"]}
    assert all("Porto" not in e["user_input"] for e in document["episodes"])


def test_an_export_cut_short_by_the_client_is_audited_as_failed(tmp_path: Path) -> None:
    live = start_server(tmp_path / "cut.db")
    store = live.store()
    try:
        # ~8 MB of memory: more than every buffer on the way.  The client's receive buffer
        # is kept small: else loopback autotunes it up to tcp_rmem's maximum (32 MB on
        # some machines), and the whole export may be delivered before the client hangs up.
        with store.write() as conn:
            for i in range(4500):
                insert_episode(
                    conn, user_id="ana", ts=utcnow(), user_input=f"Note {i}: " + "roses " * 300,
                    draft="Noted.", reply="Noted.", action="NONE", draft_total_score=0.0,
                    final_score=0.0,
                )  # fmt: skip
        small = httpx.HTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)])
        with live.client("ana", transport=small).stream("GET", "/v1/memory/export") as r:
            assert r.status_code == 200
            next(r.iter_raw())  # the first chunk, then hang up
        rows: list[Any] = []
        for _ in range(200):
            with store.read() as conn:
                rows = conn.execute(
                    select(governance_log.c.success, governance_log.c.error).where(
                        governance_log.c.command == "/export_memory"
                    )
                ).all()
            if rows:
                break
            time.sleep(0.05)
        assert rows and not rows[0][0] and "cannot write the export" in rows[0][1]
        assert live.client("ana").get("/v1/me").status_code == 200
    finally:
        store.close()
        live.stop()


# -- operators ----------------------------------------------------------------------------


def test_operator_endpoints_need_an_admin_key(server: LiveServer) -> None:
    ana = server.client("ana")
    for method, path in (
        ("GET", "/v1/ops/health"),
        ("GET", "/v1/ops/timeseries"),
        ("POST", "/v1/ops/backup"),
        ("GET", "/metrics"),
    ):
        r = ana.request(method, path)
        assert r.status_code == 403 and r.json()["error"]["kind"] == "forbidden", path
        assert server.client().request(method, path).status_code == 401


def test_health_is_the_report_of_the_library(server: LiveServer) -> None:
    from memwarden.ops.health import collect_health
    from memwarden.ops.thresholds import load_thresholds, parse_duration

    r = server.client("op").get("/v1/ops/health", params={"window": "6h"})
    assert r.status_code == 200
    api = r.json()
    store = server.store()
    try:
        lib = collect_health(store, load_thresholds(), parse_duration("6h"), None).to_dict()
    finally:
        store.close()
    assert set(api) == set(lib)
    assert [m["id"] for m in api["metrics"]] == [m["id"] for m in lib["metrics"]]
    assert server.client("op").get("/v1/ops/health", params={"window": "soon"}).status_code == 422


def test_timeseries_returns_buckets_and_rejects_zero(server: LiveServer) -> None:
    turn(server, "op", "I like green tea.")  # an episode in the last bucket
    r = server.client("op").get("/v1/ops/timeseries", params={"window": "1h", "buckets": 6})
    assert r.status_code == 200
    series = r.json()
    assert len(series["points"]) == 6 and series["points"][-1]["episodes"] > 0
    assert {"gate_score", "episode_rate", "governance_latency"} == set(series["alerts"])
    assert server.client("op").get("/v1/ops/timeseries", params={"buckets": 0}).status_code == 422


def test_backup_writes_a_snapshot_and_refuses_bad_names(server: LiveServer) -> None:
    op = server.client("op")
    r = op.post("/v1/ops/backup", json={"name": "api-test.db"})
    assert r.status_code == 201, r.text
    snapshot = Path(r.json()["path"])
    assert snapshot.is_file() and Path(r.json()["checksum_file"]).is_file()
    assert snapshot.parent == Path(server.settings.db).parent / "backups"
    assert op.post("/v1/ops/backup", json={"name": "api-test.db"}).status_code == 422
    assert op.post("/v1/ops/backup", json={"name": "../escape.db"}).status_code == 422
    assert op.post("/v1/ops/backup", json={"path": "/tmp/x.db"}).status_code == 422
    assert op.post("/v1/ops/backup").status_code == 201


def test_metrics_count_turns_governance_and_routes(server: LiveServer) -> None:
    episode = turn(server, "ana", "I like tea.")["episode_id"]
    assert server.client("ana").get(f"/v1/episodes/{episode}/trace").status_code == 200
    assert server.client("ana").get("/v1/episodes/987654321/trace").status_code == 404
    text = server.client("op").get("/metrics").text
    assert 'memwarden_turns_total{action="NONE"}' in text
    assert "memwarden_gate_draft_score_bucket" in text
    assert 'memwarden_governance_calls_total{command="/trace",outcome="not_found"}' in text
    assert 'memwarden_governance_calls_total{command="/trace",outcome="ok"}' in text
    assert (
        'memwarden_http_request_duration_seconds_bucket{le="0.05",method="POST",route="/v1/turns"}'
        in text
    )
    assert 'route="/v1/episodes/{episode_id}/trace"' in text


# -- keys -------------------------------------------------------------------------------


def test_a_revoked_key_answers_401_at_once(server: LiveServer) -> None:
    store = server.store()
    try:
        ring = KeyRing(store)
        _, key = ring.issue_key("ana", label="to revoke")
        c = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"})
        assert c.get("/v1/me").status_code == 200
        ring.revoke(key)
        assert c.get("/v1/me").status_code == 401
        assert server.client("ana").get("/v1/me").status_code == 200  # her other key
        c.close()
    finally:
        store.close()


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    live = start_server(tmp_path / "rl.db", rate_limit_per_s=0.5, rate_limit_burst=3)
    try:
        ana = live.client("ana")
        codes = [ana.get("/v1/me").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = ana.get("/v1/me")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["kind"] == "rate_limited"
        assert live.client("bob").get("/v1/me").status_code == 200  # per key
        assert "memwarden_rate_limited_total 2.0" in live.client("op").get("/metrics").text
    finally:
        live.stop()
