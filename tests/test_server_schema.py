"""Schemathesis against the live server's /openapi.json: generated requests (valid and
invalid) to every operation, a bounded number per operation; no answer is a 5xx, and
every answer conforms to the published schema (status, content type, body, headers).

MEMWARDEN_SCHEMATHESIS_EXAMPLES sets the examples per operation (default 25).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from memwarden.server import create_app
from memwarden.settings import Settings

from .test_server_support import LiveServer, start_server

EXAMPLES = int(os.environ.get("MEMWARDEN_SCHEMATHESIS_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    server = start_server(
        Path(tmp_path_factory.mktemp("schemathesis")) / "memwarden.db",
        max_body_bytes=64 * 1024,
    )
    ana = server.client("ana")
    for text in ("I live in Porto.", "Remind me to call Ana.", "I work at the museum."):
        ana.post("/v1/turns", json={"text": text}).raise_for_status()
    yield server
    server.stop()


def _published_spec() -> dict[str, object]:
    # The app publishes its schema without opening the database (that happens at
    # startup), so the operations are known at collection time; a test below checks
    # that the live server serves this same document.
    app = create_app(Settings(db=str(Path(tempfile.gettempdir()) / "memwarden-unused.db")))
    return app.openapi()


SPEC = _published_spec()
schema = schemathesis.openapi.from_dict(SPEC)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_conforms_and_never_answers_5xx(
    case: schemathesis.Case[Any], live: LiveServer
) -> None:
    # The admin key reaches every operation; ids of other users' rows answer 404.
    case.call_and_validate(base_url=live.url, headers=live.headers("op"), checks=CHECKS, timeout=30)


def test_the_live_server_publishes_the_same_schema(live: LiveServer) -> None:
    served = live.client().get("/openapi.json").json()
    assert served == SPEC
    live_schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    paths = {op.ok().path for op in live_schema.get_all_operations()}  # type: ignore[union-attr]
    assert {"/v1/turns", "/v1/memory/export", "/metrics", "/v1/ops/backup"} <= paths
    assert "/" not in paths  # console pages are not API
