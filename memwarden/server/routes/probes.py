"""Probes for a supervisor or a load balancer; no key needed, nothing personal said."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ..auth import service
from ..models import Probe
from ..service import Service
from . import errors, json_answer

router = APIRouter(tags=["probes"])


@router.get("/healthz", response_model=Probe, summary="Liveness")
async def healthz() -> JSONResponse:
    """The process answers."""
    return json_answer({"status": "ok"})


@router.get("/readyz", response_model=Probe, responses=errors(503), summary="Readiness")
def readyz(svc: Service = Depends(service)) -> JSONResponse:
    """The database answers and its migrations are at the code's head (else 503)."""
    return json_answer({"status": "ready", "revision": svc.ready()})
