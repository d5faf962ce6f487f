"""`casework serve` as the chaos run starts it: the real command, on the run's shared clock.

    CHAOS_CLOCK='{...}' python -m tests.chaos.serve --database URL serve --no-web --fast-clock 1

The command builds its clock with `FastClock(start, speed)` when given `--fast-clock`; this
entry point only hands it the run's `SeasonClock` instead (see clock.py for why). Settings,
schema check, the service, its signals and its heartbeat are the command's own.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import casework.cli.service as serve_command
from casework.cli import main
from tests.chaos.clock import SeasonClock


def run(args: list[str]) -> None:
    clock = SeasonClock.from_env()

    def season_clock(_start: datetime, _speed: float) -> Any:
        return clock

    serve_command.FastClock = season_clock  # type: ignore[misc,assignment]
    main(args=args, prog_name="casework")


if __name__ == "__main__":
    run(sys.argv[1:])
