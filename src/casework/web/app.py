"""The ASGI application `casework serve` runs: /health, the pages behind the links in mails
(/l/<token>), and whatever else the caller adds (the demo's mail catcher). Its lifespan starts
and stops the background service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from casework.timers.service import Service
from casework.web.links import LinkPages


def create_web_app(service: Service, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    async def health(_request: Request) -> JSONResponse:
        report = service.health()
        status = 200 if report["status"] == "ok" else 503
        return JSONResponse(report, status_code=status, headers={"Cache-Control": "no-store"})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            # Uvicorn got SIGTERM or SIGINT: the batch in progress finishes, then we stop.
            service.stop()

    routes: list[BaseRoute] = [Route("/health", health)]
    if service.mail is not None:
        routes += LinkPages(service.app, service.mail.signer).routes()
    return Starlette(routes=[*routes, *extra_routes], lifespan=lifespan)
