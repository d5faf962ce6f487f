"""Our own mail server, as the sender tests play it: partners sign their mail with DKIM (dkimpy,
a key made with openssl), and the server verifies each message it receives against the keys
published in its (in-memory) DNS, then writes its verdict on top of the message as a real
server does (`Authentication-Results`, written with authres): DKIM, and DMARC for the `From:`
domain (pass when a valid signature's domain is aligned with it)."""

from __future__ import annotations

import email
import email.policy
import subprocess
from email.utils import parseaddr
from pathlib import Path

import authres
import authres.dmarc
import dkim

AUTHSERV_ID = "mx.plateforme.example"


class Signer:
    """A partner's outgoing server: signs with its domain's private key."""

    def __init__(self, domain: str, key: bytes, selector: str = "mail"):
        self.domain, self.key, self.selector = domain, key, selector

    def sign(self, raw: bytes) -> bytes:
        headers = [b"from", b"to", b"subject", b"message-id", b"in-reply-to", b"date"]
        signature = dkim.sign(
            raw, self.selector.encode(), self.domain.encode(), self.key, include_headers=headers
        )
        return signature + raw


class OurMailServer:
    """Verifies DKIM against its DNS, and writes its Authentication-Results on top."""

    def __init__(self, authserv_id: str = AUTHSERV_ID):
        self.authserv_id = authserv_id
        self.dns: dict[str, str] = {}

    def publish(self, signer: Signer, public: str) -> None:
        self.dns[f"{signer.selector}._domainkey.{signer.domain}."] = public

    def _txt(self, name: bytes | str, timeout: int = 5) -> bytes | None:
        key = name.decode() if isinstance(name, bytes) else name
        found = self.dns.get(key if key.endswith(".") else f"{key}.")
        return found.encode() if found else None

    def receive(self, raw: bytes) -> bytes:
        """The message as the server delivers it: its verdict on top."""
        verifier = dkim.DKIM(raw)
        try:
            valid = bool(verifier.verify(dnsfunc=self._txt))
        except dkim.DKIMException:
            valid = False
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        sender = parseaddr(str(message.get("From", "")))[1]
        from_domain = sender.rsplit("@", 1)[-1].lower()
        results: list[authres.core.AuthenticationResult] = []
        signed_by = verifier.domain.decode().lower() if verifier.domain else None
        if signed_by is None:
            results.append(authres.DKIMAuthenticationResult(result="none"))
        else:
            results.append(
                authres.DKIMAuthenticationResult(
                    result="pass" if valid else "fail",
                    header_d=signed_by,
                    header_s=verifier.selector.decode(),
                )
            )
        aligned = (
            valid
            and signed_by is not None
            and (signed_by == from_domain or from_domain.endswith(f".{signed_by}"))
        )
        results.append(
            authres.dmarc.DMARCAuthenticationResult(
                result="pass" if aligned else "fail", header_from=from_domain
            )
        )
        header = authres.AuthenticationResultsHeader(authserv_id=self.authserv_id, results=results)
        return f"{header}\r\n".encode() + raw


def new_key(folder: Path) -> tuple[bytes, str]:
    """A private key (PEM) and its DNS record ("v=DKIM1; k=rsa; p=…"), made by openssl."""
    private = folder / "dkim.key"
    subprocess.run(
        ["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True
    )
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "PEM"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    body = "".join(line for line in public.splitlines() if not line.startswith("---"))
    return private.read_bytes(), f"v=DKIM1; k=rsa; p={body}"
