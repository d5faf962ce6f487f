"""Outgoing mail at scale: N mails queued by transitions, rendered and sent to a local SMTP server.

1. Queue: N cases are asked for consent in batches (`fire_many`); each transition queues its
   mail in its own transaction (timed, for reference).
2. Render and send: the real sender drains the outbox: claim, render (context read in bulk,
   two signed links per mail stored hashed, Jinja text + HTML, MIME with its Message-ID), send
   over one SMTP connection per batch, mark sent. Reported: mails per second, end to end.
3. Baseline, same run: the very messages the server received from the sender, sent again with
   aiosmtplib over as many connections with nothing else (no database, no rendering). The
   ratio says what casework adds on top of bare SMTP to this server.

The SMTP server (aiosmtpd, counting what it receives) runs in its own process, so that it does
not share the interpreter lock with what is measured. No rate limit is applied (a relay's limit
is configuration, not speed).

    .venv/bin/python bench/outbox.py                                  # SQLite, 10,000 mails
    .venv/bin/python bench/outbox.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

# ruff: noqa: E402 - the import path is mended before the imports below

from __future__ import annotations

import os
import sys

# bench/transitions.py has the name of the `transitions` library: keep this folder off the
# import path, or `import transitions` would import it.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import asyncio
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import aiosmtplib
from sqlalchemy import insert, select

from casework.actors import Actor
from casework.app import build_app
from casework.clock import SystemClock
from casework.demo.mailcatcher import free_port
from casework.migrate import upgrade
from casework.models import Beneficiary, Contract, MailStatus, OutboxMail, User
from casework.notify.sender import MailSender
from casework.settings import MailSettings, Settings

sys.path.insert(0, str(Path(_HERE).parent))  # for `bench.timers` (the folder, as a package)
from bench.timers import fresh_database, machine

OUTBOX = OutboxMail.__table__


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- the SMTP server, in its own process --------------------------------------------------------


def _serve(port: int, ready: Any, received: Any, commands: Any) -> None:
    """The server process: counts what it receives and keeps it, until told to hand it over
    ("take") or to stop ("stop")."""
    from aiosmtpd.controller import Controller

    messages: list[tuple[list[str], bytes]] = []

    class Keep:
        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            messages.append((list(envelope.rcpt_tos), envelope.original_content))
            with received.get_lock():
                received.value += 1
            return "250 OK"

    controller = Controller(Keep(), hostname="127.0.0.1", port=port, ready_timeout=30)
    controller.start()
    ready.set()
    while (command := commands.recv()) != "stop":
        if command == "take":
            commands.send(messages[:])
            messages.clear()
    controller.stop()


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.ready = mp.Event()
        self.received = mp.Value("i", 0)
        self.commands, child = mp.Pipe()
        self.process = mp.Process(target=_serve, args=(self.port, self.ready, self.received, child))

    def __enter__(self) -> SmtpServer:
        self.process.start()
        self.ready.wait(30)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.commands.send("stop")
        self.process.join(30)

    def wait_for(self, count: int, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self.received.value < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return int(self.received.value)

    def take(self) -> list[tuple[list[str], bytes]]:
        """What it received so far (and forget it)."""
        self.commands.send("take")
        return list(self.commands.recv())


# -- the runs -----------------------------------------------------------------------------------


def settings_for(url: str, port: int, batch: int, connections: int = 2) -> Settings:
    mail = MailSettings(
        smtp_port=port,
        connections=connections,
        link_keys="bench-key-0123456789abcdefghijklmnopq",
        rate_per_second=0,
        batch_size=batch,
        domain="bench.example",
    )
    return Settings(mail=mail).with_database(url)


def prepare_people(app: Any, n: int) -> list[int]:
    """A counsellor and N test-group cases of hers (set up, not timed)."""
    now = datetime.now(UTC)
    ids: list[int] = []
    with app.db.transaction() as conn:
        conn.execute(
            insert(User),
            {
                "login": "referente",
                "name": "Claire Martin",
                "email": "claire.martin@ml.bench.example",
                "role": "counsellor",
                "active": True,
                "created_at": now,
            },
        )
        for first in range(1, n + 1, 5_000):
            numbers = range(first, min(first + 5_000, n + 1))
            conn.execute(
                insert(Beneficiary),
                [
                    {
                        "id": i,
                        "birth_name": f"Martin-{i}",
                        "first_names": "Léa Marie",
                        "birth_date": date(2004, 5, 4),
                        "sex": "F",
                        "phone": "0600000000",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in numbers
                ],
            )
            conn.execute(
                insert(Contract),
                [
                    {
                        "id": i,
                        "beneficiary_id": i,
                        "cma_number": f"O{i}",
                        "employer_name": "Boulangerie Dupont",
                        "start_date": date(2026, 9, 1),
                        "planned_end_date": date(2028, 8, 31),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i in numbers
                ],
            )
            ids += app.engine.create_cases(
                conn,
                Actor.importer("bench"),
                [
                    {
                        "beneficiary_id": i,
                        "contract_id": i,
                        "cohort": 2026,
                        "group": "test",
                        "assignment_method": "parity",
                        "referent": "referente",
                    }
                    for i in numbers
                ],
            )
    return ids


def queue(url: str, n: int, port: int, batch: int) -> float:
    """N test-group cases with a counsellor; ask consent: N mails queued. Returns seconds."""
    fresh_database(url)
    app = build_app(settings_for(url, port, batch), SystemClock())
    upgrade(app.db)
    ids = prepare_people(app, n)
    started = time.perf_counter()
    for first in range(0, n, 2_000):
        app.engine.fire_many("case", ids[first : first + 2_000], "ask_consent", Actor.system())
    seconds = time.perf_counter() - started
    app.close()
    return seconds


def send(url: str, port: int, batch: int, connections: int) -> dict[str, float]:
    app = build_app(settings_for(url, port, batch, connections), SystemClock())
    sender = MailSender(app)
    started = time.perf_counter()
    report = sender.drain_sync()
    seconds = time.perf_counter() - started
    with app.db.read() as conn:
        left = conn.execute(
            select(OUTBOX.c.id).where(OUTBOX.c.status != MailStatus.SENT).limit(1)
        ).first()
    app.close()
    assert left is None, "some mails were not sent"
    return {"sent": report.sent, "seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def baseline(mails: list[tuple[list[str], bytes]], port: int, connections: int) -> dict[str, float]:
    """The messages the server received, sent again by aiosmtplib alone over as many
    connections."""

    async def one(share: list[Any]) -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=port)
        await smtp.connect()
        for recipients, message in share:
            await smtp.sendmail("plateforme@bench.example", recipients, message)
        await smtp.quit()

    async def run() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(one(mails[i::connections]) for i in range(connections)))
        return time.perf_counter() - started

    return {"sent": len(mails), "seconds": asyncio.run(run())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=MailSettings.batch_size)
    parser.add_argument("--connections", type=int, default=MailSettings.connections)
    parser.add_argument("--database", help="PostgreSQL URL of a database the bench may replace")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    url = args.database or f"sqlite:///{workdir / 'outbox.sqlite3'}"
    print(f"bench/outbox.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine(url)}")
    try:
        with SmtpServer() as server:
            queued = queue(url, args.mails, server.port, args.batch)
            print(
                f"  queue: {args.mails:,} transitions with their mail in {queued:.1f} s "
                f"({args.mails / queued:,.0f}/s)",
                flush=True,
            )
            result = send(url, server.port, args.batch, args.connections)
            received = server.wait_for(args.mails)
            per_s = result["sent"] / result["seconds"]
            print(
                f"  render and send: {int(result['sent']):,} mails in {result['seconds']:.1f} s, "
                f"{per_s:,.0f} mails/s (batches of {args.batch}, "
                f"{args.connections} connection(s)), server received {received:,}, "
                f"peak RSS {result['peak_rss_mb']:.0f} MB",
                flush=True,
            )
            raw = baseline(server.take(), server.port, args.connections)
            raw_per_s = raw["sent"] / raw["seconds"]
            print(
                f"  baseline: the same {int(raw['sent']):,} messages, bare aiosmtplib, "
                f"{args.connections} connection(s): {raw_per_s:,.0f} mails/s; "
                f"ratio casework/baseline {per_s / raw_per_s:.2f}"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
