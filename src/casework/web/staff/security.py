"""What a staff request is, seen from behind a proxy or not: its scheme and its client address;
and the cookies that follow from it.

`X-Forwarded-Proto` and `X-Forwarded-For` are believed only from an address listed in
`web.trusted_proxies` (the reverse proxy on the same machine, typically 127.0.0.1): anyone else
could send them. Uvicorn's own reading of them is turned off (`cli/service.py`) so that this is
the one place that decides, the same under tests.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from casework.settings import WebSettings

SESSION_COOKIE = "casework_session"
CSRF_COOKIE = "casework_staff_csrf"


class RequestFacts:
    def __init__(self, settings: WebSettings):
        self.settings = settings
        listed = settings.trusted_proxies.split(",")
        self.proxies = frozenset(p.strip() for p in listed if p.strip())

    def _from_proxy(self, request: Request) -> bool:
        return request.client is not None and request.client.host in self.proxies

    def scheme(self, request: Request) -> str:
        if self._from_proxy(request):
            forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
            if forwarded in ("http", "https"):
                return forwarded
        return request.url.scheme

    def address(self, request: Request) -> str | None:
        """The client's address: the proxy's last hop when the proxy is trusted."""
        if self._from_proxy(request):
            hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",")]
            if hops and hops[-1]:
                return hops[-1][:64]
        return request.client.host if request.client else None

    def origin(self, request: Request) -> tuple[str, str]:
        """Our own origin, as a browser posting from our pages names it."""
        return self.scheme(request), request.headers.get("host", "")

    def secure(self, request: Request) -> bool:
        mode = self.settings.secure_cookies
        return mode == "always" or (mode == "auto" and self.scheme(request) == "https")

    def set_session_cookie(self, request: Request, response: Response, token: str) -> None:
        # No max_age: the browser drops it when it closes; the server ends it anyway after
        # web.session_idle_minutes and web.session_max_hours.
        response.set_cookie(
            SESSION_COOKIE,
            token,
            path="/",
            secure=self.secure(request),
            httponly=True,
            samesite="lax",
        )

    def clear_session_cookie(self, request: Request, response: Response) -> None:
        response.delete_cookie(
            SESSION_COOKIE, path="/", secure=self.secure(request), httponly=True, samesite="lax"
        )
