"""The style the project promises: ruff's lint and format rules and mypy --strict, run
on the checkout as part of the suite (so CI enforces them, not only a reviewer)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_tool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_check_finds_no_problems() -> None:
    done = run_tool("ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_leaves_code_unchanged() -> None:
    done = run_tool("ruff", "format", "--check", "--no-cache", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_finds_no_type_errors(tmp_path: Path) -> None:
    # The packages checked (memwarden, benchmarks) and --strict come from pyproject.toml.
    done = run_tool("mypy", "--cache-dir", str(tmp_path / "mypy"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success: no issues found" in done.stdout
