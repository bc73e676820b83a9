"""The FastAPI app: ``create_app(settings)`` builds one; nothing happens at import.

    app = create_app(Settings(db="memory.db"))
    uvicorn.run(app, host="127.0.0.1", port=8080, log_config=log_config())

(``log_config`` from :mod:`.accesslog`: uvicorn's own access log would keep query
strings, which can hold memory text.)

Startup opens the agent on the store (migrating it when ``migrate``), and holds the
database's shared server lock so that ``memwarden restore`` refuses while it serves;
shutdown releases both.  ``memwarden serve --workers N`` imports
:func:`create_app_from_env` in each worker instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from .. import __version__
from ..agent import Agent
from ..logs import configure_logging
from ..ops.lock import serving
from ..settings import Settings
from ..store import Store
from .auth import AppContext
from .errors import install_handlers
from .metrics import Metrics
from .middleware import EdgeMiddleware
from .ratelimit import RateLimiter
from .routes import browse, console, governance, ops, probes, turns
from .service import Service

__all__ = ["create_app", "create_app_from_env"]

DESCRIPTION = """\
memwarden's HTTP API: talk to the agent, and see and erase what it remembers.

Every endpoint under /v1 takes `Authorization: Bearer <API key>` (from
`memwarden users add NAME`); the user is the key's user.  Errors answer
`{"error": {"kind": ..., "message": ...}}`.  Operator endpoints need an admin key.
"""


def create_app(settings: Settings, *, migrate: bool = True) -> FastAPI:
    """A new app over the configured store, with its own metrics and rate limits."""
    ctx = AppContext(
        metrics=Metrics(),
        limiter=RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst),
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        with contextlib.ExitStack() as stack:
            db = settings.sqlite_path()
            if db is not None:
                stack.enter_context(serving(db.resolve()))
            store = Store.open(settings, migrate=migrate)
            stack.callback(store.close)  # what agent.close() does
            agent = Agent(store, settings)
            ctx.metrics.known_commands = frozenset([*agent.commands.names(), "/help"])
            ctx.service = Service(settings, agent)
            stack.callback(ctx.service.close)
            try:
                yield
            finally:
                ctx.service = None

    app = FastAPI(
        title="memwarden",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # Swagger UI would load a CDN; /openapi.json is the contract
        redoc_url=None,
    )
    app.state.memwarden = ctx
    install_handlers(app)
    app.add_middleware(
        EdgeMiddleware,
        metrics=ctx.metrics,
        max_body_bytes=settings.max_body_bytes,
    )
    for module in (probes, turns, governance, browse, ops):
        app.include_router(module.router)
    package = resources.files("memwarden.server.console")
    templates = Jinja2Templates(directory=str(package / "templates"))
    app.include_router(console.make_router(templates))
    app.mount("/static", StaticFiles(directory=str(package / "static")), name="static")
    return app


def create_app_from_env() -> FastAPI:
    """The app from the environment's settings (uvicorn's factory in each worker).

    The parent (``memwarden serve``) has migrated already, so workers do not race.
    """
    settings = Settings()
    configure_logging(settings)
    return create_app(settings, migrate=False)
