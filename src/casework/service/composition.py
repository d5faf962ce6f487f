"""The parts of a running service, built from the settings: each part is given what it uses.

Guarantees: a part the settings do not enable is not built (a sweep-only process never imports
the SMTP client); a service that sends mail or reads replies refuses to start without keys to
sign and check links (`SettingsError`, in French) rather than fail at its first mail; the
readers share one ingestor, and the sender's signer when there is one; readers that believe
`From:` (`[inbound] sender_policy = "off"`) are said in a warning at start.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from casework.app import App
from casework.clock import Clock
from casework.inbound.reader_state import ReaderState

log = logging.getLogger("casework.service")


@dataclass
class Parts:
    mail: Any = None  # MailSender, when mail is enabled
    digests: Any = None  # DigestMaker, with it
    lmtp: Any = None  # LmtpReceiver
    imap: Any = None  # ImapReader
    readers: dict[str, ReaderState] = field(default_factory=dict)


def compose(app: App, wall: Clock) -> Parts:
    """The parts `app.settings` enables; `wall` is real time, for the readers' state."""
    parts = Parts()
    if app.settings.mail.enabled:
        # Imported here: the sender needs aiosmtplib, which a sweep-only process does not.
        from casework.notify.digest import DigestMaker
        from casework.notify.sender import MailSender

        parts.mail = MailSender(app)  # refuses to start without keys to sign links
        parts.digests = DigestMaker(app)
    # Replies come in over LMTP (a mail server delivers to us) and/or IMAP (we read a box).
    inbound = app.settings.inbound
    if inbound.lmtp_enabled or inbound.imap_enabled:
        from casework.inbound.imap import ImapReader
        from casework.inbound.ingest import Ingestor
        from casework.inbound.lmtp import LmtpReceiver

        ingestor = Ingestor(app, parts.mail.signer if parts.mail is not None else None)
        # Replies are matched by signed tokens: refuse to start without keys.
        _ = ingestor.signer
        if inbound.sender_policy == "off":
            log.warning(
                "inbound: sender_policy is off: any mail's From: is believed, as in development; "
                "never so in production"
            )
        # Failing for a few polls in a row is a problem a supervisor should see.
        failing = timedelta(seconds=max(300.0, 5 * inbound.imap_poll_seconds))
        if inbound.lmtp_enabled:
            parts.readers["lmtp"] = ReaderState("lmtp", wall, failing)
            parts.lmtp = LmtpReceiver(ingestor, inbound, parts.readers["lmtp"])
        if inbound.imap_enabled:
            parts.readers["imap"] = ReaderState("imap", wall, failing)
            parts.imap = ImapReader(ingestor, inbound, parts.readers["imap"])
    return parts
