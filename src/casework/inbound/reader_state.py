"""What a mail reader (IMAP, LMTP) is doing, for `/health` and `casework status`.

A reader whose thread died, or that has failed for a while, used to look healthy: `/health`
answered 200 while mail piled up unread. Each reader now keeps this small record; the service
puts it in `/health` and in its heartbeat row (read by `casework status` from another process).
Times are real (wall-clock) times, even under the demo's fast clock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from casework.clock import Clock, SystemClock


@dataclass
class ReaderState:
    name: str  # "imap" or "lmtp"
    clock: Clock = field(default_factory=SystemClock)
    # A reader failing without a break for this long is unhealthy (a passing error is not).
    unhealthy_after: timedelta = timedelta(minutes=5)
    running: bool = False
    started_at: datetime | None = None
    last_fetch_at: datetime | None = None  # the last pass that worked (IMAP) or message (LMTP)
    taken: int = 0  # messages taken in since start
    last_error: str | None = None
    last_error_at: datetime | None = None
    failing_since: datetime | None = None  # since when every attempt failed; None when working
    stopped_since: datetime | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def started(self) -> None:
        with self._lock:
            self.running, self.started_at, self.stopped_since = True, self.clock.now(), None

    def worked(self, taken: int = 0) -> None:
        with self._lock:
            self.last_fetch_at = self.clock.now()
            self.taken += taken
            self.failing_since = None

    def failed(self, error: str) -> None:
        with self._lock:
            now = self.clock.now()
            self.last_error, self.last_error_at = error, now
            if self.failing_since is None:
                self.failing_since = now

    def stopped(self) -> None:
        with self._lock:
            self.running, self.stopped_since = False, self.clock.now()

    def healthy(self) -> bool:
        """Running, and not failing for longer than `unhealthy_after`."""
        with self._lock:
            if not self.running:
                return False
            return (
                self.failing_since is None
                or self.clock.now() - self.failing_since < self.unhealthy_after
            )

    def summary(self) -> dict[str, Any]:
        """JSON-ready, for `/health` and the heartbeat row."""
        healthy = self.healthy()
        with self._lock:
            return {
                "running": self.running,
                "healthy": healthy,
                "started_at": _iso(self.started_at),
                "last_fetch_at": _iso(self.last_fetch_at),
                "taken": self.taken,
                "last_error": self.last_error,
                "last_error_at": _iso(self.last_error_at),
                "failing_since": _iso(self.failing_since),
                "stopped_since": _iso(self.stopped_since),
            }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
