"""A local mail catcher: a real SMTP server (aiosmtpd) that keeps what it receives in memory.

The demo sends its mail here and shows it at http://127.0.0.1:8000/mails; the tests use it as
the relay, and can make it answer a recipient with a temporary (451) or permanent (550) refusal.

Its pages have the link pages' headers (a Content-Security-Policy with no script, no frame, no
cache), and its reply form the same CSRF check (a SameSite=Strict cookie the form sends back,
checked before the body is read, the body read within `service.max_form_bytes`): another site
open in the same browser cannot post replies as a partner.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
import html
import secrets
import socket
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route

from casework.clock import format_local
from casework.notify.mime import encode_header
from casework.web import forms

CSRF_COOKIE = "casework_demo_csrf"
# What became of a reply written on the catcher's page, by its inbound status.
TAKEN = {
    "recorded": "Réponse prise en compte",
    "ignored": "Réponse ignorée (automatique)",
    "quarantined": "Réponse mise en quarantaine",
    "rejected": "Réponse écartée",
}


@dataclass
class Caught:
    sender: str
    recipients: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)  # type: ignore[return-value]

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return body.get_content() if body is not None else ""  # type: ignore[union-attr]


class _Handler:
    def __init__(self, catcher: MailCatcher):
        self.catcher = catcher

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        answer = self.catcher.answer_for(address)
        if answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        return answer

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        self.catcher.receive(Caught(envelope.mail_from, list(envelope.rcpt_tos), raw))
        return "250 Message accepted for delivery"


class MailCatcher:
    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, keep: int = 2000, **server_options: Any
    ):
        """`server_options` go to aiosmtpd: `tls_context` and `require_starttls` (STARTTLS),
        `ssl_context` (implicit TLS), `auth_required` and `authenticator`..."""
        self.host = host
        self.port = port or free_port(host)
        self.messages: deque[Caught] = deque(maxlen=keep)
        # address -> answers to give to its next RCPT commands, in order (then 250).
        self.refusals: dict[str, list[str]] = {}
        self.running = False
        self.take_reply: Callable[[bytes], Any] | None = None
        self.max_form_bytes = 65_536
        self.lock = threading.Lock()
        self.received = threading.Condition(self.lock)
        self.controller = Controller(
            _Handler(self),
            hostname=host,
            port=self.port,
            decode_data=False,
            # Starting waits for the server to answer; a loaded machine (CI) may be slow.
            ready_timeout=30.0,
            **server_options,
        )

    def start(self) -> MailCatcher:
        self.controller.start()
        self.running = True
        return self

    def stop(self) -> None:
        if self.running:  # stopping twice is fine
            self.running = False
            self.controller.stop()

    def refuse(self, address: str, *answers: str) -> None:
        with self.lock:
            self.refusals.setdefault(address.lower(), []).extend(answers)

    def answer_for(self, address: str) -> str:
        with self.lock:
            queue = self.refusals.get(address.lower())
            if queue:
                return queue.pop(0)
        return "250 OK"

    def receive(self, caught: Caught) -> None:
        with self.received:
            self.messages.append(caught)
            self.received.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Caught]:
        with self.received:
            self.received.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)

    def _reply_form(self, n: int, mail: Caught, csrf: str) -> str:
        if self.take_reply is None or mail.message["Reply-To"] is None:
            return ""
        return _reply_form_html(n, mail.recipients[0], csrf)

    # -- web pages (the demo) ----------------------------------------------------------------------

    def routes(
        self, take_reply: Callable[[bytes], Any] | None = None, max_form_bytes: int = 65_536
    ) -> list[Route]:
        """/mails and /mails/<n>; and / leads there (when the catcher runs alone: in the demo,
        / is the staff pages', which come first). With `take_reply`,
        a mail that expects an answer gets a reply form: the reply, written as its recipient
        would, is handed to `take_reply` as a mail server would deliver it."""
        self.take_reply = take_reply
        self.max_form_bytes = max_form_bytes
        return [
            Route("/", lambda _request: RedirectResponse("/mails")),
            Route("/mails", self.list_page),
            Route("/mails/{n:int}", self.mail_page),
            Route("/mails/{n:int}/reply", self.reply, methods=["POST"]),
        ]

    async def reply(self, request: Request) -> HTMLResponse:
        n = request.path_params["n"]
        with self.lock:
            if self.take_reply is None or not 0 <= n < len(self.messages):
                return _html("Introuvable", "<p>Pas de courriel ici.</p>", 404)
            mail = self.messages[n]
        here = (request.url.scheme, request.headers.get("host", ""))
        try:
            form = await forms.read_checked_form(
                request, CSRF_COOKIE, here, self.max_form_bytes, reopen="le courriel"
            )
        except forms.FormRefused as refused:
            return _html(refused.title, f"<p>{html.escape(refused.message)}</p>", refused.status)
        text = str(form.get("text", ""))
        m = mail.message
        raw = (
            f"From: {mail.recipients[0]}\r\nTo: {m['Reply-To']}\r\n"
            f"Subject: {encode_header('RE: ' + str(m['Subject']))}\r\n"
            f"Message-ID: <demo-reply-{secrets.token_hex(8)}@demo>\r\n"
            f"In-Reply-To: {m['Message-ID']}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            f"{text}\r\n\r\nLe {m['Date']}, {m['From']} a écrit :\r\n> …\r\n"
        ).encode()
        result = await asyncio.get_running_loop().run_in_executor(None, self.take_reply, raw)
        what = TAKEN.get(str(result.status), str(result.status))
        why = f" : {result.reason}" if result.reason else ""
        body = (
            "<p><a href='/mails'>← tous les courriels</a></p><h1>Réponse reçue</h1>"
            f"<p><strong>{html.escape(what)}</strong>{html.escape(why)}.</p>"
        )
        return _html("Réponse reçue", body)

    async def list_page(self, _request: Request) -> HTMLResponse:
        rows = []
        with self.lock:
            caught = list(enumerate(self.messages))
        for n, mail in reversed(caught):
            m = mail.message
            to = html.escape(", ".join(mail.recipients))
            subject = html.escape(str(m["Subject"]))
            rows.append(
                f"<tr><td>{html.escape(french_date(m['Date']))}</td><td>{to}</td>"
                f"<td><a href='/mails/{n}'>{subject}</a></td></tr>"
            )
        body = (
            "<h1>Courriels reçus par la boîte de démonstration</h1>"
            f"<p>{len(caught)} courriel(s), les plus récents en haut. Actualisez la page.</p>"
            "<table cellpadding='4'><tr><th>Date</th><th>À</th><th>Objet</th></tr>"
            + "".join(rows)
            + "</table>"
        )
        return _html("Courriels", body)

    async def mail_page(self, request: Request) -> HTMLResponse:
        n = request.path_params["n"]
        with self.lock:
            if not 0 <= n < len(self.messages):
                return _html("Introuvable", "<p>Pas de courriel ici.</p>", 404)
            mail = self.messages[n]
        m = mail.message
        csrf = forms.csrf_value(request, CSRF_COOKIE)
        shown = [
            ("De", m["From"]),
            ("À", m["To"]),
            ("Répondre à", m["Reply-To"]),
            ("Objet", m["Subject"]),
            ("Date", french_date(m["Date"])),
        ]
        raw = [(k, french_date(v) if k.lower() == "date" else v) for k, v in m.items()]
        body = (
            "<p><a href='/mails'>← tous les courriels</a></p>"
            f"<table style='font-size: 14px'>{_rows(shown)}</table>"
            "<details style='font-size: 12px'><summary>En-têtes techniques</summary>"
            f"<table>{_rows(raw)}</table></details><hr>"
            # Our own HTML part, as the recipient's mail client would show it.
            f"{mail.part('html')}<hr>{self._reply_form(n, mail, csrf)}<h2>Partie texte</h2>"
            f"<pre>{html.escape(mail.part('plain'))}</pre>"
        )
        response = _html(str(m["Subject"]), body)
        forms.set_csrf_cookie(response, CSRF_COOKIE, csrf, path="/mails/", secure=False)
        return response


def _rows(headers: list[tuple[str, Any]]) -> str:
    return "".join(
        f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in headers
        if v is not None
    )


def _reply_form_html(n: int, recipient: str, csrf: str) -> str:
    return (
        f"<form method='post' action='/mails/{n}/reply'><h2>Répondre comme {html.escape(recipient)}"
        f"</h2><input type='hidden' name='csrf' value='{html.escape(csrf)}'>"
        "<textarea name='text' rows='4' cols='70'>Bien reçu, nous prenons contact avec le "
        "jeune cette semaine.</textarea><br><button type='submit'>Envoyer la réponse</button>"
        "</form>"
    )


def _html(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_page(title, body), status_code=status, headers=forms.PAGE_HEADERS)


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>"
        "<body style='font-family: Arial, sans-serif; max-width: 900px; margin: 1em auto'>"
        f"{body}</body></html>"
    )


def french_date(value: object) -> str:
    """A mail's Date header as the rest of casework shows a time: 01/09/2026 10:00, Paris."""
    try:
        return format_local(email.utils.parsedate_to_datetime(str(value)))
    except (TypeError, ValueError):
        return str(value)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
