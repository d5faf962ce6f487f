"""A POSTed form is read only when it may be, and never past `service.max_form_bytes`: no CSRF
cookie, no read; a declared length over the limit, no read; a chunked body, cut at the limit;
anything but a URL-encoded form, refused. Tried against the ASGI app (counting what it reads)
and over real HTTP (uvicorn on a loopback port)."""

from __future__ import annotations

import asyncio
import html
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2 as httpx
import uvicorn
from starlette.applications import Starlette
from starlette.testclient import TestClient

from casework.actors import Actor
from casework.app import App
from casework.demo.mailcatcher import free_port
from casework.models import Case
from casework.notify.links import LinkRequest, LinkSigner
from casework.web.links import CSRF_COOKIE, LinkPages
from tests.factories import add_case, add_user, events, row

BASE = "https://casework.example"
LIMIT = 65_536
HUGE = 150 * 1024 * 1024  # what an unauthenticated request could make the service parse
CHUNK = 16_384


def decline_link(app: App) -> tuple[int, str]:
    """A case asked for consent, and a working link to decline it."""
    add_user(app)
    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    signer = LinkSigner.from_settings(app.settings.mail)
    request = LinkRequest(
        "case", case_id, case_id, "decline", 2, "claire.martin@ml.example", "person"
    )
    with app.db.transaction() as conn:
        (token,) = signer.create(conn, [request], app.clock.now())
    return case_id, f"/l/{token}"


def pages(app: App) -> Starlette:
    return Starlette(routes=LinkPages(app).routes())


def opened(app: App) -> tuple[int, str, TestClient, str]:
    """A decline link opened in a browser: (case, link, the browser, its CSRF value)."""
    case_id, link = decline_link(app)
    client = TestClient(pages(app), base_url=BASE)
    client.get(link)
    return case_id, link, client, client.cookies[CSRF_COOKIE]


