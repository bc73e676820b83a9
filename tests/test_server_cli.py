"""`memwarden users ...` and `memwarden serve` as an operator runs them."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from memwarden.cli import app
from memwarden.server.keys import KEY_PATTERN

from .test_server_support import start_server

runner = CliRunner()


def cli(db: Path, *args: str) -> str:
    result = runner.invoke(app, ["--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_users_add_prints_the_key_once_on_the_last_line_and_stores_only_a_hash(
    tmp_path: Path,
) -> None:
    db = tmp_path / "m.db"
    out = cli(db, "users", "add", "ana")
    key = out.strip().splitlines()[-1]
    assert KEY_PATTERN.match(key), out
    admin_key = cli(db, "users", "add", "ops", "--admin").strip().splitlines()[-1]
    with sqlite3.connect(db) as conn:
        dump = "\n".join(conn.iterdump())
        stored = dict(conn.execute("SELECT user_id, key_hash FROM api_keys").fetchall())
        roles = dict(conn.execute("SELECT user_id, admin FROM api_users").fetchall())
    assert key not in dump and key.split("_", 2)[2] not in dump and admin_key not in dump
    assert stored["ana"] == hashlib.sha256(key.encode()).hexdigest()
    assert roles == {"ana": 0, "ops": 1}
    listing = cli(db, "users", "list")
    assert re.search(r"^ana\s+user", listing, re.M) and re.search(r"^ops\s+admin", listing, re.M)
    assert key not in listing
    again = runner.invoke(app, ["--db", str(db), "users", "add", "ana"])
    assert again.exit_code == 2 and "exists" in again.output


def test_keys_add_list_and_revoke(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    first = cli(db, "users", "add", "ana").strip().splitlines()[-1]
    second = cli(db, "users", "keys", "add", "ana", "--label", "laptop").strip().splitlines()[-1]
    keys = json.loads(cli(db, "users", "keys", "list", "ana", "--json"))
    assert [k["label"] for k in keys] == [None, "laptop"] and all(k["active"] for k in keys)
    cli(db, "users", "keys", "revoke", first)  # the whole key works as well as its id
    keys = json.loads(cli(db, "users", "keys", "list", "--json"))
    assert [k["active"] for k in keys] == [False, True]
    cli(db, "users", "keys", "revoke", "--all", "--user", "ana")
    assert not any(k["active"] for k in json.loads(cli(db, "users", "keys", "list", "--json")))
    assert second not in cli(db, "users", "list")
    missing = runner.invoke(app, ["--db", str(db), "users", "keys", "revoke", "0123456789ab"])
    assert missing.exit_code == 2 and "no key" in missing.output
    assert runner.invoke(app, ["--db", str(db), "users", "keys", "revoke"]).exit_code == 2


def test_revoking_with_the_cli_locks_out_a_running_server(tmp_path: Path) -> None:
    live = start_server(tmp_path / "m.db")
    try:
        ana = live.client("ana")
        assert ana.get("/v1/me").status_code == 200
        key_id = live.keys["ana"].split("_")[1]
        cli(Path(live.settings.db), "users", "keys", "revoke", key_id)
        assert ana.get("/v1/me").status_code == 401
    finally:
        live.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], Path]]:
    """`memwarden serve --workers 2` in its own process group; its output in a file."""
    db = tmp_path / "served.db"
    keys = {
        "ana": cli(db, "users", "add", "ana").strip().splitlines()[-1],
        "op": cli(db, "users", "add", "op", "--admin").strip().splitlines()[-1],
    }
    port = _free_port()
    log = tmp_path / "serve.log"
    env = {**os.environ, "MEMWARDEN_RATE_LIMIT_PER_S": "0"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "memwarden",
                "--db",
                str(db),
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        yield url, keys, log
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_serve_with_workers_shares_one_store_sums_metrics_and_logs_no_secret_or_query(
    served: tuple[str, dict[str, str], Path],
) -> None:
    url, keys, log = served
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {keys['ana']}"}) as ana:
        ids = {
            ana.post("/v1/turns", json={"text": f"I like tea number {i}."}).json()["episode_id"]
            for i in range(12)
        }
        assert len(ids) == 12
        assert ana.get(f"/v1/episodes/{max(ids)}/trace").status_code == 200
        assert ana.get("/v1/episodes", params={"limit": 200}).json()["items"][0]["id"] == max(ids)
        assert ana.get("/").status_code == 200
        # Memory text in a query string, and a slash "command" that is a secret
        assert ana.get("/v1/episodes", params={"q": "Tenerife"}).status_code == 200
        assert ana.post("/v1/turns", json={"text": "/my-pin-is-4711"}).status_code == 200
    metrics = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {keys['op']}"}).text
    assert 'memwarden_turns_total{action="NONE"} 12.0' in metrics  # summed over workers
    assert 'memwarden_commands_total{command="unknown",ok="false"} 1.0' in metrics
    assert "4711" not in metrics
    time.sleep(0.5)
    output = log.read_text()
    assert "Started server process" in output and "POST /v1/turns" in output
    assert '"GET /v1/episodes HTTP/1.1" 200' in output and "Tenerife" not in output
    for key in keys.values():
        assert key not in output and key.split("_", 2)[2] not in output
