"""Who is calling: ``Authorization: Bearer <key>`` to a :class:`Principal`, per request.

* no or malformed header, unknown or revoked key: 401 with ``WWW-Authenticate: Bearer``;
* an operator endpoint with a non-admin key: 403;
* over the key's rate limit: 429 with ``Retry-After`` (whole seconds).

The user a request acts as comes from its key only, never from the body or the path.
Keys are never logged: only their public id appears anywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .errors import ApiError
from .keys import Principal
from .metrics import Metrics
from .ratelimit import RateLimiter
from .service import Service

__all__ = ["AppContext", "admin", "context", "principal", "service"]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `memwarden users add NAME` (mwk_...).",
)


@dataclass
class AppContext:
    """What one app holds: built by ``create_app``; the service once started."""

    metrics: Metrics
    limiter: RateLimiter
    service: Service | None = None


async def context(request: Request) -> AppContext:
    ctx = request.app.state.memwarden
    assert isinstance(ctx, AppContext)
    return ctx


async def service(ctx: AppContext = Depends(context)) -> Service:
    if ctx.service is None:
        raise ApiError(503, "starting", "the service is starting", {"Retry-After": "1"})
    return ctx.service


def _unauthenticated(message: str) -> ApiError:
    return ApiError(
        401, "unauthenticated", message, {"WWW-Authenticate": 'Bearer realm="memwarden"'}
    )


async def principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    ctx: AppContext = Depends(context),
    svc: Service = Depends(service),
) -> Principal:
    """The caller, authenticated and within its rate limit.

    The key lookup (one indexed read, ~0.3 ms) runs on the event loop: a hop to the
    thread pool costs more than that, especially on a busy machine.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthenticated("send Authorization: Bearer <API key>")
    who = svc.authenticate(credentials.credentials)
    if who is None:
        raise _unauthenticated("the API key is not valid (unknown, malformed or revoked)")
    wait = ctx.limiter.take(who.key_id)
    if wait > 0:
        ctx.metrics.rate_limited.inc()
        seconds = max(1, math.ceil(wait))
        raise ApiError(
            429,
            "rate_limited",
            f"too many requests for this key: retry in {seconds} s",
            {"Retry-After": str(seconds)},
        )
    request.state.key_id = who.key_id
    return who


async def admin(who: Principal = Depends(principal)) -> Principal:
    """The caller, who must be an operator."""
    if not who.admin:
        raise ApiError(403, "forbidden", "this endpoint is for operators (an admin key)")
    return who
