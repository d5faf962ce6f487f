"""An IMAP reader for an existing mailbox: IDLE while connected, a poll when IDLE is not there.

Nothing lost, nothing twice: messages are read with BODY.PEEK (which leaves them unseen), a
fetch of up to FETCH_AT_ONCE taken in together (`ingest_many` commits), and only then flagged
\\Seen. A crash between the two leaves them unseen: the next pass reads them again, and the
ingestor recognises them by (UIDVALIDITY, UID) and Message-ID, so each is recorded once.

The loop survives anything: a lost connection, a server error, a database that refuses or is
gone. Each failure is logged and recorded in `state` (shown by `/health` and `casework
status`), and the reader connects again after a pause that doubles with each failure in a row,
from `imap_poll_seconds` up to MAX_PAUSE. A message the database refuses no longer stops it:
the ingestor sets that message aside (see `Ingestor.ingest_many`).
"""

from __future__ import annotations

import logging
import ssl
import threading
import time

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from sqlalchemy.exc import DBAPIError

from casework.chunks import chunks
from casework.errors import describe_error
from casework.inbound.ingest import Ingestor
from casework.inbound.parsing import Incoming
from casework.inbound.reader_state import ReaderState
from casework.settings import InboundSettings, SettingsError

log = logging.getLogger("casework.inbound")
FETCH_AT_ONCE = 50
FETCH_BYTES = 50_000_000  # at most this much mail in memory at once (besides one larger message)
SECURITY = ("tls", "starttls", "none")
MAX_PAUSE = 900.0  # seconds between two attempts, at most, after failures in a row
NETWORK_ERRORS = (IMAPClientError, OSError, ssl.SSLError)


class ImapReader:
    def __init__(
        self, ingestor: Ingestor, settings: InboundSettings, state: ReaderState | None = None
    ):
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
        self.state = state or ReaderState("imap")

    # -- life cycle ------------------------------------------------------------------------------

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="imap-reader", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.thread is not None:
            self.thread.join(timeout=30)

    @property
    def last_error(self) -> str | None:
        return self.state.last_error

    @property
    def taken(self) -> int:
        return self.state.taken

    def run(self) -> None:
        """Until stopped: connect, take in what is unseen, then IDLE (or wait) and again."""
        self.state.started()
        failures = 0
        try:
            while not self.stopping.is_set():
                try:
                    with self._connect() as client:
                        self._take_unseen(client)
                        failures = 0
                        idle = b"IDLE" in client.capabilities()
                        while not self.stopping.is_set():
                            if idle:
                                self._idle(client)
                            else:
                                self.stopping.wait(self.settings.imap_poll_seconds)
                            self._take_unseen(client)
                except Exception as error:  # whatever it is, the reader must go on
                    failures += 1
                    pause = min(self.settings.imap_poll_seconds * 2 ** (failures - 1), MAX_PAUSE)
                    pause = max(pause, self.settings.imap_poll_seconds)
                    described = describe_error(error)
                    self.state.failed(described)
                    if isinstance(error, NETWORK_ERRORS):
                        log.warning("imap: %s; trying again in %.0f s", described, pause)
                    else:
                        log.error(
                            "imap: pass failed (%s); trying again in %.0f s",
                            described,
                            pause,
                            exc_info=not isinstance(error, DBAPIError),
                        )
                    self.stopping.wait(pause)
        finally:
            self.state.stopped()
            if not self.stopping.is_set():
                log.critical("imap: the reader stopped unexpectedly")

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
        """Sizes first, so that memory stays bounded whatever is in the box: a fetch takes at
        most FETCH_AT_ONCE messages and FETCH_BYTES of them, and a message over
        `max_message_bytes` (which LMTP refuses at the door) is taken as its headers only, to
        the quarantine, the message itself left in the mailbox."""
        folder = self.settings.imap_folder
        validity = int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])
        uids = sorted(client.search(["UNSEEN"]))
        taken = 0
        for part in chunks(uids, FETCH_AT_ONCE):
            sizes = {
                uid: int(data.get(b"RFC822.SIZE", 0))
                for uid, data in client.fetch(part, ["RFC822.SIZE"]).items()
            }
            limit = self.settings.max_message_bytes
            wanted = [uid for uid in part if uid in sizes]  # not expunged meanwhile
            for group in _by_size([u for u in wanted if sizes[u] <= limit], sizes):
                taken += self._take(client, group, validity, "", None)
            for uid in (u for u in wanted if sizes[u] > limit):
                taken += self._take(client, [uid], validity, "HEADER", sizes[uid])
        if taken:
            log.info("imap: %s message(s) taken in from %s", taken, folder)
        self.state.worked(taken)
        return taken

    def _take(
        self,
        client: IMAPClient,
        uids: list[int],
        validity: int,
        section: str,
        oversize: int | None,
    ) -> int:
        """Fetch these messages (section "") or their headers ("HEADER"), take them in
        together, then flag them."""
        fetched = client.fetch(uids, [f"BODY.PEEK[{section}]"])
        key = f"BODY[{section}]".encode()
        # Expunged meanwhile: not fetched, nothing to take.
        present = [uid for uid in uids if fetched.get(uid, {}).get(key) is not None]
        source = f"imap:{self.settings.imap_folder}"
        batch = [
            Incoming(fetched[uid][key], source, imap=(validity, uid), oversize=oversize)
            for uid in present
        ]
        results = self.ingestor.ingest_many(batch)
        # Committed: now, and only now, the messages are marked read.
        if present:
            client.add_flags(present, [b"\\Seen"])
        return sum(0 if result.duplicate else 1 for result in results)


def _by_size(uids: list[int], sizes: dict[int, int]) -> list[list[int]]:
    """`uids` in groups of at most FETCH_BYTES (a message larger than that alone)."""
    groups: list[list[int]] = []
    total = 0
    for uid in uids:
        if not groups or total + sizes[uid] > FETCH_BYTES:
            groups.append([])
            total = 0
        groups[-1].append(uid)
        total += sizes[uid]
    return groups
