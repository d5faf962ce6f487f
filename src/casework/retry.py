"""When to try again after a failure: one exponential backoff with jitter, for timers whose
transition failed and for mail the relay did not take.

Guarantees: the n-th attempt waits between half and all of `base × 2^(n-1)`, that delay capped
at `ceiling` — never longer than `ceiling` (the setting is a real maximum), never shorter than
half the undisturbed delay. The jitter spreads what failed together (a relay down for a minute,
a handler broken over a whole batch) so that it does not all come back at the same instant. The
random source is injectable (`uniform`): tests give one that returns a bound.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

# The jitter's range, as a share of the undisturbed delay.
LOW, HIGH = 0.5, 1.0


@dataclass(frozen=True)
class Backoff:
    base: float  # seconds before the first retry, undisturbed
    ceiling: float  # seconds, at most
    uniform: Callable[[float, float], float] = random.uniform

    def delay(self, attempts: int) -> timedelta:
        """How long to wait after the `attempts`-th failed attempt (1 for the first)."""
        undisturbed = min(self.ceiling, self.base * 2 ** max(0, attempts - 1))
        return timedelta(seconds=undisturbed * self.uniform(LOW, HIGH))
