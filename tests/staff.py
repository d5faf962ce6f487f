"""Helpers for the staff pages' tests: users with a password, a client signed in."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import update
from starlette.applications import Starlette
from starlette.testclient import TestClient

from casework.accounts.passwords import hash_password
from casework.app import App
from casework.models import User
from casework.notify.links import LinkSigner
from casework.web.staff.app import StaffPages
from tests.factories import add_user

PASSWORD = "une longue phrase de passe"
BASE = "https://casework.example"


def staff_user(
    app: App,
    login: str,
    role: str = "counsellor",
    territory: list[str] | None = None,
    password: str = PASSWORD,
) -> int:
    user_id = add_user(app, login=login, email=f"{login}@ml.example", role=role)
    with app.db.transaction() as conn:
        conn.execute(
            update(User)
            .where(User.id == user_id)
            .values(password_hash=hash_password(password), territory=territory or [])
        )
    return user_id


def staff_client(app: App, base_url: str = BASE, **client: Any) -> TestClient:
    signer = LinkSigner.from_settings(app.settings.mail)
    web = Starlette(routes=StaffPages(app, signer).routes())
    return TestClient(web, base_url=base_url, follow_redirects=False, **client)


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, page
    return found.group(1)


def log_in(client: TestClient, login: str, password: str = PASSWORD, **more: str) -> Any:
    csrf = csrf_of(client.get("/connexion").text)
    return client.post(
        "/connexion",
        data={"csrf": csrf, "identifiant": login, "mot_de_passe": password, **more},
    )
