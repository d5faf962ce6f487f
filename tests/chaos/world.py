"""What the chaos run plays on: a demo cohort, the people acting on it, a relay that counts.

- The cohort is the demo's (`casework.demo`): the two organisations' files generated, imported,
  cross-matched and assigned by birth-day parity, the test group asked for consent, the control
  group tracked; partners with a contact and a manager; one counsellor.
- The people are the demo's too (`DemoPeople`), in a thread of the driver, never killed: the
  counsellor records consents and monthly contacts and refers needs to partners with liaison
  sheets, partners acknowledge and report back (or do not: reminders and escalations), some
  contracts break. The timers do the rest, in the service processes that get killed.
- The relay is an SMTP server in the driver, so what it received survives the kills; it keeps
  a digest of each message rather than the message (a season is thousands of mails), and
  which process sent it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller

from casework.app import App
from casework.demo import seed_cohort
from casework.demo.mailcatcher import free_port
from casework.demo.people import DemoPeople
from tests.chaos.clock import SeasonClock

log = logging.getLogger("chaos")
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Copy:
    sha256: str
    recipients: tuple[str, ...]
    sender: int | None  # the pid of the service process that sent it (None: not found)


class Ledger:
    """An SMTP relay (aiosmtpd) that records, for each Message-ID, every copy received: its
    SHA-256, its envelope recipients, and which service process sent it (the process holding
    the other end of the connection, found in /proc when the connection says EHLO), so that a
    duplicate can be traced to the kill of its first sender."""

    def __init__(self, senders: Callable[[], list[int]]):
        self.senders = senders  # the pids of the service processes now running
        self.copies: dict[str, list[Copy]] = defaultdict(list)
        self.unnamed = 0  # messages without a Message-ID (there should be none)
        self.lock = threading.Lock()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, ready_timeout=30)

    def start(self) -> Ledger:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    async def handle_EHLO(
        self, _server: Any, session: Any, _envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        session.sender_pid = _owner(session.peer[1], self.senders())
        return responses

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        found = _MESSAGE_ID.search(raw.split(b"\r\n\r\n", 1)[0])
        with self.lock:
            if found is None:
                self.unnamed += 1
            else:
                copy = Copy(
                    hashlib.sha256(raw).hexdigest(),
                    tuple(envelope.rcpt_tos),
                    getattr(session, "sender_pid", None),
                )
                self.copies[found.group(1).decode()].append(copy)
        return "250 Message accepted for delivery"


def _owner(port: int, pids: list[int]) -> int | None:
    """Which of `pids` has the loopback TCP socket whose local port is `port`."""
    inode = None
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port:
                inode = fields[9]
                break
    if inode is None:
        return None
    for pid in pids:
        with contextlib.suppress(OSError):  # a process that just died
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == f"socket:[{inode}]":
                        return pid
    return None


def prepare_cohort(app: App, n_cases: int, cohort: int, seed: int) -> dict[str, int]:
    """The cohort on `app`'s clock (the season's start): returns the cases by group."""
    seed_cohort(app, n_cases, cohort, seed)
    people = DemoPeople(app, seed)
    # The first call only assigns: the test group asked for consent, the control group tracked.
    people.act(app.clock.now())
    return {
        "test": people.done["ask_consent"],
        "control": people.done["track_outcomes"],
    }


class People(threading.Thread):
    """The demo's people acting every `every` seconds of real time until the season ends."""

    def __init__(self, app: App, clock: SeasonClock, seed: int, every: float = 0.2):
        super().__init__(name="chaos-people", daemon=True)
        self.app, self.clock, self.every = app, clock, every
        self.people = DemoPeople(app, seed)
        self.people.act(clock.now())  # the start: nothing has happened yet
        self.actions: Counter[str] = Counter()
        self.stopping = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stopping.is_set():
                now, end = self.clock.now(), self.clock.end
                if end is not None and now >= end:
                    return
                self.people.act(now)
                self.actions.update(self.people.done)
                self.stopping.wait(self.every)
        except BaseException as error:  # reported by the driver: the people must not fail
            log.exception("the people's thread failed")
            self.error = error

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=60)
