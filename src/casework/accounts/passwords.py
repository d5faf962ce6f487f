"""Passwords: hashed with Argon2id (argon2-cffi), checked against a small rule, changed in one
transaction with the end of every session of the person.

The rule, said in French when it refuses: at least `web.min_password_length` characters (12 by
default) and at most 200, not the login or the name, at least 5 different characters, and none of
the most common passwords (a short list below, compared without case, accents or digits at the
end). Length is what makes a password hard to guess; the rest refuses the obvious.

argon2-cffi is the reference binding of Argon2 (pwdlib wraps it): its defaults are RFC 9106's
low-memory profile (64 MiB, 3 passes), a few hundred milliseconds a check on a 2-core machine,
paid once per login (a session then carries the person). A hash made with older parameters is
made again at the next successful login (`needs_rehash`).
"""

from __future__ import annotations

import functools
import unicodedata
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, update

from casework.accounts.sessions import end_sessions
from casework.actors import Actor
from casework.audit import record_event
from casework.errors import CaseworkError
from casework.models.tables import USERS

MAX_LENGTH = 200  # Argon2 takes any length: a bound keeps a megabyte "password" out
_HASHER = PasswordHasher()
# A hash to check against when the login is unknown, so that a wrong login takes as long as a
# wrong password (the time of the answer does not tell whether the login exists).


@functools.cache
def _dummy() -> str:
    return _HASHER.hash("casework: no such account")


# The most common passwords and the words they are made of (French and English lists), folded.
_COMMON = """
    motdepasse password azerty azertyuiop qwerty qwertyuiop soleil bonjour doudou loulou
    chouchou nicolas marseille camille coucou jetaime iloveyou admin administrateur
    administrator welcome bienvenue changeme secret motdepasse123 abcdef abcdefgh abcdefghijkl
    letmein monkey dragon football sunshine princess casework apprentissage plateforme
    0123456789 123456789 1234567890 123456789012 111111111111 000000000000 azerty123456
"""
COMMON = frozenset(_COMMON.split())


class PasswordRefused(CaseworkError):
    def __init__(self, why: str):
        self.why = why
        super().__init__(f"password refused: {why}")

    def french(self) -> str:
        return f"Mot de passe refusé : {self.why}"


def check_new_password(password: str, *, login: str, name: str, min_length: int) -> None:
    """Refuse, in French, a password that breaks the rule (see the module's docstring)."""
    if len(password) < min_length:
        raise PasswordRefused(f"il faut au moins {min_length} caractères.")
    if len(password) > MAX_LENGTH:
        raise PasswordRefused(f"il ne peut dépasser {MAX_LENGTH} caractères.")
    folded = _fold(password)
    if len(set(password)) < 5:
        raise PasswordRefused("il faut au moins 5 caractères différents.")
    if folded in COMMON or folded.rstrip("0123456789") in COMMON:
        raise PasswordRefused("c'est l'un des mots de passe les plus répandus.")
    for own in (login, *name.split()):
        if len(own) >= 3 and _fold(own) in folded:
            raise PasswordRefused("il ne doit contenir ni l'identifiant ni le nom.")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(stored: str | None, password: str) -> tuple[bool, bool]:
    """(the password is right, its hash should be made again with today's parameters). A user
    without a password, or a password over the limit, is checked against a dummy hash so that
    every refusal costs the same time."""
    if stored is None or len(password) > MAX_LENGTH:
        _check(_dummy(), password[:MAX_LENGTH])
        return False, False
    if not _check(stored, password):
        return False, False
    return True, _HASHER.check_needs_rehash(stored)


def set_password(
    conn: Connection, user: Any, password_hash: str, *, by: Actor, now: datetime, why: str
) -> int:
    """Store a new hash and end every open session of the person, in the caller's transaction;
    returns how many sessions ended. The event says who and how ("set-password", "reset"),
    never the hash."""
    conn.execute(update(USERS).where(USERS.c.id == user.id).values(password_hash=password_hash))
    ended = end_sessions(conn, user.id, now)
    record_event(conn, "user", user.id, "set_password", by, now, {"how": why, "sessions": ended})
    return ended


def _check(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())
