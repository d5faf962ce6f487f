"""Inbound mail at scale: N replies parsed, classified, matched and recorded.

Set-up (not timed): 2 × N liaison sheets sent to partners, their mails rendered (so each has its
signed reply address and Message-ID). Then one incoming message per sheet, as mail clients write
them: most are partners' replies (Outlook in French, quoted text below), some out-of-office
replies, some from unknown senders. Timed, on N messages each:

- *batched*: `Ingestor.ingest_many` on 50 messages at a time, as the IMAP reader takes a fetch;
- *one by one*: `Ingestor.ingest` on each, one transaction each, as the LMTP receiver does.

Baseline, same run: the same messages parsed, classified and stripped of quotes with no
database, for the share the database takes.

    .venv/bin/python bench/inbound.py                                 # SQLite, 10,000 replies
    .venv/bin/python bench/inbound.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
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
import email
import email.policy
import resource
import shutil
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from casework.actors import Actor
from casework.app import build_app
from casework.clock import SystemClock
from casework.inbound.classify import classify
from casework.inbound.ingest import Ingestor
from casework.inbound.parsing import Incoming, body_text
from casework.inbound.quotes import strip_quotes
from casework.migrate import upgrade
from casework.models import LiaisonSheet, OutboxMail, Partner, PartnerContact
from casework.notify.sender import MailSender

sys.path.insert(0, str(Path(_HERE).parent))  # for `bench.*` (the folder, as a package)
from bench.outbox import prepare_people, settings_for
from bench.timers import fresh_database, machine

OUTBOX = OutboxMail.__table__


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(url: str, n: int) -> list[tuple[str, str, str]]:
    """N sheets sent and rendered; returns (reply address, Message-ID, subject) of each mail."""
    fresh_database(url)
    app = build_app(settings_for(url, 25, 500), SystemClock())
    upgrade(app.db)
    case_ids = prepare_people(app, n)
    now = datetime.now(UTC)
    with app.db.transaction() as conn:
        partner_id = conn.execute(
            insert(Partner).returning(Partner.id),
            {"name": "Foyer", "kind": "housing", "need_categories": ["housing"], "created_at": now},
        ).scalar_one()
        conn.execute(
            insert(PartnerContact),
            {
                "partner_id": partner_id,
                "name": "Sophie Martin",
                "email": "accueil@foyer.example",
                "role": "contact",
                "created_at": now,
            },
        )
        sheet_ids = [
            app.engine.create_sheet(
                conn,
                Actor.person("referente"),
                case_id=case_id,
                partner_id=partner_id,
                need_category="housing",
                description="Cherche un logement près du CFA.",
                consent=True,
            )
            for case_id in case_ids
        ]
    for first in range(0, n, 2_000):
        app.engine.fire_many(
            "liaison", sheet_ids[first : first + 2_000], "send", Actor.person("referente")
        )
    # Render every mail (what the sender does before sending), without sending.
    sender = MailSender(app)
    while True:
        with app.db.transaction() as conn:
            later = datetime.now(UTC)
            claimed = app.engine.outbox.claim(conn, later, 1_000, timedelta(days=1))
            if not claimed:
                break
            sender.renderer.render_pending(conn, claimed, later)
    with app.db.read() as conn:
        mails = conn.execute(
            select(OUTBOX.c.reply_token, OUTBOX.c.message_id, OUTBOX.c.subject)
            .where(OUTBOX.c.template == "liaison/sheet")
            .order_by(OUTBOX.c.id)
        ).all()
    app.close()
    domain = app.settings.mail.domain
    return [(f"reply+{m.reply_token}@{domain}", m.message_id, m.subject) for m in mails]


def messages(mails: list[tuple[str, str, str]], first: int = 0) -> list[bytes]:
    """One incoming message per mail: 80 % replies, 10 % out of office, 10 % strangers."""
    out = []
    for i, (reply_to, message_id, subject) in enumerate(mails, start=first):
        sender, extra = "accueil@foyer.example", ""
        if i % 10 == 8:
            extra = "Auto-Submitted: auto-replied\r\n"
        elif i % 10 == 9:
            sender = f"inconnu{i}@ailleurs.example"
        body = (
            "Bonjour,\r\n\r\nBien reçu, nous prenons contact avec le jeune cette semaine.\r\n\r\n"
            "Sophie Martin\r\n\r\nDe : Plateforme apprentissage <plateforme@bench.example>\r\n"
            "Envoyé : lundi 12 octobre 2026 10:02\r\nÀ : accueil@foyer.example\r\n"
            f"Objet : {subject}\r\n\r\nBonjour,\r\nDans le cadre de la plateforme…\r\n"
        )
        out.append(
            (
                f"From: Sophie Martin <{sender}>\r\nTo: {reply_to}\r\n"
                f"Subject: RE: Fiche de liaison\r\nMessage-ID: <r{i}@foyer.example>\r\n"
                f"In-Reply-To: {message_id}\r\n{extra}MIME-Version: 1.0\r\n"
                "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
                + body
            ).encode()
        )
    return out


def run_ingest(url: str, raws: list[bytes], batch: int) -> dict[str, Any]:
    """Take the messages in, `batch` per transaction (1: `ingest`, as LMTP does)."""
    app = build_app(settings_for(url, 25, 500), SystemClock())
    ingestor = Ingestor(app)
    statuses: Counter[str] = Counter()
    started = time.perf_counter()
    if batch == 1:
        for raw in raws:
            statuses[str(ingestor.ingest(raw, "bench").status)] += 1
    else:
        for first in range(0, len(raws), batch):
            part = [Incoming(raw, "bench") for raw in raws[first : first + batch]]
            for result in ingestor.ingest_many(part):
                statuses[str(result.status)] += 1
    seconds = time.perf_counter() - started
    app.close()
    return {"seconds": seconds, "statuses": statuses, "peak_rss_mb": peak_rss_mb()}


def run_parse_only(raws: list[bytes]) -> float:
    started = time.perf_counter()
    for raw in raws:
        message = email.message_from_bytes(raw, policy=email.policy.compat32)
        classify(message)
        strip_quotes(body_text(message))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replies", type=int, default=10_000)
    parser.add_argument("--database", help="PostgreSQL URL of a database the bench may replace")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="casework-bench-"))
    url = args.database or f"sqlite:///{workdir / 'inbound.sqlite3'}"
    print(f"bench/inbound.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine(url)}")
    try:
        mails = prepare(url, 2 * args.replies)
        runs = {
            "batched (50 per transaction, as IMAP)": (messages(mails[: args.replies]), 50),
            "one by one (as LMTP)": (messages(mails[args.replies :], args.replies), 1),
        }
        per_s = {}
        for name, (raws, batch) in runs.items():
            result = run_ingest(url, raws, batch)
            per_s[name] = len(raws) / result["seconds"]
            statuses = ", ".join(f"{n:,} {s}" for s, n in sorted(result["statuses"].items()))
            print(
                f"  ingest {name}: {len(raws):,} messages in {result['seconds']:.1f} s, "
                f"{per_s[name]:,.0f}/s ({statuses}), peak RSS {result['peak_rss_mb']:.0f} MB",
                flush=True,
            )
        with build_app(settings_for(url, 25, 500), SystemClock()).db.read() as conn:
            acknowledged = conn.execute(
                select(func.count()).where(LiaisonSheet.state == "acknowledged")
            ).scalar_one()
        print(f"  {acknowledged:,} sheets acknowledged")
        raws = runs["one by one (as LMTP)"][0]
        parse_s = run_parse_only(raws)
        parse_per_s = len(raws) / parse_s
        ratios = ", ".join(
            f"{name.split(' (')[0]} {v / parse_per_s:.2f}" for name, v in per_s.items()
        )
        print(
            f"  baseline: parse, classify and strip quotes only (no database): "
            f"{parse_per_s:,.0f}/s; ratio ingest/baseline: {ratios}"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
