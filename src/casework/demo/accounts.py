"""The demo's staff accounts: one per role, sharing one password made at each start
("demo-" and random letters), printed by `casework serve --demo` with the address of the
staff pages. The counsellor is the demo's referent, who follows the cases."""

from __future__ import annotations

import secrets

from sqlalchemy import insert, update

from casework.accounts.passwords import hash_password
from casework.app import App
from casework.labels import ROLE
from casework.models import Role, User
from casework.models.tables import USERS

# login, name, role; the counsellor exists already (`cohort.seed_cohort`).
ACCOUNTS = (
    ("referente", "Claire Martin", Role.COUNSELLOR),
    ("responsable", "Sophie Leroy", Role.MANAGER),  # no territory: every case
    ("evaluateur", "Hugo Bernard", Role.EVALUATOR),
    ("admin", "Alex Garnier", Role.ADMINISTRATOR),
)


def demo_accounts(app: App) -> tuple[str, list[str]]:
    """Give each account the demo's password (adding those missing); returns the password and
    the accounts as the start prints them ("referente (conseiller(ère))")."""
    password = f"demo-{secrets.token_urlsafe(9)}"
    hashed = hash_password(password)  # once: the same password for every account
    now = app.clock.now()
    with app.db.transaction() as conn:
        for login, name, role in ACCOUNTS[1:]:
            conn.execute(
                insert(User),
                {
                    "login": login,
                    "name": name,
                    "email": f"{login}@mission-locale.example",
                    "role": role,
                    "active": True,
                    "created_at": now,
                },
            )
        logins = [login for login, _name, _role in ACCOUNTS]
        conn.execute(update(USERS).where(USERS.c.login.in_(logins)).values(password_hash=hashed))
    return password, [f"{login} ({ROLE[role]})" for login, _name, role in ACCOUNTS]
