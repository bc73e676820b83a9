"""Running the ``memwarden`` command line in a child process, as a user would.

The conftest's autouse fixture has already removed ``MEMWARDEN_*`` from this process's
environment, so the child sees only what a test passes in ``env``.
"""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    input: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -m memwarden ARGS`` with this environment plus ``env``; never raises on
    a non-zero exit (tests assert the code)."""
    return subprocess.run(
        [sys.executable, "-m", "memwarden", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        input=input,
        timeout=timeout,
    )
