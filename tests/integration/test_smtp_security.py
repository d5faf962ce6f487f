"""The sender with a relay that wants TLS and a password: STARTTLS, implicit TLS, bad password."""

from __future__ import annotations

import dataclasses
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from casework.actors import Actor
from casework.app import App, build_app
from casework.clock import FixedClock
from casework.demo.mailcatcher import MailCatcher
from casework.models import MailStatus
from casework.notify.sender import MailSender
from casework.settings import Settings, SettingsError
from tests.factories import add_case, add_user
from tests.integration.test_outgoing_mail import outbox


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the relay's), made by openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


class Accounts:
    """The relay's one account; remembers who logged in."""

    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(
        self, _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        if isinstance(data, LoginPassword) and (data.login, data.password) == (
            b"plateforme",
            b"s3cret",
        ):
            self.logins.append(data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


@pytest.fixture
def secure_relay(certificate: tuple[Path, Path]) -> Iterator[tuple[MailCatcher, Accounts]]:
    accounts = Accounts()
    relay = MailCatcher(
        tls_context=server_context(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=accounts,
    ).start()
    try:
        yield relay, accounts
    finally:
        relay.stop()


def app_for(settings: Settings, clock: FixedClock, port: int, ca: Path, **mail: Any) -> App:
    options = {"smtp_port": port, "smtp_ca_file": str(ca), "enabled": True, "rate_per_second": 0}
    return build_app(
        dataclasses.replace(settings, mail=dataclasses.replace(settings.mail, **options, **mail)),
        clock,
    )


def queue_one(app: App) -> None:
    add_user(app)
    app.engine.fire_case(add_case(app), "ask_consent", Actor.system())


def test_starttls_and_a_password(
    settings: Settings, clock: FixedClock, secure_relay: Any, certificate: Any
) -> None:
    relay, accounts = secure_relay
    app = app_for(
        settings, clock, relay.port, certificate[0],
        smtp_security="starttls", smtp_user="plateforme", smtp_password="s3cret",
    )  # fmt: skip
    try:
        queue_one(app)
        assert MailSender(app).drain_sync().sent == 1
        assert len(relay.wait_for(1)) == 1
        assert accounts.logins == ["plateforme"]
    finally:
        app.close()


def test_a_wrong_password_keeps_the_mail_queued_and_says_why(
    settings: Settings, clock: FixedClock, secure_relay: Any, certificate: Any
) -> None:
    relay, _accounts = secure_relay
    app = app_for(
        settings, clock, relay.port, certificate[0],
        smtp_security="starttls", smtp_user="plateforme", smtp_password="wrong",
    )  # fmt: skip
    try:
        queue_one(app)
        report = MailSender(app).drain_sync()
        assert report.sent == 0
        assert "535" in report.errors[0]
        (mail,) = outbox(app)
        assert mail.status == MailStatus.QUEUED
        assert mail.next_attempt_at > clock.now()
    finally:
        app.close()


def test_implicit_tls(settings: Settings, clock: FixedClock, certificate: Any) -> None:
    relay = MailCatcher(ssl_context=server_context(certificate)).start()
    app = app_for(settings, clock, relay.port, certificate[0], smtp_security="tls")
    try:
        queue_one(app)
        assert MailSender(app).drain_sync().sent == 1
        assert len(relay.wait_for(1)) == 1
    finally:
        app.close()
        relay.stop()


def test_an_untrusted_certificate_is_refused(
    settings: Settings, clock: FixedClock, secure_relay: Any, certificate: Any
) -> None:
    relay, _accounts = secure_relay
    app = app_for(settings, clock, relay.port, certificate[0], smtp_security="starttls")
    app.settings = dataclasses.replace(
        app.settings, mail=dataclasses.replace(app.settings.mail, smtp_ca_file="")
    )
    try:
        queue_one(app)
        report = MailSender(app).drain_sync()
        assert report.sent == 0
        assert "CERTIFICATE_VERIFY_FAILED" in report.errors[0]
        assert relay.messages == type(relay.messages)()
    finally:
        app.close()


def test_an_unknown_security_mode_is_a_configuration_error(
    settings: Settings, clock: FixedClock
) -> None:
    app = app_for(settings, clock, 25, Path("x"), smtp_security="ssl")
    try:
        with pytest.raises(SettingsError, match="smtp_security"):
            MailSender(app)
    finally:
        app.close()
