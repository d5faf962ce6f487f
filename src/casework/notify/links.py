"""Signed action links and reply addresses.

An action link lets the person a mail was written to fire one trigger on one case or sheet,
once, while that row is still in the state the mail was about, before it expires:

- the token is signed (itsdangerous, with a list of keys: the newest signs, all verify, so a key
  can be rotated without breaking links already sent) and carries what it is for: the entity,
  the trigger, the state entry it is valid for, a hash of the recipient and a random nonce;
- only its sha256 is stored (`action_links`): a copy of the database gives no usable link;
- the row says when it expires and when it was used; using it is an UPDATE that only matches an
  unused row, so two clicks, two tabs or two processes act once between them.

Reply addresses (`reply+<token>@domain`) are for the reply-ingestion issue: the token is the
mail's id with an HMAC, in lowercase base32 because mail systems may fold the case of the local
part, and short enough for the 64-character limit of a local part. Bounce addresses
(`bounce+<token>@domain`, every mail's envelope sender: VERP) are made the same way, their MAC
also binding the one address the mail went to, so that a bounce names both without either in
clear.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection, insert, select, update

from casework.models.tables import LINKS
from casework.settings import (
    NEW_KEY_COMMAND,
    MailSettings,
    SettingsError,
    check_link_keys,
    split_link_keys,
)

_SALT = "casework.action-link.v1"
_REPLY_SALT = b"casework.reply.v1"
_BOUNCE_SALT = b"casework.bounce.v1"


class LinkError(Exception):
    """Why a link cannot be used; `status` is the HTTP status of the page that says so."""

    status = 400
    title = "Lien invalide"
    message = (
        "Ce lien n'est pas valide : il a peut-être été mal copié ou modifié. "
        "Utilisez le lien reçu par courriel, en entier."
    )

    def __init__(self, detail: str = ""):
        super().__init__(detail or self.title)
        self.detail = detail


class LinkTampered(LinkError):
    pass


class LinkUnknown(LinkError):
    status = 404
    title = "Lien inconnu"
    message = "Ce lien ne correspond à aucune action enregistrée."


class LinkExpired(LinkError):
    status = 410
    title = "Lien expiré"
    message = (
        "Ce lien a expiré. Si l'action est toujours nécessaire, elle figurera dans votre "
        "prochain récapitulatif, ou adressez-vous au conseiller."
    )


class LinkRevoked(LinkError):
    status = 410
    title = "Lien révoqué"
    message = (
        "Ce lien a été désactivé et ne peut plus servir. Aucune modification n'a été faite. "
        "Pour toute question, adressez-vous à la plateforme d'accompagnement."
    )


class LinkStale(LinkError):
    status = 409
    title = "La situation a changé"
    message = (
        "Ce lien a été envoyé avant un changement du dossier : l'action qu'il proposait "
        "n'est plus d'actualité. Aucune modification n'a été faite."
    )


@dataclass(frozen=True)
class LinkRequest:
    """A link to create: who may do what on which row, valid for which state entry."""

    entity: str
    entity_id: int
    case_id: int
    trigger: str
    entered_version: int
    recipient: str
    actor_kind: str  # "person" or "partner"
    mail_id: int | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def recipient_tag(recipient: str) -> str:
    """A short hash of the recipient: binds the token without putting an address in a URL."""
    return hashlib.sha256(recipient.strip().lower().encode()).hexdigest()[:12]


class LinkSigner:
    def __init__(self, keys: Sequence[str], max_age: timedelta):
        if not keys:
            raise SettingsError(
                "configuration",
                "mail.link_keys",
                "aucune clé pour signer les liens (CASEWORK_MAIL_LINK_KEYS) ; "
                f"créez-en une avec {NEW_KEY_COMMAND}",
            )
        check_link_keys(keys, "configuration")
        self.keys = [k.encode() for k in keys]
        self.max_age = max_age
        self.serializer = URLSafeSerializer(list(keys), salt=_SALT)

    @classmethod
    def from_settings(cls, settings: MailSettings) -> LinkSigner:
        return cls(split_link_keys(settings.link_keys), timedelta(days=settings.link_max_age_days))

    # -- action links ----------------------------------------------------------------------------

    def sign(
        self, requests: Sequence[LinkRequest], now: datetime
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """A signed token per request, and the rows (with the tokens' hashes) to `store`."""
        tokens, rows = [], []
        for r in requests:
            claims = [
                r.entity,
                r.entity_id,
                r.trigger,
                r.entered_version,
                recipient_tag(r.recipient),
                secrets.token_urlsafe(12),
            ]
            token = self.serializer.dumps(claims)
            tokens.append(token)
            rows.append(
                {
                    "token_hash": token_hash(token),
                    "entity": r.entity,
                    "entity_id": r.entity_id,
                    "case_id": r.case_id,
                    "trigger": r.trigger,
                    "entered_version": r.entered_version,
                    "valid_for_entry": r.entered_version,
                    "recipient": r.recipient,
                    "actor_kind": r.actor_kind,
                    "mail_id": r.mail_id,
                    "expires_at": now + self.max_age,
                    "created_at": now,
                }
            )
        return tokens, rows

    @staticmethod
    def store(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            conn.execute(insert(LINKS), list(rows))

    def create(self, conn: Connection, requests: Sequence[LinkRequest], now: datetime) -> list[str]:
        tokens, rows = self.sign(requests, now)
        self.store(conn, rows)
        return tokens

    def resolve(self, conn: Connection, token: str, now: datetime, lock: bool = False) -> Any:
        """The stored link a token stands for, checked: signature (any current key), known,
        claims equal to the stored row, not revoked, not expired. Raises a LinkError saying
        which. (Revoked comes first: a person decided it, the expiry only says time passed.)"""
        try:
            claims = self.serializer.loads(token)
        except BadSignature:
            raise LinkTampered("bad signature or retired key") from None
        query = select(LINKS).where(LINKS.c.token_hash == token_hash(token))
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise LinkUnknown("no stored link with this hash")
        expected = [
            row.entity,
            row.entity_id,
            row.trigger,
            row.entered_version,
            recipient_tag(row.recipient),
        ]
        if not isinstance(claims, list) or claims[:5] != expected:
            raise LinkTampered("claims differ from the stored link")
        if row.revoked_at is not None:
            raise LinkRevoked(f"revoked at {row.revoked_at.isoformat()} by {row.revoked_by}")
        if row.expires_at <= now:
            raise LinkExpired(f"expired at {row.expires_at.isoformat()}")
        return row

    @staticmethod
    def use(conn: Connection, link_id: int, now: datetime) -> bool:
        """Mark a link used; False if it already was, or was revoked meanwhile. The WHERE makes
        it once, whoever races (a revocation committed between `resolve` and here included)."""
        done = conn.execute(
            update(LINKS)
            .where(LINKS.c.id == link_id, LINKS.c.used_at.is_(None), LINKS.c.revoked_at.is_(None))
            .values(used_at=now)
        )
        return done.rowcount == 1

    @staticmethod
    def carry_siblings(conn: Connection, link: Any, entry: int) -> None:
        """The row entered state entry `entry` through `link`: the other unused links of the same
        mail, on the same row, now act in that entry (`_still_valid` then checks that their
        trigger is open there)."""
        if link.mail_id is None:
            return
        conn.execute(
            update(LINKS)
            .where(
                LINKS.c.mail_id == link.mail_id,
                LINKS.c.entity == link.entity,
                LINKS.c.entity_id == link.entity_id,
                LINKS.c.valid_for_entry == link.valid_for_entry,
                LINKS.c.used_at.is_(None),
                LINKS.c.id != link.id,
            )
            .values(valid_for_entry=entry)
        )

    # -- reply and bounce addresses ---------------------------------------------------------------

    def reply_token(self, mail_id: int) -> str:
        return f"{mail_id}-{self._address_mac(self.keys[-1], _REPLY_SALT, mail_id)}"

    def check_reply_token(self, token: str) -> int | None:
        """The mail id a reply token stands for, or None if it is not one of ours."""
        parsed = split_address_token(token)
        if parsed is None:
            return None
        mail_id, mac = parsed
        return mail_id if self._signed(mac, _REPLY_SALT, mail_id) else None

    def bounce_token(self, mail_id: int, recipient: str) -> str:
        """The token of a mail's envelope sender (VERP, `bounce+<token>@`): it names the mail
        and, through its MAC, the one address the mail went to, which a bounce to it is about."""
        return f"{mail_id}-{self._address_mac(self.keys[-1], _BOUNCE_SALT, mail_id, recipient)}"

    def bounce_recipient(self, mac: str, mail_id: int, recipients: Sequence[str]) -> str | None:
        """Which of the mail's `recipients` a bounce token (`split_address_token`) was made
        for; None if none (not one of ours, or made for another mail)."""
        for recipient in recipients:
            if self._signed(mac, _BOUNCE_SALT, mail_id, recipient):
                return recipient.strip().lower()
        return None

    def _signed(self, mac: str, salt: bytes, mail_id: int, recipient: str = "") -> bool:
        return any(
            hmac.compare_digest(mac, self._address_mac(key, salt, mail_id, recipient))
            for key in self.keys
        )

    @staticmethod
    def _address_mac(key: bytes, salt: bytes, mail_id: int, recipient: str = "") -> str:
        message = salt + str(mail_id).encode()
        if recipient:
            message += b"\0" + recipient.strip().lower().encode()
        digest = hmac.new(key, message, hashlib.sha256).digest()
        return base64.b32encode(digest[:15]).decode().lower()


def split_address_token(token: str) -> tuple[int, str] | None:
    """A reply or bounce token's mail id and MAC, unchecked; None if it cannot be one."""
    number, _, mac = token.strip().lower().partition("-")
    # A stranger writes this address. ASCII only: str.isdigit() takes "²" (which int()
    # refuses) and other scripts' digits (which it reads), and compare_digest raises on a
    # non-ASCII string. At most 19 digits (a 63-bit id): int() refuses thousands.
    if not (number.isascii() and number.isdigit() and mac.isascii()) or len(number) > 19:
        return None
    mail_id = int(number)
    if str(mail_id) != number:  # one spelling per mail: no leading zeros
        return None
    return mail_id, mac
