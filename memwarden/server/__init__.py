"""The HTTP service: API under /v1, probes, Prometheus metrics and the web console.

    from memwarden.server import create_app
    app = create_app(Settings(db="memory.db"))      # an ASGI app; serve with uvicorn

Importing this package is cheap: the web framework loads with :func:`create_app`, so
``memwarden users ...`` (which uses :mod:`.keys`) never imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = ["create_app"]


def create_app(settings: Any, **kwargs: Any) -> FastAPI:
    """See :func:`memwarden.server.app.create_app`."""
    from .app import create_app as build

    return build(settings, **kwargs)
