"""``POST /v1/turns``: talk to the agent as the key's user."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ..auth import AppContext, context, principal, service
from ..keys import Principal
from ..models import TurnIn, TurnOut
from ..service import Service
from . import errors, json_answer

router = APIRouter(prefix="/v1", tags=["turns"])


@router.post(
    "/turns",
    response_model=TurnOut,
    responses=errors(401, 413, 422, 429, 502, 503),
    summary="Say something to the agent",
)
def post_turn(
    body: TurnIn,
    who: Principal = Depends(principal),
    svc: Service = Depends(service),
    ctx: AppContext = Depends(context),
) -> JSONResponse:
    """Answer ``text`` as the key's user: the same object as ``memwarden turn --json``.

    A text starting with ``/`` runs a slash command (``/trace 45``, ``/task list``...).
    """
    result = svc.agent.turn(who.user_id, body.text)
    ctx.metrics.observe_turn(result)
    return json_answer(result.to_dict())
