"""The service: the beat, heartbeats, /health, stopping cleanly, and several processes at once."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from starlette.testclient import TestClient

from casework.accounts.sessions import end_session, open_session
from casework.actors import Actor
from casework.app import App, build_app
from casework.clock import FixedClock
from casework.demo.mailcatcher import MailCatcher
from casework.models import Beneficiary, Contract, Event, ServiceHeartbeat, Timer
from casework.models.tables import SESSIONS
from casework.service.lifecycle import Service
from casework.service.web import create_web_app
from casework.settings import Settings, SettingsError
from tests.factories import add_case, add_user
from tests.staff import staff_user


def wait_for(predicate, timeout: float = 60.0, every: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError("condition not met in time")


LOCAL = ("127.0.0.1", 50000)  # the test client's address: /health answers loopback only


def test_a_beat_sweeps_and_records_a_heartbeat(app: App, clock: FixedClock) -> None:
    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    service = Service(app, interval=3600)  # one beat at start, none other during the test
    service.start()
    try:
        wait_for(lambda: service.last_success is not None)
        clock.advance(timedelta(days=8))
        service.tick()
        service.refresh_counts()  # the beat does it every service.health_refresh_seconds
        health = service.health()
        assert health["status"] == "ok"
        assert health["last_sweep"]["fired"] == {"remind_consent": 1}
        assert health["timers"]["failed"] == 0
    finally:
        service.stop()
    with app.db.read() as conn:
        beat = conn.execute(select(ServiceHeartbeat.__table__)).one()
    assert beat.pid == os.getpid()
    assert beat.last_sweep_at == clock.now()
    assert beat.last_sweep["fired"] == {"remind_consent": 1}
    # The heartbeat is in real time (the sweep in the casework clock's time).
    assert beat.stopped_at is not None
    assert abs(beat.stopped_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_health_over_http_starts_and_stops_the_service(app: App) -> None:
    service = Service(app, interval=0.05)
    with TestClient(create_web_app(service), client=LOCAL) as client:
        wait_for(lambda: service.last_success is not None)
        response = client.get("/health")
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert response.json()["status"] == "ok"
    assert service.stopping.is_set()
    assert service.health()["status"] == "unhealthy"


def test_health_answers_loopback_or_a_token_only(app: App) -> None:
    settings = dataclasses.replace(app.settings.service, health_token="s3cret-for-supervisors")
    app.settings = dataclasses.replace(app.settings, service=settings)
    service = Service(app, interval=3600)
    web = create_web_app(service)
    with TestClient(web, client=("203.0.113.9", 4000)) as outside:
        wait_for(lambda: service.last_success is not None)
        assert outside.get("/health").status_code == 403
        assert outside.get("/health", headers={"Authorization": "Bearer nope"}).status_code == 403
        token = {"Authorization": "Bearer s3cret-for-supervisors"}
        assert outside.get("/health", headers=token).status_code == 200
    # This machine, whatever the address family (listening on "::", IPv4 comes mapped).
    for here in (LOCAL, ("::1", 4000), ("::ffff:127.0.0.1", 4000)):
        with TestClient(create_web_app(Service(app, interval=3600)), client=here) as local:
            assert local.get("/health").status_code in (200, 503)  # answered, whatever it says


def test_health_reads_no_database(app: App) -> None:
    """A supervisor polling /health costs no query: the beat refreshes the counts."""
    service = Service(app, interval=3600)
    service.start()
    try:
        wait_for(lambda: service.counts_at is not None)
        here = threading.get_ident()  # the beat may run meanwhile, in its own thread
        statements: list[str] = []

        def seen(*args: object) -> None:
            if threading.get_ident() == here:
                statements.append(str(args[2]))

        event.listen(app.db.engine, "before_cursor_execute", seen)
        for _ in range(5):
            service.health()
        event.remove(app.db.engine, "before_cursor_execute", seen)
        assert statements == []
    finally:
        service.stop()


def test_a_failing_sweep_makes_health_unhealthy_and_is_retried(app: App) -> None:
    service = Service(app, interval=3600)
    broken = True

    def sweep_or_break(now: datetime) -> None:
        if broken:
            raise RuntimeError("database unreachable")

    service.before_sweep = sweep_or_break
    service.start()
    try:
        wait_for(lambda: service.last_error is not None)
        assert service.health()["status"] == "unhealthy"
        assert "database unreachable" in service.health()["last_error"]
        broken = False
        service.tick()
        assert service.health()["status"] == "ok"
    finally:
        service.stop()


def test_the_service_sends_mail_and_serves_the_links(
    mail_app: App, catcher: MailCatcher, clock: FixedClock
) -> None:
    add_user(mail_app)
    case_id = add_case(mail_app)
    mail_app.engine.fire_case(case_id, "ask_consent", Actor.system())
    service = Service(mail_app, interval=3600)
    web = create_web_app(service)
    with TestClient(web, base_url="https://casework.example", client=LOCAL) as client:
        # The consent request, and (a working day, after 08:00) the morning digest.
        wait_for(lambda: service.last_mail.get("sent") == 2)
        caught = next(c for c in catcher.messages if "Consentement" in c.message["Subject"])
        service.refresh_counts()
        health = client.get("/health").json()
        assert health["mail"]["outbox"] == {"queued": 0, "due": 0}
        assert health["mail"]["last_round"]["sent"] == 2
        assert health["mail"]["last_error"] is None
        link = re.search(r"https://casework\.example(/l/[^\s\"]+)", caught.part("html"))
        assert link is not None
        assert client.get(link.group(1)).status_code == 200


def test_the_service_refuses_to_start_mail_without_keys(mail_app: App) -> None:
    mail_app.settings = dataclasses.replace(
        mail_app.settings, mail=dataclasses.replace(mail_app.settings.mail, link_keys="")
    )
    with pytest.raises(SettingsError, match="link_keys"):
        Service(mail_app)


# -- real processes ------------------------------------------------------------------------------


def due_reminders(settings: Settings, n: int) -> list[int]:
    """`n` cases whose consent reminder was due a month ago (created with a clock in the past)."""
    clock = FixedClock(datetime.now(UTC) - timedelta(days=40))
    app = build_app(settings, clock)
    now = clock.now()
    try:
        with app.db.transaction() as conn:
            people = (
                conn.execute(
                    Beneficiary.__table__.insert().returning(
                        Beneficiary.id, sort_by_parameter_order=True
                    ),
                    [
                        {
                            "birth_name": f"N{i}",
                            "first_names": "Sam",
                            "birth_date": datetime(2000, 1, 1).date(),
                            "sex": "M",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i in range(n)
                    ],
                )
                .scalars()
                .all()
            )
            contracts = (
                conn.execute(
                    Contract.__table__.insert().returning(
                        Contract.id, sort_by_parameter_order=True
                    ),
                    [
                        {
                            "beneficiary_id": b,
                            "cma_number": f"K{b}",
                            "employer_name": "Atelier",
                            "start_date": datetime(2026, 9, 1).date(),
                            "planned_end_date": datetime(2028, 8, 31).date(),
                            "created_at": now,
                            "updated_at": now,
                        }
                        for b in people
                    ],
                )
                .scalars()
                .all()
            )
            ids = app.engine.create_cases(
                conn,
                Actor.importer("tests"),
                [
                    {
                        "beneficiary_id": b,
                        "contract_id": c,
                        "cohort": 2026,
                        "group": "test",
                        "assignment_method": "parity",
                        "referent": "referente",
                    }
                    for b, c in zip(people, contracts, strict=True)
                ],
            )
        for first in range(0, n, 5000):
            app.engine.fire_many("case", ids[first : first + 5000], "ask_consent", Actor.system())
    finally:
        app.close()
    return ids


class ServiceProcess:
    """`casework serve --no-web` in its own process; its log kept in a file."""

    def __init__(self, url: str, batch: int, log: Path):
        env = {
            **os.environ,
            "CASEWORK_TIMERS_BATCH_SIZE": str(batch),
            "CASEWORK_LOGGING_LEVEL": "WARNING",
            "CASEWORK_MAIL_ENABLED": "false",  # timers only; mail has its own process tests
        }
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "casework",
                    "--database",
                    url,
                    "serve",
                    "--no-web",
                    "--sweep-interval",
                    "0.2",
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=out,
            )

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def started(app: App) -> int:
    with app.db.read() as conn:
        return conn.execute(select(func.count()).select_from(ServiceHeartbeat)).scalar_one()


def counts(app: App) -> Counter[str]:
    with app.db.read() as conn:
        return Counter(
            dict(
                conn.execute(
                    select(Timer.status, func.count())
                    .where(Timer.trigger == "remind_consent")
                    .group_by(Timer.status)
                ).all()
            )
        )


def test_sigterm_finishes_the_current_batch_and_stops(
    app: App, settings: Settings, db_url: str, tmp_path: Path
) -> None:
    due_reminders(settings, 3000)
    service = ServiceProcess(db_url, batch=200, log=tmp_path / "service.log")
    try:
        wait_for(lambda: counts(app)["fired"] > 0)
        service.signal(signal.SIGTERM)
        assert service.wait(timeout=60) == 0, service.output()
    finally:
        service.signal(signal.SIGKILL)
    done = counts(app)
    assert done["fired"] % 200 == 0  # whole batches only: the one in progress was finished
    assert done["fired"] + done["pending"] == 3000
    with app.db.read() as conn:
        beat = conn.execute(select(ServiceHeartbeat.__table__)).one()
        events = conn.execute(
            select(func.count()).where(Event.trigger == "remind_consent")
        ).scalar_one()
    assert beat.stopped_at is not None
    assert events == done["fired"]


def test_three_processes_one_killed_mid_sweep_fire_every_timer_exactly_once(
    app: App, settings: Settings, db_url: str, backend: str, tmp_path: Path
) -> None:
    n = 20_000 if backend == "postgresql" else 10_000  # SQLite: one writer at a time anyway
    services = [ServiceProcess(db_url, 250, tmp_path / f"service{i}.log") for i in range(3)]
    try:
        # All three running (signal handlers in place) before the timers come due at once.
        wait_for(lambda: started(app) == 3, timeout=120)
        ids = due_reminders(settings, n)
        wait_for(lambda: counts(app)["fired"] >= n // 10, timeout=120)
        services[0].signal(signal.SIGKILL)  # no chance to finish its batch or its beat
        services[0].wait(timeout=30)
        assert counts(app)["pending"] > 0, "the kill came too late to test anything"
        wait_for(lambda: counts(app)["pending"] == 0, timeout=600)
    finally:
        for service in services:
            service.signal(signal.SIGTERM)
        codes = [service.wait(timeout=60) for service in services]
    assert counts(app) == Counter({"fired": n})
    with app.db.read() as conn:
        fired = Counter(
            conn.execute(select(Event.entity_id).where(Event.trigger == "remind_consent")).scalars()
        )
        reminded = conn.execute(
            select(func.count()).where(Event.to_state == "consent_reminded")
        ).scalar_one()
    assert set(fired) == set(ids)
    assert set(fired.values()) == {1}, "a timer fired twice"
    assert reminded == n
    assert codes == [-signal.SIGKILL, 0, 0], [s.output() for s in services]
    with app.db.read() as conn:
        beats = conn.execute(select(ServiceHeartbeat.pid, ServiceHeartbeat.stopped_at)).all()
    # The killed process never got to record its stop; the two others did.
    assert sorted(stopped is None for _pid, stopped in beats) == [False, False, True]


def test_the_beat_deletes_ended_staff_sessions(app: App, clock: FixedClock) -> None:
    user_id = staff_user(app, "claire")
    with app.db.transaction() as conn:
        end_session(conn, open_session(conn, user_id, clock.now(), None), clock.now())
    clock.advance(timedelta(days=2))
    service = Service(app, interval=3600, wall=clock)  # the wall clock: the test's
    service.beat()
    with app.db.read() as conn:
        assert conn.execute(select(SESSIONS)).all() == []
