"""Start-up stays lean: ``import memwarden`` and the CLI import nothing heavy, and
``memwarden health`` runs without the agent, the risk gate or Alembic.

Each check runs in a new interpreter, since this test process has imported everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import memwarden
from memwarden.settings import Settings
from memwarden.store import Store

PROBE = """
import contextlib, io, json, sys
seen = {}
import memwarden
seen["import memwarden"] = sorted(sys.modules)
import memwarden.cli
seen["import memwarden.cli"] = sorted(sys.modules)
sys.argv = ["memwarden", "--db", sys.argv[1], "health", "--json"]
out = io.StringIO()
try:
    with contextlib.redirect_stdout(out):
        memwarden.cli.main()
except SystemExit as e:
    seen["exit"] = e.code
seen["memwarden health"] = sorted(sys.modules)
seen["stdout"] = out.getvalue()
print(json.dumps(seen))
"""

HEAVY = ("sqlalchemy", "pydantic_settings", "alembic", "memwarden.agent", "memwarden.store")
#: What health must not need: the agent, its LLM clients and gate, the memory, Alembic.
NOT_FOR_HEALTH = (
    "alembic",
    "memwarden.agent",
    "memwarden.gate",
    "memwarden.llm",
    "memwarden.memory",
)


@pytest.fixture(scope="module")
def seen(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Modules loaded after each step of a fresh ``memwarden health`` run."""
    db = tmp_path_factory.mktemp("startup") / "memory.db"
    Store.open(Settings(db=str(db))).close()
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(db)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=db.parent,
    )
    return dict(json.loads(done.stdout))


def _loaded(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return sorted({p for p in packages for m in modules if m == p or m.startswith(p + ".")})


def test_import_memwarden_loads_no_library_module(seen: dict[str, Any]) -> None:
    assert _loaded(seen["import memwarden"], HEAVY) == []


def test_import_cli_loads_no_library_module(seen: dict[str, Any]) -> None:
    assert _loaded(seen["import memwarden.cli"], HEAVY) == []


def test_health_command_runs_without_agent_gate_memory_or_alembic(seen: dict[str, Any]) -> None:
    report = json.loads(seen["stdout"])  # an empty database: WARNING, too few episodes
    assert report["exit_code"] == seen["exit"] and len(report["metrics"]) == 14
    assert _loaded(seen["memwarden health"], NOT_FOR_HEALTH) == []


def test_lazy_names_resolve_to_their_definitions() -> None:
    from memwarden.agent import Agent
    from memwarden.turn import TurnResult

    assert (memwarden.Agent, memwarden.TurnResult) == (Agent, TurnResult)
    assert memwarden.Store is Store and memwarden.Settings is Settings
    assert set(memwarden.__all__) <= set(dir(memwarden))


def test_lazy_names_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Agnet'"):
        memwarden.Agnet  # noqa: B018


def test_command_exit_keeps_output_and_log_lines(tmp_path: Path) -> None:
    """``main`` freezes the heap at exit instead of collecting it: nothing written is lost."""
    db, log = tmp_path / "memory.db", tmp_path / "memwarden.log"
    script = Path(sys.executable).with_name("memwarden")
    done = subprocess.run(
        [str(script), "--db", str(db), "--log-file", str(log), "users", "add", "ana"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=tmp_path,
    )
    key = done.stdout.splitlines()[-1]
    assert key.startswith("mwk_")
    assert log.read_text().endswith(f"key {key.split('_')[1]} issued\n")
