"""Operator endpoints (admin keys only): health, the dashboard's series, backup, metrics.

They call the same library functions as ``memwarden health --json`` and
``memwarden backup``.
"""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query
from fastapi.responses import JSONResponse, Response

from ..auth import AppContext, admin, context, service
from ..keys import Principal
from ..metrics import CONTENT_TYPE
from ..models import BackupIn, BackupOut, HealthOut, SeriesOut
from ..service import Service
from . import errors, json_answer

router = APIRouter(tags=["ops"])

WINDOW = Query(
    "6h", min_length=2, max_length=16, pattern=r"^[0-9smhdw. ]+$", description="6h, 24h, 7d..."
)


@router.get(
    "/v1/ops/health",
    response_model=HealthOut,
    responses=errors(401, 403, 422, 429, 503),
    summary="The seed dashboard, judged",
)
def health(
    window: str = WINDOW,
    _: Principal = Depends(admin),
    svc: Service = Depends(service),
) -> JSONResponse:
    """The same report as ``memwarden health --json`` over ``window``."""
    return json_answer(svc.health(window).to_dict())


@router.get(
    "/v1/ops/timeseries",
    response_model=SeriesOut,
    responses=errors(401, 403, 422, 429, 503),
    summary="Gate score, episode rate and governance latency over time",
)
def timeseries(
    window: str = WINDOW,
    buckets: int = Query(24, ge=1, le=96),
    _: Principal = Depends(admin),
    svc: Service = Depends(service),
) -> JSONResponse:
    return json_answer(svc.series(window, buckets).to_dict())


@router.post(
    "/v1/ops/backup",
    status_code=201,
    response_model=BackupOut,
    responses=errors(401, 403, 413, 422, 429, 503),
    summary="Write a consistent snapshot",
)
def backup(
    body: BackupIn | None = Body(None),
    _: Principal = Depends(admin),
    svc: Service = Depends(service),
) -> JSONResponse:
    """A snapshot (with its .sha256) in the backup folder, as ``memwarden backup`` does."""
    request = body or BackupIn()
    result = svc.backup(request.name, overwrite=request.overwrite)
    return json_answer(result.to_dict(), status=201)


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format.",
            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
        },
        **errors(401, 403, 429, 503),
    },
    summary="Prometheus metrics",
)
def metrics(_: Principal = Depends(admin), ctx: AppContext = Depends(context)) -> Response:
    return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE)
