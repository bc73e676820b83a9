"""How errors become HTTP answers: one JSON shape, ``{"error": {"kind", "message"}}``.

memwarden's error tree maps onto status codes here, in one table:

    NotFound            404 not_found      (another user's id is the same 404)
    InputError          422 invalid
    GovernanceDisabled  403 disabled       (GOVERNANCE_SURFACES_ENABLED is off)
    ConcurrencyConflict 503 busy           (with Retry-After: 1)
    SchemaError         503 schema         (migrations not at head)
    StoreUnavailable    503 store_unavailable
    LLMUnavailable      502 llm_unavailable
    LLMResponseError    502 llm_response
    anything else       500 internal

Messages are memwarden's own one-line messages; a request's body or headers are never
echoed back (validation errors name the field and the rule, not the value).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import (
    ConcurrencyConflict,
    ConfigError,
    GovernanceDisabled,
    InputError,
    LLMResponseError,
    LLMUnavailable,
    MemwardenError,
    NotFound,
    SchemaError,
    StoreUnavailable,
)

__all__ = ["ApiError", "error_body", "install_handlers", "status_for"]

log = logging.getLogger("memwarden")

_HTTP_KINDS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


class ApiError(Exception):
    """An answer other than success, raised anywhere in a request."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.headers = dict(headers or {})


def error_body(
    kind: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"kind": kind, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def status_for(error: MemwardenError) -> tuple[int, str]:
    """(HTTP status, kind) of a memwarden error."""
    table: tuple[tuple[type[MemwardenError], int, str], ...] = (
        (NotFound, 404, "not_found"),
        (InputError, 422, "invalid"),
        (GovernanceDisabled, 403, "disabled"),
        (ConcurrencyConflict, 503, "busy"),
        (SchemaError, 503, "schema"),
        (StoreUnavailable, 503, "store_unavailable"),
        (LLMUnavailable, 502, "llm_unavailable"),
        (LLMResponseError, 502, "llm_response"),
        (ConfigError, 500, "config"),
    )
    for cls, status, kind in table:
        if isinstance(error, cls):
            return status, kind
    return 500, "internal"


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:500] if lines else ""


def _json(
    status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
) -> JSONResponse:
    merged = {"Cache-Control": "no-store", **(headers or {})}
    return JSONResponse(body, status_code=status, headers=merged)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _json(exc.status, error_body(exc.kind, exc.message), exc.headers)


async def _memwarden_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MemwardenError)
    status, kind = status_for(exc)
    message = _one_line(str(exc)) or type(exc).__name__
    if status >= 500:
        log.error("HTTP %d %s: %s", status, kind, message)
    headers = {"Retry-After": "1"} if isinstance(exc, ConcurrencyConflict) else None
    return _json(status, error_body(kind, message), headers)


def _where(loc: Any) -> str:
    parts = [str(p) for p in loc if p != "body" or len(loc) == 1]
    return ".".join(parts) or "request"


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    message = "; ".join(f"{_where(d['loc'])}: {d['msg']}" for d in details[:5]) or "invalid request"
    return _json(422, error_body("invalid", message, details))


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode: a validation error like any other.
        return _json(422, error_body("invalid", "the body is not valid JSON in UTF-8"))
    kind = _HTTP_KINDS.get(exc.status_code, "error")
    message = exc.detail if isinstance(exc.detail, str) else kind
    return _json(exc.status_code, error_body(kind, message), exc.headers)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the log (type and place, never a request's headers).
    log.error("HTTP 500: unexpected %s", type(exc).__name__, exc_info=exc)
    return _json(500, error_body("internal", "internal error"))


def install_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into the JSON error shape."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(MemwardenError, _memwarden_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
