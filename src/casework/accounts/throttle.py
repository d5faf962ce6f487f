"""Failed logins, counted in the database so that every process serving the pages counts the
same ones: per login typed (someone guessing one person's password) and per client address
(someone trying many logins).

Past `web.failures_per_account` failures for a login, or `web.failures_per_address` from an
address, within `web.login_window_minutes`, a login is refused before its password is even
checked, until the oldest failure leaves the window. The refusal is worded the same whether
the login exists or not. A successful login clears its login's count (not the address's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select

from casework.models.tables import LOGIN_FAILURES
from casework.settings import WebSettings

# Rows older than this many windows are deleted as new failures come: the table stays small.
_KEEP_WINDOWS = 2


@dataclass(frozen=True)
class Throttle:
    window: timedelta
    per_account: int
    per_address: int

    @classmethod
    def from_settings(cls, settings: WebSettings) -> Throttle:
        return cls(
            timedelta(minutes=settings.login_window_minutes),
            settings.failures_per_account,
            settings.failures_per_address,
        )

    def blocked(self, conn: Connection, login: str, address: str | None, now: datetime) -> bool:
        """Whether a login for `login` from `address` is refused without looking further."""
        since = now - self.window
        counts = dict(
            conn.execute(
                select(LOGIN_FAILURES.c.key, func.count())
                .where(LOGIN_FAILURES.c.key.in_(_keys(login, address)))
                .where(LOGIN_FAILURES.c.at > since)
                .group_by(LOGIN_FAILURES.c.key)
            ).all()
        )
        if counts.get(account_key(login), 0) >= self.per_account:
            return True
        return address is not None and counts.get(address_key(address), 0) >= self.per_address

    def failed(self, conn: Connection, login: str, address: str | None, now: datetime) -> None:
        self.record(conn, _keys(login, address), now)

    def count(self, conn: Connection, key: str, now: datetime) -> int:
        """Rows under `key` within the window (other uses: password reset requests)."""
        query = select(func.count()).where(
            LOGIN_FAILURES.c.key == key, LOGIN_FAILURES.c.at > now - self.window
        )
        return int(conn.execute(query).scalar_one())

    def record(self, conn: Connection, keys: list[str], now: datetime) -> None:
        conn.execute(insert(LOGIN_FAILURES), [{"key": k, "at": now} for k in keys])
        conn.execute(
            delete(LOGIN_FAILURES).where(LOGIN_FAILURES.c.at < now - _KEEP_WINDOWS * self.window)
        )

    @staticmethod
    def succeeded(conn: Connection, login: str) -> None:
        conn.execute(delete(LOGIN_FAILURES).where(LOGIN_FAILURES.c.key == account_key(login)))


def account_key(login: str) -> str:
    # As typed, folded: "Claire" and "claire " are one target for whoever guesses.
    return "account:" + login.strip().casefold()[:150]


def address_key(address: str) -> str:
    return "address:" + address[:64]


def _keys(login: str, address: str | None) -> list[str]:
    return [account_key(login)] + ([address_key(address)] if address else [])
