"""Composing a mail: headers and a multipart/alternative body (text and HTML), as the bytes the
relay receives.

Why not `email.message.EmailMessage`: it parses and refolds every header through its header
registry and content manager, about 1.7 ms a mail, more than everything else the sender does;
the messages here always have the same simple shape, so they are written directly (0.1 ms):

- header values never contain a control character (`one_line`), non-ASCII ones are RFC 2047
  encoded words, folded with CRLF;
- each part is UTF-8 in quoted-printable (`binascii.b2a_qp`, lines of at most 76 characters);
- the boundary starts with "=_", which quoted-printable text can never contain.

The tests read every message back with the standard parser (`email.policy.default`).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from collections.abc import Sequence
from email.utils import formataddr

# 45 bytes of UTF-8 make 60 characters of base64: with "=?utf-8?b?" and "?=", 72 in all.
_WORD_BYTES = 45
# Control characters (CR and LF above all) never reach a header: they would start a new one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def one_line(value: str) -> str:
    return " ".join(_CONTROL.sub(" ", value).split())


def encode_header(value: str) -> str:
    """A header value: as is when plain ASCII, else RFC 2047 encoded words (base64 UTF-8, at
    most 75 characters each, never splitting a character), one per folded line."""
    value = one_line(value)
    if value.isascii() and len(value) <= 76:
        return value
    words, chunk = [], b""
    for char in value:
        encoded = char.encode("utf-8")
        if len(chunk) + len(encoded) > _WORD_BYTES:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w).decode('ascii')}?=" for w in words)


def address(name: str, email: str) -> str:
    name, email = one_line(name), one_line(email)
    if not name:
        return email
    if name.isascii():
        return formataddr((name, email))
    return f"{encode_header(name)} <{email}>"


def compose(headers: Sequence[tuple[str, str]], text: str, html: str) -> str:
    """`headers` are (name, already-encoded value); returns the message with CRLF line ends."""
    boundary = f"=_casework_{secrets.token_hex(12)}"
    lines = [f"{name}: {value}" for name, value in headers]
    lines += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"']
    return "\r\n".join(
        [
            *lines,
            "",
            f"--{boundary}",
            _part("plain", text),
            f"--{boundary}",
            _part("html", html),
            f"--{boundary}--",
            "",
        ]
    )


def _part(subtype: str, body: str) -> str:
    encoded = binascii.b2a_qp(body.replace("\r\n", "\n").encode("utf-8"), istext=True)
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n" + encoded.decode("ascii").replace("\n", "\r\n")
    )