def call(
    asgi: Starlette, path: str, headers: dict[str, str], body: Iterator[bytes]
) -> tuple[int, str, int]:
    """POST straight to the ASGI app; (status, page text, body bytes the app pulled)."""
    pulled = 0
    sent: dict[str, Any] = {"status": 0, "body": b""}

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        chunk = next(body, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"] = message["status"]
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "server": ("casework.example", 443),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(asgi(scope, receive, send))  # type: ignore[arg-type]
    return sent["status"], html.unescape(sent["body"].decode()), pulled


def endless(total: int = HUGE, size: int = CHUNK) -> Iterator[bytes]:
    """A form body of `total` bytes, made only as it is read."""
    yield b"csrf=x&reason="
    for _ in range(total // size):
        yield b"a" * size


FORM = {"host": "casework.example", "content-type": "application/x-www-form-urlencoded"}


def test_a_post_without_the_csrf_cookie_is_refused_before_its_body_is_read(app: App) -> None:
    case_id, link = decline_link(app)
    status, page, pulled = call(pages(app), link, {**FORM, "content-length": str(HUGE)}, endless())
    assert status == 403
    assert "Rien n'a été enregistré" in page
    assert pulled == 0
    # From another site, with the cookie: refused unread too.
    foreign = {**FORM, "cookie": f"{CSRF_COOKIE}=x", "origin": "https://evil.example"}
    status, _, pulled = call(pages(app), link, foreign, endless())
    assert (status, pulled) == (403, 0)
    assert row(app, Case, case_id).state == "consent_asked"


def test_a_declared_length_over_the_limit_is_refused_unread(app: App) -> None:
    case_id, link = decline_link(app)
    headers = {**FORM, "cookie": f"{CSRF_COOKIE}=x", "content-length": str(HUGE)}
    status, page, pulled = call(pages(app), link, headers, endless())
    assert status == 413
    assert "Formulaire trop volumineux" in page
    assert "dépasse la taille permise (64 Ko)" in page
    assert pulled == 0
    for bad in ("-1", "12abc", "9" * 5000):
        status, page, pulled = call(pages(app), link, {**headers, "content-length": bad}, endless())
        assert (status, pulled) == (400, 0)
        assert "Formulaire illisible" in page
    assert row(app, Case, case_id).state == "consent_asked"


def test_a_chunked_body_is_cut_at_the_limit(app: App) -> None:
    case_id, link = decline_link(app)
    headers = {**FORM, "cookie": f"{CSRF_COOKIE}=x"}  # no Content-Length: chunked
    status, page, pulled = call(pages(app), link, headers, endless())
    assert status == 413
    assert "Formulaire trop volumineux" in page
    assert pulled <= LIMIT + CHUNK + 20  # read up to the chunk that went over, not one more
    assert row(app, Case, case_id).state == "consent_asked"


def test_only_url_encoded_forms_are_parsed(app: App) -> None:
    case_id, link, client, csrf = opened(app)
    multipart = client.post(link, data={"csrf": csrf}, files={"f": ("a.txt", b"x" * 100)})
    assert multipart.status_code == 415
    assert "Formulaire non reconnu" in html.unescape(multipart.text)
    assert client.post(link, json={"csrf": csrf}).status_code == 415
    assert client.post(link, content=f"csrf={csrf}").status_code == 415  # no content type
    plain = client.post(link, content=f"csrf={csrf}", headers={"content-type": "text/plain"})
    assert plain.status_code == 415
    assert row(app, Case, case_id).state == "consent_asked"
    # With a charset, a URL-encoded form is one.
    typed = {"content-type": "application/x-www-form-urlencoded; charset=UTF-8"}
    done = client.post(link, content=f"csrf={csrf}&reason=non", headers=typed)
    assert done.status_code == 200
    assert row(app, Case, case_id).state == "declined"


def test_a_form_within_the_limit_acts_and_one_over_it_does_not(app: App) -> None:
    case_id, link, client, csrf = opened(app)
    over = client.post(link, data={"csrf": csrf, "reason": "x" * LIMIT})
    assert over.status_code == 413
    assert row(app, Case, case_id).state == "consent_asked"
    # NUL has no place in a field (and PostgreSQL refuses it): said in French, nothing written.
    nul = client.post(link, data={"csrf": csrf, "reason": "non\x00 merci"})
    assert nul.status_code == 422
    assert "« Motif » : caractère de contrôle interdit (U+0000, position 4)" in nul.text
    assert row(app, Case, case_id).state == "consent_asked"
    done = client.post(link, data={"csrf": csrf, "reason": "non merci", "pad": "y" * 60_000})
    assert done.status_code == 200, done.text
    assert row(app, Case, case_id).state == "declined"
    assert events(app, "case", case_id)[-1].data["reason"] == "non merci"


@contextmanager
def serving(asgi: Starlette) -> Iterator[str]:
    """The app behind a real uvicorn on a loopback port, in a thread."""
    port = free_port()
    config = uvicorn.Config(
        asgi, host="127.0.0.1", port=port, lifespan="off", access_log=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(600):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def test_over_real_http_a_huge_post_is_answered_without_being_sent(app: App) -> None:
    case_id, link = decline_link(app)
    with serving(pages(app)) as base:
        port = int(base.rsplit(":", 1)[1])
        # Headers only, announcing 150 MB: the answer comes without a byte of the body.
        with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
            raw.sendall(
                f"POST {link} HTTP/1.1\r\nHost: casework.example\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {HUGE}\r\n"
                f"Cookie: {CSRF_COOKIE}=x\r\n\r\n".encode()
            )
            answer = raw.recv(65_536).decode("utf-8", "replace")
        assert re.match(r"HTTP/1\.1 413 ", answer), answer
        # Chunked, with no Content-Length: cut at the limit.
        sent = 0

        def body() -> Iterator[bytes]:
            nonlocal sent
            yield b"csrf=x&reason="
            for _ in range(64):  # 1 MB at most
                sent += CHUNK
                yield b"a" * CHUNK

        with httpx.Client(base_url=base, timeout=30) as client:
            client.cookies.set(CSRF_COOKIE, "x")
            try:
                answer = client.post(link, content=body(), headers=FORM)
            except httpx.TransportError:
                answer = None  # the server may close while the client still writes
            if answer is not None:
                assert answer.status_code == 413
                assert "Formulaire trop volumineux" in html.unescape(answer.text)
    assert row(app, Case, case_id).state == "consent_asked"
