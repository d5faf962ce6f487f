"""An IMAP reader for an existing mailbox: IDLE while connected, a poll when IDLE is not there.

Nothing lost, nothing twice: messages are read with BODY.PEEK (which leaves them unseen), a
fetch of up to FETCH_AT_ONCE taken in together (`ingest_many` commits), and only then flagged
\\Seen. A crash between the two leaves them unseen: the next pass reads them again, and the
ingestor recognises them by (UIDVALIDITY, UID) and Message-ID, so each is recorded once. A lost
connection is logged and retried after `imap_poll_seconds`.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from casework.inbound.ingest import Incoming, Ingestor
from casework.settings import InboundSettings, SettingsError

log = logging.getLogger("casework.inbound")
FETCH_AT_ONCE = 50
SECURITY = ("tls", "starttls", "none")


class ImapReader:
    def __init__(self, ingestor: Ingestor, settings: InboundSettings):
        if settings.imap_security not in SECURITY:
            raise SettingsError(
                "configuration",
                "inbound.imap_security",
                f"{settings.imap_security!r} : attendu {', '.join(SECURITY)}",
            )
        self.ingestor = ingestor
        self.settings = settings
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.last_error: str | None = None
        self.taken = 0  # messages taken in since start

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="imap-reader", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=30)

    def run(self) -> None:
        """Until stopped: connect, take in what is unseen, then IDLE (or wait) and again."""
        while not self.stopping.is_set():
            try:
                with self._connect() as client:
                    self.last_error = None
                    self._take_unseen(client)
                    idle = b"IDLE" in client.capabilities()
                    while not self.stopping.is_set():
                        if idle:
                            self._idle(client)
                        else:
                            self.stopping.wait(self.settings.imap_poll_seconds)
                        self._take_unseen(client)
            except (IMAPClientError, OSError, ssl.SSLError) as error:
                self.last_error = f"{type(error).__name__}: {error}"
                log.warning(
                    "imap: %s; trying again in %.0f s",
                    self.last_error,
                    self.settings.imap_poll_seconds,
                )
                self.stopping.wait(self.settings.imap_poll_seconds)

    def poll_once(self) -> int:
        """One pass, for the CLI and the tests: take in what is unseen, then log out."""
        with self._connect() as client:
            return self._take_unseen(client)

    # -- the parts ---------------------------------------------------------------------------------

    def _connect(self) -> IMAPClient:
        s = self.settings
        client = IMAPClient(s.imap_host, port=s.imap_port, ssl=s.imap_security == "tls", timeout=30)
        if s.imap_security == "starttls":
            client.starttls(ssl.create_default_context())
        client.login(s.imap_user, s.imap_password)
        client.select_folder(s.imap_folder)
        return client

    def _idle(self, client: IMAPClient) -> None:
        """IDLE until the server says something, renewing it every `imap_idle_seconds`, and
        looking at `stopping` every second."""
        client.idle()
        try:
            started = time.monotonic()
            while not self.stopping.is_set():
                woke = time.monotonic()
                if client.idle_check(timeout=1):
                    return
                # Nothing read, yet woken early: the socket was readable without a whole line,
                # which is how imapclient reports a closed connection (it swallows the EOF).
                # Ending the IDLE finds out: DONE on a dead connection raises, and the caller
                # reconnects; on a live one it only costs a round trip.
                if time.monotonic() - woke < 0.5:
                    return
                if time.monotonic() - started > self.settings.imap_idle_seconds:
                    return
        finally:
            client.idle_done()

    def _take_unseen(self, client: IMAPClient) -> int:
        folder = self.settings.imap_folder
        validity = int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])
        uids = sorted(client.search(["UNSEEN"]))
        taken = 0
        for start in range(0, len(uids), FETCH_AT_ONCE):
            part = uids[start : start + FETCH_AT_ONCE]
            fetched = client.fetch(part, ["BODY.PEEK[]"])
            # Expunged meanwhile: not fetched, nothing to take.
            present = [uid for uid in part if fetched.get(uid, {}).get(b"BODY[]") is not None]
            batch = [
                Incoming(fetched[uid][b"BODY[]"], f"imap:{folder}", imap=(validity, uid))
                for uid in present
            ]
            results = self.ingestor.ingest_many(batch)
            # Committed: now, and only now, the messages are marked read.
            if present:
                client.add_flags(present, [b"\\Seen"])
            taken += sum(0 if result.duplicate else 1 for result in results)
        if taken:
            log.info("imap: %s message(s) taken in from %s", taken, folder)
        self.taken += taken
        return taken
