"""The ASGI application `casework serve` runs; its lifespan starts and stops the timer service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from casework.timers.service import Service


def create_web_app(service: Service) -> Starlette:
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

    return Starlette(routes=[Route("/health", health)], lifespan=lifespan)
