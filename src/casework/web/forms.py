"""Reading a POSTed form without trusting whoever sent it, and the headers of our pages.

Starlette's `request.form()` reads the whole body into memory, whatever its size, and parses
multipart too: an unauthenticated request could make the service parse 150 MB of fields. Here:

- the caller first checks what needs no body (the CSRF cookie is there, the Origin is ours), so a
  request without them is refused before a byte of its body is read;
- only `application/x-www-form-urlencoded` is parsed (415 otherwise), and `multipart/form-data`
  for the routes that take a file (`upload_bytes` given: the Imports page);
- a Content-Length over `service.max_form_bytes` is refused at once (413), and a body sent
  without one (chunked) is counted as it streams and refused the moment it would go over: no more
  than the limit is ever held;
- the bounded body is parsed with the standard library, then the caller compares the form's CSRF
  value with the cookie;
- a multipart body is bounded the same way, by `upload_bytes` (the file) plus the form's own
  limit (its other fields and the framing), counted as it streams into Starlette's parser, which
  spools the file to a temporary file: one file at most, a few fields, each field within the
  form's limit; a file larger than `upload_bytes` is refused (413) as soon as the count passes
  it. The caller closes the form (`FormData.close`) when done with the file.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncGenerator
from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import Response

FORM_TYPE = "application/x-www-form-urlencoded"
# Every page a link or the demo shows: not cached, not indexed, no script, no frame, and no
# Referer to other sites. Not "no-referrer": with it a browser sends "Origin: null" on the
# page's own form (Fetch standard), which the CSRF check below refuses — every real click on
# a link page's button was a 403 (tests/browser/test_link_pages.py).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "same-origin",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
}


class FormRefused(Exception):
    """A form not read: `status`, and what the page says, in French."""

    def __init__(self, status: int, title: str, message: str, detail: str):
        super().__init__(detail)
        self.status, self.title, self.message, self.detail = status, title, message, detail


def _too_large(max_bytes: int, detail: str) -> FormRefused:
    return FormRefused(
        413,
        "Formulaire trop volumineux",
        f"Le formulaire envoyé dépasse la taille permise ({size_label(max_bytes)}). Raccourcissez "
        "le texte et envoyez-le à nouveau. Rien n'a été enregistré.",
        detail,
    )


async def read_form(request: Request, max_bytes: int, upload_bytes: int | None = None) -> FormData:
    """The form of a POST, at most `max_bytes` of it read; with `upload_bytes`, a multipart
    form with a file of at most that many bytes may come instead. FormRefused otherwise."""
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type == UPLOAD_TYPE and upload_bytes is not None:
        return await _read_upload(request, max_bytes, upload_bytes)
    if media_type != FORM_TYPE:
        raise FormRefused(
            415,
            "Formulaire non reconnu",
            "Ce formulaire n'a pas été envoyé sous la forme attendue. Rouvrez la page et "
            "validez à nouveau. Rien n'a été enregistré.",
            f"content type {media_type[:60]!r}",
        )
    if _declared_length(request) > max_bytes:
        raise _too_large(max_bytes, f"Content-Length over {max_bytes}")
    body = bytearray()
    async for chunk in request.stream():
        if len(body) + len(chunk) > max_bytes:
            raise _too_large(max_bytes, f"body over {max_bytes} bytes while streaming")
        body += chunk
    # A browser percent-encodes everything; raw UTF-8 is read too, and anything else replaced.
    # A NUL or another control character in a field is refused, in French, by the field's
    # check (`casework.text_limits`); the database layer would drop it anyway.
    fields = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True, errors="replace")
    return FormData(fields)


def _unreadable(detail: str) -> FormRefused:
    return FormRefused(
        400,
        "Formulaire illisible",
        "Le formulaire n'a pas pu être lu. Rouvrez la page et validez à nouveau. "
        "Rien n'a été enregistré.",
        detail,
    )


def _declared_length(request: Request) -> int:
    """The body's Content-Length, 0 if it has none (then it is counted as it streams)."""
    declared = request.headers.get("content-length")
    if declared is None:
        return 0
    # At most 18 digits: int() on thousands of them is refused by Python itself.
    if not (declared.isascii() and declared.isdigit() and len(declared) <= 18):
        raise _unreadable("bad Content-Length")
    return int(declared)


# -- a file: multipart/form-data, bounded as it streams -----------------------------------------

