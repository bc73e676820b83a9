"""The web console's pages: server-rendered shells; their data comes from the API.

The key stays in the browser (sessionStorage, this tab only) and goes out as an
``Authorization`` header on API calls, so it never appears in a URL, a cookie or a log.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.templating import Jinja2Templates

__all__ = ["PAGES", "make_router"]

#: path -> (template, title, nav label)
PAGES: dict[str, tuple[str, str]] = {
    "/": ("signin.html", "Sign in"),
    "/chat": ("chat.html", "Chat"),
    "/memory": ("memory.html", "Memory"),
    "/ops": ("ops.html", "Operator dashboard"),
}


def make_router(templates: Jinja2Templates) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def page(path: str, template: str, title: str) -> None:
        async def render(request: Request) -> HTMLResponse:
            return templates.TemplateResponse(
                request,
                template,
                {"title": title, "path": path},
                headers={"Cache-Control": "no-store"},
            )

        router.add_api_route(path, render, methods=["GET"], response_class=HTMLResponse)

    for path, (template, title) in PAGES.items():
        page(path, template, title)
    return router
