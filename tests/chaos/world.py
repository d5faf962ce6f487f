"""What the chaos run plays on: a demo cohort, the people acting on it, a relay that counts.

- The cohort is the demo's (`casework.demo`): the two organisations' files generated, imported,
  cross-matched and assigned by birth-day parity, the test group asked for consent, the control
  group tracked; partners with a contact and a manager; one counsellor.
- The people are the demo's too (`DemoPeople`), in a thread of the driver, never killed: the
  counsellor records consents and monthly contacts and refers needs to partners with liaison
  sheets, partners acknowledge and report back (or do not: reminders and escalations), some
  contracts break. The timers do the rest, in the service processes that get killed.
- The relay is the demo's mail catcher, in the driver, so what it received survives the kills;
  it keeps a digest of each message rather than the message (a season is thousands of mails).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import Counter, defaultdict

from casework.app import App
from casework.demo import seed_cohort
from casework.demo.mailcatcher import Caught, MailCatcher
from casework.demo.people import DemoPeople
from tests.chaos.clock import SeasonClock

log = logging.getLogger("chaos")
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)


class Ledger(MailCatcher):
    """An SMTP server that records, per Message-ID, the SHA-256 of every copy received and its
    envelope recipients."""

    def __init__(self) -> None:
        super().__init__(keep=1)
        self.copies: dict[str, list[str]] = defaultdict(list)
        self.recipients: dict[str, list[str]] = {}
        self.unnamed = 0  # messages without a Message-ID (there should be none)

    def receive(self, caught: Caught) -> None:
        head = caught.raw.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(head)
        with self.lock:
            if found is None:
                self.unnamed += 1
                return
            message_id = found.group(1).decode()
            self.copies[message_id].append(hashlib.sha256(caught.raw).hexdigest())
            self.recipients[message_id] = caught.recipients

    def received(self) -> int:
        with self.lock:
            return sum(len(c) for c in self.copies.values())


def prepare_cohort(app: App, n_cases: int, cohort: int, seed: int) -> dict[str, int]:
    """The cohort on `app`'s clock (the season's start): returns the cases by group."""
    seed_cohort(app, n_cases, cohort, seed)
    people = DemoPeople(app, seed)
    people.act(
        app.clock.now()
    )  # the first call only assigns: test, consent asked; control, tracked
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