UPLOAD_TYPE = "multipart/form-data"
UPLOAD_FIELDS = 10  # besides the file: the CSRF value and what the page asks with it


def _file_too_large(upload_bytes: int, detail: str) -> FormRefused:
    return FormRefused(
        413,
        "Fichier trop volumineux",
        f"Le fichier envoyé dépasse la taille permise ({size_label(upload_bytes)}). Rien n'a été "
        "enregistré ni importé.",
        detail,
    )


async def _read_upload(request: Request, max_bytes: int, upload_bytes: int) -> FormData:
    """A multipart form: its file within `upload_bytes`, the rest within `max_bytes`."""
    from starlette.formparsers import MultiPartException, MultiPartParser

    limit = upload_bytes + max_bytes
    if _declared_length(request) > limit:
        raise _file_too_large(upload_bytes, f"Content-Length over {limit}")

    async def bounded() -> AsyncGenerator[bytes, None]:
        read = 0
        async for chunk in request.stream():
            read += len(chunk)
            if read > limit:
                raise _file_too_large(upload_bytes, f"body over {limit} bytes while streaming")
            yield chunk

    parser = MultiPartParser(
        request.headers,
        bounded(),
        max_files=1,
        max_fields=UPLOAD_FIELDS,
        max_part_size=max_bytes,
    )
    try:
        form = await parser.parse()
    except MultiPartException as error:
        raise _unreadable(f"multipart: {error}") from None
    for _name, value in form.multi_items():
        if isinstance(value, UploadFile) and (value.size or 0) > upload_bytes:
            await form.close()
            raise _file_too_large(upload_bytes, f"file of {value.size} bytes")
    return form


# -- CSRF: a random value in a SameSite=Strict cookie, which the form must send back ------------


def csrf_value(request: Request, cookie: str) -> str:
    """The value the page's form carries: the browser's cookie if it has one, else a new one."""
    return request.cookies.get(cookie) or secrets.token_urlsafe(24)


def set_csrf_cookie(response: Response, cookie: str, value: str, path: str, secure: bool) -> None:
    response.set_cookie(
        cookie, value, max_age=3600, path=path, secure=secure, httponly=True, samesite="strict"
    )


async def read_checked_form(
    request: Request,
    cookie: str,
    origin: tuple[str, str],
    max_bytes: int,
    reopen: str,
    upload_bytes: int | None = None,
) -> FormData:
    """The form of a POST made from one of our pages: the CSRF cookie and the Origin (`scheme`,
    `netloc`) checked before the body is read, the body bounded (`read_form`; a file within
    `upload_bytes` where a page takes one), then the form's CSRF value compared with the cookie.
    FormRefused otherwise; `reopen` names, in French, what to open again ("le lien reçu par
    courriel")."""
    if not _csrf_may_read(request, cookie, *origin):
        raise _forged(reopen, f"no CSRF cookie, or origin {request.headers.get('origin')!r}")
    form = await read_form(request, max_bytes, upload_bytes)
    if not _csrf_matches(request, cookie, form):
        await form.close()  # a file spooled for nothing
        raise _forged(reopen, "the form's CSRF value is not the cookie's")
    return form


def _forged(reopen: str, detail: str) -> FormRefused:
    return FormRefused(
        403,
        "Formulaire expiré",
        f"Le formulaire n'a pas pu être vérifié. Rouvrez {reopen} et validez à nouveau. "
        "Rien n'a été enregistré.",
        detail,
    )


def _csrf_may_read(request: Request, cookie: str, scheme: str, netloc: str) -> bool:
    """What can be checked before the body is read: the cookie is there, and the Origin (when the
    browser sends one) is ours."""
    origin = request.headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        if origin == "null" or (parts.scheme, parts.netloc) != (scheme, netloc):
            return False
    return bool(request.cookies.get(cookie))


def _csrf_matches(request: Request, cookie: str, form: FormData) -> bool:
    """After reading the (bounded) form: its value is the cookie's."""
    expected = request.cookies.get(cookie, "")
    sent = str(form.get("csrf", ""))
    return bool(expected) and hmac.compare_digest(expected.encode(), sent.encode())


def size_label(n: int) -> str:
    """A size as people read it: "476 Mo", "64 Ko", "512 octets"."""
    if n >= 1024 * 1024:
        return f"{n // (1024 * 1024)} Mo"
    return f"{n // 1024} Ko" if n >= 1024 else f"{n} octets"
