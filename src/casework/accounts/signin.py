"""Signing in: throttled, checked without telling whether a login exists, a session opened.

The password check (Argon2, a few hundred milliseconds) runs outside any transaction, so that
no write lock is held meanwhile: a read (is this login or address blocked? whose hash?), the
check, then one write transaction (a failure counted, or the session opened, the login's
failures cleared and an outdated hash made again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from casework.accounts.passwords import hash_password, verify
from casework.accounts.sessions import open_session
from casework.accounts.throttle import Throttle
from casework.errors import CaseworkError
from casework.models.tables import USERS

if TYPE_CHECKING:
    from casework.app import App


class LoginRefused(CaseworkError):
    """Wrong login or password (said as one), or too many failures (said the same for every
    login, existing or not)."""

    def __init__(self, throttled: bool):
        self.throttled = throttled
        super().__init__("login throttled" if throttled else "wrong login or password")

    def french(self) -> str:
        if self.throttled:
            return (
                "Trop de tentatives de connexion ont échoué. Patientez quelques minutes avant de "
                "réessayer, ou demandez un nouveau mot de passe."
            )
        return "Identifiant ou mot de passe incorrect."


@dataclass(frozen=True)
class SignedIn:
    token: str  # the cookie's value
    user: Any


def sign_in(
    app: App, login: str, password: str, address: str | None, now: datetime | None = None
) -> SignedIn:
    """A session for `login` (`now`: the pages' clock, real time; the app's by default)."""
    throttle = Throttle.from_settings(app.settings.web)
    login = login.strip()[:120]
    now = now or app.clock.now()
    with app.db.read() as conn:
        if throttle.blocked(conn, login, address, now):
            raise LoginRefused(throttled=True)
        user = conn.execute(select(USERS).where(USERS.c.login == login)).first()
    stored = user.password_hash if user is not None and user.active else None
    right, rehash = verify(stored, password)
    with app.db.transaction() as conn:
        if not right:  # counted, and committed, before the refusal is raised
            throttle.failed(conn, login, address, now)
        else:
            assert user is not None
            throttle.succeeded(conn, login)
            if rehash:
                new = hash_password(password)
                conn.execute(update(USERS).where(USERS.c.id == user.id).values(password_hash=new))
            token = open_session(conn, user.id, now, address)
    if not right:
        raise LoginRefused(throttled=False)
    return SignedIn(token, user)
