"""Read-only lists for the console: episodes (paged, searchable), beliefs with their
history, tasks; and who the key belongs to."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from ...memory.tasks import TaskStatus
from ...turn import jsonable
from ..auth import principal, service
from ..keys import Principal
from ..models import BeliefsOut, EpisodesOut, Me, TasksOut
from ..service import Service
from . import errors, json_answer

router = APIRouter(prefix="/v1", tags=["memory"])

SEARCH = Query(None, max_length=200, description="Only items containing this text.")


@router.get("/me", response_model=Me, responses=errors(401, 429, 503), summary="Who am I")
def me(who: Principal = Depends(principal)) -> JSONResponse:
    return json_answer({"user_id": who.user_id, "key_id": who.key_id, "admin": who.admin})


@router.get(
    "/episodes",
    response_model=EpisodesOut,
    responses=errors(401, 422, 429, 503),
    summary="My episodes, newest first",
)
def episodes(
    q: str | None = SEARCH,
    before: int | None = Query(None, ge=1, le=10**18, description="Cursor: ids below this."),
    limit: int = Query(50, ge=1, le=200),
    who: Principal = Depends(principal),
    svc: Service = Depends(service),
) -> JSONResponse:
    page = svc.browser.episodes(who.user_id, q=q, before=before, limit=limit)
    return json_answer(jsonable(page))


@router.get(
    "/beliefs",
    response_model=BeliefsOut,
    responses=errors(401, 422, 429, 503),
    summary="My beliefs with their history",
)
def beliefs(
    q: str | None = SEARCH,
    limit: int = Query(1000, ge=1, le=1000),
    who: Principal = Depends(principal),
    svc: Service = Depends(service),
) -> JSONResponse:
    return json_answer(jsonable(svc.browser.beliefs(who.user_id, q=q, limit=limit)))


@router.get(
    "/tasks",
    response_model=TasksOut,
    responses=errors(401, 422, 429, 503),
    summary="My tasks, oldest first",
)
def tasks(
    status: TaskStatus | None = Query(None, description="Only tasks in this status."),
    who: Principal = Depends(principal),
    svc: Service = Depends(service),
) -> JSONResponse:
    return json_answer({"items": jsonable(svc.browser.tasks(who.user_id, status=status))})
