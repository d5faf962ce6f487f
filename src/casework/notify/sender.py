"""The sender: claims due mails, renders the new ones, sends them over a few reused connections.

A round: claim up to `batch_size` due mails (one transaction that also renders the ones never
rendered, so their Message-ID and links exist before any attempt), open `connections`
connections to the relay (two by default), each sending its share of the stored messages one
after the other, and record each outcome:

- 250: sent (marked in small groups; a crash before the mark resends with the same Message-ID);
- 4xx, or the connection lost: tried again later, after an exponential backoff with jitter
  (`casework.retry`: many mails that failed together do not come back together); after
  `max_attempts`, failed;
- 5xx: failed at once;
- its envelope sender is its own `bounce+<token>@` address (VERP, `envelope_sender`);
- a failed mail, or one with nobody to go to, queues a notice to the counsellor of its case
  (never a notice about a notice).

Rate limit: at most `rate_per_second` mails a second leave this process for the relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiosmtplib
from sqlalchemy import Connection, select

from casework.app import App
from casework.models import MailStatus
from casework.models.tables import OUTBOX
from casework.notify.links import LinkSigner
from casework.notify.outbox import Outbox
from casework.notify.render import Renderer
from casework.retry import Backoff
from casework.settings import MailSettings, SettingsError

log = logging.getLogger("casework.mail")
MARK_EVERY = 50  # sent mails marked per transaction
SECURITY = ("none", "starttls", "tls")


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    undeliverable: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: SendReport) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.retried += other.retried
        self.failed += other.failed
        self.undeliverable += other.undeliverable
        self.errors += other.errors

    def summary(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "retried": self.retried,
            "failed": self.failed,
            "undeliverable": self.undeliverable,
        }


class RateLimiter:
    """At most `rate` calls a second (0: unlimited), evenly spaced. It reads a monotonic clock
    and sleeps with `sleep` (both given, so that a test runs it on a clock of its own)."""

    def __init__(
        self,
        rate: float,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.next_at = 0.0
        self.monotonic = monotonic
        self.sleep = sleep

    async def wait(self) -> None:
        if not self.interval:
            return
        now = self.monotonic()
        if self.next_at > now:
            await self.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


class MailSender:
    """`uniform` is the backoff's random source and `limiter` the pace of sending: given by a
    test that wants them fixed, built from the settings otherwise."""

    def __init__(
        self,
        app: App,
        settings: MailSettings | None = None,
        *,
        uniform: Callable[[float, float], float] = random.uniform,
        limiter: RateLimiter | None = None,
    ):
        self.app = app
        self.settings = settings or app.settings.mail
        if self.settings.smtp_security not in SECURITY:
            raise SettingsError(
                "configuration",
                "mail.smtp_security",
                f"{self.settings.smtp_security!r} : attendu {', '.join(SECURITY)}",
            )
        self.outbox: Outbox = app.engine.outbox
        self.signer = LinkSigner.from_settings(self.settings)
        self.renderer = Renderer(
            self.settings,
            app.workflows,
            self.signer,
            app.settings.paths.templates,
            app.engine.timers.calendar,
        )
        self.limiter = limiter or RateLimiter(self.settings.rate_per_second)
        self.retry = Backoff(
            self.settings.retry_base_seconds, self.settings.retry_max_seconds, uniform
        )

    # -- rounds ----------------------------------------------------------------------------------

    def drain_sync(self, should_stop: Callable[[], bool] = lambda: False) -> SendReport:
        """For threads (the service's beat) and the CLI."""
        return asyncio.run(self.drain(should_stop))

    async def drain(self, should_stop: Callable[[], bool] = lambda: False) -> SendReport:
        """Send rounds until nothing is due (or a round could not reach the relay)."""
        total = SendReport()
        while not should_stop():
            report = await self.send_round()
            total.add(report)
            # Until nothing is due: a round may queue notices that are due at once.
            if not report.claimed or report.errors:
                break
        return total

    async def send_round(self) -> SendReport:
        report = SendReport()
        now = self.app.clock.now()
        lease = timedelta(seconds=self.settings.lease_seconds)
        with self.app.db.transaction() as conn:
            claimed = self.outbox.claim(conn, now, batch_limit(self.settings), lease)
            if not claimed:
                return report
            rendered = self.renderer.render_pending(conn, claimed, now)
            for mail_id, reason in rendered.undeliverable:
                self._give_up(conn, mail_id, MailStatus.UNDELIVERABLE, reason, tried=False)
            for mail_id, reason in rendered.failed:
                self._give_up(conn, mail_id, MailStatus.FAILED, reason, tried=False)
        report.claimed = len(claimed)
        report.undeliverable = len(rendered.undeliverable)
        report.failed = len(rendered.failed)
        with self.app.db.read() as conn:
            mails = conn.execute(
                select(OUTBOX.c.id, OUTBOX.c.recipients, OUTBOX.c.message, OUTBOX.c.attempts)
                .where(OUTBOX.c.id.in_(rendered.ready), OUTBOX.c.status == MailStatus.QUEUED)
                .order_by(OUTBOX.c.id)
            ).all()
        if mails:
            await self._send(mails, report)
        log.info(
            "mail round: %d claimed, %d sent, %d to retry, %d failed, %d undeliverable",
            report.claimed,
            report.sent,
            report.retried,
            report.failed,
            report.undeliverable,
        )
        return report

    async def _send(self, mails: list[Any], report: SendReport) -> None:
        """Share the batch among `connections` SMTP connections, each reused for its share:
        the relay's round trips, not our work, set the pace of one connection."""
        count = max(1, min(self.settings.connections, len(mails)))
        await asyncio.gather(*(self._send_over_one(mails[i::count], report) for i in range(count)))

    async def _send_over_one(self, mails: list[Any], report: SendReport) -> None:
        s = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_user or None,
            password=s.smtp_password or None,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            cert_bundle=s.smtp_ca_file or None,
            timeout=s.timeout_seconds,
        )
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as error:
            # A refused login or certificate leaves the socket open: close it, then every
            # claimed mail comes back after a short wait, unchanged (nothing was tried).
            smtp.close()
            self._after_lost_connection([m.id for m in mails], None, error, report)
            return
        sent: list[int] = []
        try:
            for position, mail in enumerate(mails):
                await self.limiter.wait()
                try:
                    envelope = envelope_sender(s, self.signer, mail.id, mail.recipients)
                    await smtp.sendmail(envelope, list(mail.recipients), mail.message)
                except aiosmtplib.SMTPRecipientsRefused as error:
                    self._refused(mail, _worst(error.recipients), report)
                    await _reset(smtp)
                except aiosmtplib.SMTPResponseException as error:
                    self._refused(mail, error, report)
                    await _reset(smtp)
                except (aiosmtplib.SMTPServerDisconnected, OSError) as error:
                    self._flush(sent, report)
                    untried = [m.id for m in mails[position + 1 :]]
                    self._after_lost_connection(untried, mail, error, report)
                    return
                else:
                    sent.append(mail.id)
                    if len(sent) >= MARK_EVERY:
                        self._flush(sent, report)
        finally:
            self._flush(sent, report)
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()

    # -- outcomes ----------------------------------------------------------------------------------

    def _flush(self, sent: list[int], report: SendReport) -> None:
        if not sent:
            return
        with self.app.db.transaction() as conn:
            self.outbox.mark_sent(conn, sent, self.app.clock.now())
        report.sent += len(sent)
        sent.clear()

    def _refused(
        self, mail: Any, error: aiosmtplib.SMTPResponseException, report: SendReport
    ) -> None:
        text = f"{error.code} {error.message}".strip()
        if 400 <= error.code < 500:
            self._retry(mail, text, report)
            return
        log.warning("mail %s refused for good: %s", mail.id, text)
        with self.app.db.transaction() as conn:
            self._give_up(conn, mail.id, MailStatus.FAILED, text)
        report.failed += 1

    def _retry(self, mail: Any, error: str, report: SendReport) -> None:
        attempts = mail.attempts + 1
        with self.app.db.transaction() as conn:
            if attempts >= self.settings.max_attempts:
                log.warning("mail %s failed after %s attempts: %s", mail.id, attempts, error)
                self._give_up(conn, mail.id, MailStatus.FAILED, f"{attempts} essais : {error}")
                report.failed += 1
                return
            when = self.app.clock.now() + self.retry.delay(attempts)
            self.outbox.retry_later(conn, mail.id, when, error)
        log.info("mail %s: %s; next attempt at %s", mail.id, error, when.isoformat())
        report.retried += 1

    def _after_lost_connection(
        self, untried: list[int], tried: Any, error: Exception, report: SendReport
    ) -> None:
        message = f"relais injoignable : {type(error).__name__}: {error}"
        log.warning("mail: %s", message)
        report.errors.append(message)
        if tried is not None:
            self._retry(tried, message, report)
        if untried:
            when = self.app.clock.now() + self.retry.delay(1)
            with self.app.db.transaction() as conn:
                self.outbox.release(conn, untried, when)

    def _give_up(
        self, conn: Connection, mail_id: int, status: MailStatus, reason: str, tried: bool = True
    ) -> None:
        self.outbox.give_up(conn, mail_id, status, reason, tried)
        queue_failure_notice(conn, mail_id, reason, self.app.clock.now())


