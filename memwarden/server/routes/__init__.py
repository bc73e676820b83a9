"""The HTTP routes, one module per resource; each route parses, calls, formats."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from ..models import ErrorOut

__all__ = ["errors", "json_answer"]

_DESCRIPTIONS = {
    401: "No API key, or an unknown or revoked one (WWW-Authenticate: Bearer).",
    403: "An operator endpoint with a non-admin key, or governance switched off.",
    404: "No such id for this user (another user's id answers the same).",
    413: "The request body is over the configured limit.",
    422: "The request does not validate; the message names the field and the rule.",
    429: "Over this key's rate limit; Retry-After says when to retry.",
    502: "The configured model server failed.",
    503: "The database is unavailable, busy or not migrated (Retry-After when busy).",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses (all share :class:`ErrorOut`)."""
    return {code: {"model": ErrorOut, "description": _DESCRIPTIONS[code]} for code in codes}


def json_answer(data: Any, status: int = 200) -> JSONResponse:
    """A JSON answer that is never cached (memory is personal)."""
    return JSONResponse(data, status_code=status, headers={"Cache-Control": "no-store"})
