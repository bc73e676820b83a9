"""Governance over HTTP: the same :class:`~memwarden.governance.Governance` calls as the
CLI and the slash commands, so the same audit rows and the same feature flag.

A failed call answers by its error kind: not_found 404, usage 422, disabled 403,
store 503.  The export streams the JSON document while governance writes it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from ...governance import (
    DecisionTrace,
    DeleteBeliefReport,
    DeleteEpisodeReport,
    GovernanceResult,
    TaskEventsReport,
)
from ..auth import AppContext, context, principal, service
from ..errors import ApiError
from ..keys import Principal
from ..service import Service, export_filename
from . import errors, json_answer

router = APIRouter(prefix="/v1", tags=["governance"])

MAX_ID = 10**18 - 1
EPISODE_ID = Path(ge=1, le=MAX_ID, description="An episode id (45).")
BELIEF_ID = Path(ge=1, le=MAX_ID, description="A belief id (7).")
TASK_ID = Path(ge=1, le=MAX_ID, description="A task id (3).")
LIMIT = Query(100, ge=1, le=1000, description="At most this many events, newest first.")


def _answer(ctx: AppContext, result: GovernanceResult[Any]) -> JSONResponse:
    ctx.metrics.observe_governance(result)
    result.raise_for_error()
    if not result.ok:
        raise ApiError(500, "internal", result.error or "internal error")
    return json_answer(result.data())


@router.get(
    "/memory/export",
    responses={
        200: {
            "description": "One JSON document (docs/export-schema.json), streamed.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **errors(401, 403, 429, 503),
    },
    response_class=StreamingResponse,
    summary="Export everything stored about me",
)
async def export_memory(
    request: Request,
    who: Principal = Depends(principal),
    svc: Service = Depends(service),
    ctx: AppContext = Depends(context),
) -> Response:
    """The user's whole memory as one JSON document, streamed as it is read."""
    stream = svc.export(who.user_id)
    ended = await stream.start()
    if ended is not None:  # refused (or tiny): answer with a status of its own
        ctx.metrics.observe_governance(ended)
        ended.raise_for_error()
    filename = export_filename(who.user_id)
    return StreamingResponse(
        stream.body(ctx.metrics.observe_governance, request.is_disconnected),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.delete(
    "/episodes/{episode_id}",
    response_model=DeleteEpisodeReport,
    responses=errors(401, 403, 404, 422, 429, 503),
    summary="Hard-delete one of my episodes",
)
def delete_episode(
    episode_id: int = EPISODE_ID,
    who: Principal = Depends(principal),
    svc: Service = Depends(service),
    ctx: AppContext = Depends(context),
) -> JSONResponse:
    """Delete the episode and what came from it, down to the database file."""
    return _answer(ctx, svc.governance.delete_episode(who.user_id, episode_id))


@router.delete(
    "/beliefs/{belief_id}",
    response_model=DeleteBeliefReport,
    responses=errors(401, 403, 404, 422, 429, 503),
    summary="Delete one of my beliefs",
)
def delete_belief(
    belief_id: int = BELIEF_ID,
    who: Principal = Depends(principal),
    svc: Service = Depends(service),
    ctx: AppContext = Depends(context),
) -> JSONResponse:
    """Delete the belief with its history and sources."""
    return _answer(ctx, svc.governance.delete_belief(who.user_id, belief_id))


@router.get(
    "/tasks/events",
    response_model=TaskEventsReport,
    responses=errors(401, 403, 422, 429, 503),
    summary="My task events, newest first",
)
def task_events(
    limit: int = LIMIT,
    who: Principal = Depends(principal),
    svc: Service = Depends(service),
    ctx: AppContext = Depends(context),
) -> JSONResponse:
    return _answer(ctx, svc.governance.task_events(who.user_id, None, limit=limit))


@router.get(
    "/tasks/{task_id}/events",
    response_model=TaskEventsReport,
    responses=errors(401, 403, 404, 422, 429, 503),
    summary="One task's events, newest first",
)
def one_task_events(
    task_id: int = TASK_ID,
    limit: int = LIMIT,
    who: Principal = Depends(principal),
    svc: Service = Depends(service),
    ctx: AppContext = Depends(context),
) -> JSONResponse:
    return _answer(ctx, svc.governance.task_events(who.user_id, task_id, limit=limit))


@router.get(
    "/episodes/{episode_id}/trace",
    response_model=DecisionTrace,
    responses=errors(401, 403, 404, 422, 429, 503),
    summary="Why the agent replied what it replied",
)
def trace(
    episode_id: int = EPISODE_ID,
    who: Principal = Depends(principal),
    svc: Service = Depends(service),
    ctx: AppContext = Depends(context),
) -> JSONResponse:
    """Recalled memories, risk scores per category, the action and every rewrite."""
    return _answer(ctx, svc.governance.trace(who.user_id, episode_id))
