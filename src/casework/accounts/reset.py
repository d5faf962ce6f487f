"""Password resets by a signed link sent by mail: single use, expiring.

- Asking (`request_reset`): a login or an address that names an active user queues one mail
  to them (`templates/mail/staff/password_reset.counsellor.*`) through the outbox, like every
  mail; at most `ASKS_PER_WINDOW` a window per person (failed-login rows keyed "reset:…"), so
  the page cannot be used to flood someone's mailbox. Whatever was typed, the page says the
  same thing: it never tells whether an account exists.
- The link (`ResetTokens`): signed with the link keys (`mail.link_keys`, the newest signs, all
  verify) under its own salt, made when the mail is rendered; it carries the user's id, the
  expiry fixed when it was asked for, and a fingerprint of the password hash of that moment.
  Nothing secret is stored: not the token, not its hash.
- Using it (`ResetTokens.use`): one UPDATE that only matches while the password hash is still
  the one the token was made for, so the link works once (the new hash no longer matches), a
  second tab or a race finds it used, and any other password change meanwhile voids it. Every
  session of the person ends with it (`passwords.set_password`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection, func, or_, select, update

from casework.accounts.passwords import set_password
from casework.accounts.throttle import Throttle
from casework.actors import Actor
from casework.errors import CaseworkError
from casework.models.tables import USERS
from casework.notify.outbox import Outbox

_SALT = "casework.password-reset.v1"
TEMPLATE = "staff/password_reset"
ASKS_PER_WINDOW = 3


class ResetRefused(CaseworkError):
    def __init__(self, detail: str):
        self.detail = detail
        super().__init__(detail)

    def french(self) -> str:
        return (
            "Ce lien de réinitialisation n'est plus valable : il a déjà servi, a expiré, ou le "
            "mot de passe a changé depuis. Demandez-en un nouveau."
        )


def _fingerprint(password_hash: str | None) -> str:
    return hashlib.sha256((password_hash or "-").encode()).hexdigest()[:16]


class ResetTokens:
    def __init__(self, keys: Sequence[bytes | str]):
        self.serializer = URLSafeSerializer(list(keys), salt=_SALT)

    def make(self, user: Any, expires_at: datetime) -> str:
        payload = [int(user.id), _fingerprint(user.password_hash), int(expires_at.timestamp())]
        return self.serializer.dumps(payload)

    def check(self, conn: Connection, token: str, now: datetime) -> Any:
        """The active user the token is for, while it is good; ResetRefused otherwise."""
        try:
            user_id, fingerprint, expires = self.serializer.loads(token[:300])
            expiry = datetime.fromtimestamp(int(expires), UTC)
        except (BadSignature, TypeError, ValueError, OverflowError):
            raise ResetRefused("tampered or malformed reset token") from None
        if now >= expiry:
            raise ResetRefused("reset token expired")
        user = conn.execute(select(USERS).where(USERS.c.id == user_id)).first()
        if user is None or not user.active:
            raise ResetRefused("reset token for an unknown or inactive user")
        if _fingerprint(user.password_hash) != fingerprint:
            raise ResetRefused("reset token used, or the password changed since")
        return user

    def use(self, conn: Connection, token: str, new_hash: str, now: datetime) -> Any:
        """Set the password the token allows, once; ends every session of the person. Returns
        the user as they were."""
        user = self.check(conn, token, now)
        same = (
            USERS.c.password_hash.is_(None)
            if user.password_hash is None
            else USERS.c.password_hash == user.password_hash
        )
        taken = conn.execute(
            update(USERS).where(USERS.c.id == user.id, same).values(password_hash=new_hash)
        )
        if taken.rowcount != 1:  # another tab or process used it first
            raise ResetRefused("reset token used concurrently")
        set_password(conn, user, new_hash, by=Actor.person(user.login), now=now, why="reset")
        return user


def request_reset(
    conn: Connection, given: str, now: datetime, valid_for: timedelta, throttle: Throttle
) -> bool:
    """Queue a reset mail to the active user whose login or address is `given`; whether one
    was queued (for the log and the tests: the page says the same either way)."""
    given = given.strip()[:254]
    if not given:
        return False
    user = conn.execute(
        select(USERS).where(
            USERS.c.active.is_(True),
            or_(USERS.c.login == given, func.lower(USERS.c.email) == given.lower()),
        )
    ).first()
    if user is None:
        return False
    key = f"reset:{user.login}"
    if throttle.count(conn, key, now) >= ASKS_PER_WINDOW:
        return False
    throttle.record(conn, [key], now)
    Outbox.queue_one(
        conn,
        now,
        template=TEMPLATE,
        recipient_role="counsellor",  # the user named by `login`, as the digest's
        context={"login": user.login, "password_reset": (now + valid_for).isoformat()},
    )
    return True


def reset_link(
    base_url: str, tokens: ResetTokens, user: Any, stored: dict[str, Any]
) -> tuple[str, datetime]:
    """The link a reset mail carries, and until when it works (for the renderer)."""
    expires = datetime.fromisoformat(stored["password_reset"])
    return f"{base_url.rstrip('/')}/mot-de-passe/{tokens.make(user, expires)}", expires