def envelope_sender(
    settings: MailSettings, signer: LinkSigner, mail_id: int, recipients: list[str]
) -> str:
    """The mail's envelope sender, where its bounces go: `bounce+<token>@<bounce domain>`, the
    token naming the mail and its one recipient (VERP), so that even a notice in no known
    format says which mail failed for whom. (A mail is rendered once per recipient.)"""
    if len(recipients) != 1:
        return settings.from_address
    token = signer.bounce_token(mail_id, recipients[0])
    return f"{settings.bounce_local}+{token}@{settings.bounce_domain or settings.domain}"


def batch_limit(settings: MailSettings) -> int:
    """Mails per round: never more than the rate limit lets us send in half a lease, or a slow
    round would outlive its lease and another sender would send the rest again."""
    if settings.rate_per_second <= 0:
        return settings.batch_size
    per_half_lease = int(settings.rate_per_second * settings.lease_seconds / 2)
    return max(1, min(settings.batch_size, per_half_lease))


def queue_failure_notice(conn: Connection, mail_id: int, reason: str, now: datetime) -> None:
    """Tell the counsellor of the case that a mail could not be delivered (a notice itself is
    never the subject of another notice, so there is no loop)."""
    mail = conn.execute(
        select(
            OUTBOX.c.case_id,
            OUTBOX.c.about_mail_id,
            OUTBOX.c.template,
            OUTBOX.c.recipient_role,
            OUTBOX.c.recipients,
            OUTBOX.c.subject,
        ).where(OUTBOX.c.id == mail_id)
    ).one()
    if mail.about_mail_id is not None or mail.case_id is None:
        return
    Outbox.queue_one(
        conn,
        now,
        case_id=mail.case_id,
        entity="case",
        entity_id=mail.case_id,
        template="system/mail_failed",
        recipient_role="counsellor",
        context={
            "data": {
                "subject": mail.subject or mail.template,
                "to_role": mail.recipient_role,
                "to": ", ".join(mail.recipients or []),
                "reason": reason,
            },
            "links": [],
        },
        about_mail_id=mail_id,
    )


def _worst(refusals: list[aiosmtplib.SMTPRecipientRefused]) -> aiosmtplib.SMTPResponseException:
    """All recipients were refused: a permanent refusal wins over a temporary one."""
    return max(refusals, key=lambda r: r.code)


async def _reset(smtp: aiosmtplib.SMTP) -> None:
    """After a refusal the SMTP transaction is reset, so the next mail starts clean."""
    with contextlib.suppress(aiosmtplib.SMTPException):
        await smtp.rset()
