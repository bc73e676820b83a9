"""A real uvicorn server on a free loopback port, in a thread, for the service tests.

    server = start_server(tmp_path / "m.db")        # users ana, bob and op (admin)
    server.client("ana").post("/v1/turns", json={"text": "hi"})
    server.stop()

(No tests here: the helpers the other ``test_server_*`` and ``test_browser_*`` files use.)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from memwarden.server import create_app
from memwarden.server.keys import KeyRing
from memwarden.settings import Settings
from memwarden.store import Store

USERS = {"ana": False, "bob": False, "op": True}


@dataclass
class LiveServer:
    url: str
    settings: Settings
    keys: dict[str, str]
    server: uvicorn.Server
    thread: threading.Thread
    clients: list[httpx.Client] = field(default_factory=list)

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}

    def client(self, user: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = self.headers(user) if user else {}
        client = httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)
        self.clients.append(client)
        return client

    def store(self) -> Store:
        return Store.open(self.settings, migrate=False)

    def stop(self) -> None:
        for client in self.clients:
            client.close()
        self.server.should_exit = True
        self.thread.join(timeout=15)


def add_users(settings: Settings, users: dict[str, bool] = USERS) -> dict[str, str]:
    store = Store.open(settings)
    try:
        ring = KeyRing(store)
        return {name: ring.add_user(name, admin=admin)[1] for name, admin in users.items()}
    finally:
        store.close()


def start_server(
    db: Path, *, users: dict[str, bool] = USERS, migrate: bool = True, **overrides: Any
) -> LiveServer:
    """Create the users, then serve ``db`` on 127.0.0.1 with a port the kernel picks."""
    values: dict[str, Any] = {"db": str(db), "rate_limit_per_s": 0, **overrides}
    settings = Settings(**values)
    keys = add_users(settings, users) if migrate else {}
    config = uvicorn.Config(
        create_app(settings, migrate=migrate),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    return LiveServer(f"http://127.0.0.1:{port}", settings, keys, server, thread)
