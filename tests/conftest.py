"""Shared fixtures: a fresh, migrated database per test on SQLite and on PostgreSQL.

Every test that takes `db_url` (or anything built on it) runs once per backend. The PostgreSQL
server is a throwaway cluster this session starts (see pg_cluster.py), unless
CASEWORK_TEST_POSTGRES_URL points at one. CASEWORK_TEST_BACKENDS=sqlite restricts a local run;
CI never sets it, so a missing PostgreSQL fails the run instead of skipping half of it.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from casework.app import App, build_app
from casework.clock import FixedClock
from casework.database import Database
from casework.demo.mailcatcher import MailCatcher
from casework.migrate import upgrade
from casework.settings import DatabaseSettings, MailSettings, Settings
from tests.dovecot import Dovecot
from tests.factories import NEW_KEY, OLD_KEY
from tests.pg_cluster import Cluster

BACKENDS = [
    b.strip() for b in os.environ.get("CASEWORK_TEST_BACKENDS", "sqlite,postgresql").split(",")
]
START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Paris


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        backends = BACKENDS
        if metafunc.definition.get_closest_marker("postgres_only"):
            # Behaviour SQLite does not have (concurrent writers): nothing to run there.
            backends = [b for b in BACKENDS if b == "postgresql"]
        metafunc.parametrize("backend", backends, scope="session")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    url = os.environ.get("CASEWORK_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    cluster = Cluster()
    try:
        yield cluster.start()
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def template(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    """A migrated database to copy for each test (migrations run once per backend)."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        db = Database(DatabaseSettings(url=f"sqlite:///{path}"))
        upgrade(db)
        db.dispose()  # the last connection to close checkpoints the WAL into the main file
        assert not path.with_name(path.name + "-wal").exists()
        return str(path)
    server = request.getfixturevalue("postgres_server")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS casework_template"))
        conn.execute(text("CREATE DATABASE casework_template"))
    admin.dispose()
    db = Database(DatabaseSettings(url=str(make_url(server).set(database="casework_template"))))
    upgrade(db)
    db.dispose()
    return "casework_template"


_numbers = itertools.count()


@pytest.fixture
def db_url(
    backend: str, template: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A fresh database with the current schema, private to this test."""
    yield from _fresh_database(backend, template, tmp_path / "casework.sqlite3", request)


@pytest.fixture
def twin_url(
    backend: str, template: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A second fresh database beside `db_url`, for a run to be compared with another."""
    yield from _fresh_database(backend, template, tmp_path / "twin.sqlite3", request)


def _fresh_database(
    backend: str, template: str, path: Path, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A copy of the migrated template: a file at `path` (SQLite), or a database made from it."""
    if backend == "sqlite":
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("postgres_server")
    name = f"test_{os.getpid()}_{next(_numbers)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(autouse=True)
def _log_filters_removed() -> Iterator[None]:
    """Every command run in a test puts the personal-data filter on the logging handlers there
    are (`casework.privacy.logs.install`), pytest's own among them, which outlive the test."""
    yield
    from casework.privacy.logs import uninstall

    uninstall()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def settings(db_url: str) -> Settings:
    # Mail is off unless a test turns it on with a relay to send to (see tests/mail.py).
    mail = MailSettings(enabled=False, link_keys=f"{OLD_KEY},{NEW_KEY}")
    return Settings(mail=mail).with_database(db_url)


@pytest.fixture
def app(settings: Settings, clock: FixedClock) -> Iterator[App]:
    application = build_app(settings, clock)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    """A real SMTP server (aiosmtpd) on a free loopback port, keeping what it receives."""
    server = MailCatcher().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_settings(settings: Settings, catcher: MailCatcher) -> Settings:
    mail = dataclasses.replace(
        settings.mail,
        enabled=True,
        smtp_port=catcher.port,
        rate_per_second=0,
        retry_base_seconds=60,
        domain="plateforme.example",
        from_address="plateforme@plateforme.example",
        base_url="https://casework.example",
    )
    # Our mail server, as the tests play it, writes Authentication-Results under this name.
    inbound = dataclasses.replace(settings.inbound, authserv_id="mx.plateforme.example")
    return dataclasses.replace(settings, mail=mail, inbound=inbound)


@pytest.fixture
def mail_app(mail_settings: Settings, clock: FixedClock) -> Iterator[App]:
    application = build_app(mail_settings, clock)
    try:
        yield application
    finally:
        application.close()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A Dovecot IMAP server (the Debian package) with its own throwaway configuration."""
    server = Dovecot().start()
    try:
        yield server
    finally:
        server.stop()
