"""`memwarden serve`: the HTTP API, probes, metrics and web console, on uvicorn.

One worker serves an app built here; with ``--workers N`` uvicorn starts N processes
that each build theirs from the environment (:func:`create_app_from_env`), after this
process has migrated the database once.  Metrics are then summed over the workers
through ``PROMETHEUS_MULTIPROC_DIR`` (a temporary folder unless set).
"""

from __future__ import annotations

import os
import tempfile

import typer

from .context import edge, err_console, state

__all__ = ["serve"]


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", min=0, max=65535, help="Port (0: any free one)."),
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, help="Worker processes (one per core is a good start)."
    ),
    access_log: bool = typer.Option(
        True,
        "--access-log/--no-access-log",
        help="Log each request (method, path and status; never the query string).",
    ),
) -> None:
    """Serve the API (/v1, /openapi.json), /metrics, probes and the web console.

    Example:

        memwarden --db /var/lib/memwarden/memwarden.db serve --port 8080 --workers 2
    """
    import uvicorn

    from ..server.accesslog import log_config
    from ..server.address import check_listen_address
    from ..server.app import create_app
    from ..store import Store

    st = state(ctx)
    with edge():
        settings = st.settings()
        check_listen_address(host, port)
        Store.open(settings).close()  # migrate once, before any worker starts
    common = {
        "host": host,
        "port": port,
        "access_log": access_log,
        "log_config": log_config(),
        "server_header": False,
        "log_level": settings.log_level.lower(),
        "timeout_graceful_shutdown": 10,
    }
    err_console.print(f"memwarden serving on http://{host}:{port}/ ({workers} worker(s))")
    if workers == 1:
        uvicorn.run(create_app(settings, migrate=False), **common)  # type: ignore[arg-type]
        return
    # Workers read their settings from the environment: hand over the flags given here.
    for key, value in st.overrides.items():
        os.environ[f"MEMWARDEN_{key.upper()}"] = str(value)
    with tempfile.TemporaryDirectory(prefix="memwarden-metrics-") as folder:
        os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", folder)
        uvicorn.run(
            "memwarden.server.app:create_app_from_env",
            factory=True,
            workers=workers,
            **common,  # type: ignore[arg-type]
        )
