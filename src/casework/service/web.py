"""The ASGI application `casework serve` runs: /health, the pages behind the links in mails
(/l/<token>), the staff pages (`/`, `/connexion`…: casework.web.staff), and whatever else the
caller adds (the demo's mail catcher). Its lifespan starts and stops the background service."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from casework.service.lifecycle import Service
from casework.settings import ServiceSettings, SettingsError
from casework.web.links import LinkPages
from casework.web.staff.app import StaffPages

HEALTH_FROM = ("loopback", "anywhere")


def create_web_app(service: Service, extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    allowed = _health_access(service.app.settings.service)

    async def health(request: Request) -> Response:
        if not allowed(request):
            return PlainTextResponse("Accès refusé.", status_code=403)
        report = service.health()  # memory only: no database work on the event loop
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
    signer = service.mail.signer if service.mail is not None else None
    if signer is not None:
        routes += LinkPages(service.app, signer).routes()
    routes += StaffPages(service.app, signer, clock=service.wall).routes()
    return Starlette(routes=[*routes, *extra_routes], lifespan=lifespan)


def _health_access(settings: ServiceSettings) -> Callable[[Request], bool]:
    """Who may read /health (`service.health_from`, `service.health_token`)."""
    if settings.health_from not in HEALTH_FROM:
        raise SettingsError(
            "configuration",
            "service.health_from",
            f"{settings.health_from!r} : attendu {' ou '.join(HEALTH_FROM)}",
        )
    token = settings.health_token.encode()

    def allowed(request: Request) -> bool:
        given = request.headers.get("authorization", "")
        if token and given.startswith("Bearer "):
            return hmac.compare_digest(given[7:].strip().encode(), token)
        if settings.health_from == "anywhere":
            return True
        host = request.client.host if request.client else ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        # Listening on "::", a local IPv4 probe arrives as ::ffff:127.0.0.1.
        mapped = getattr(address, "ipv4_mapped", None)
        return (mapped or address).is_loopback

    return allowed
