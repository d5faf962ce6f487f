"""What a liaison sheet's mails say about the charter's deadlines.

"N working days" ends with the Nth working day after the day the sheet was sent (or
acknowledged); the reminder comes the next working morning (`workflows/liaison.yaml`: the
reminder is `plus: 1`). So the day a mail states is the working day before the reminder set
when the sheet entered the state the mail is about: the timer holds the partner's own count,
holidays included, and a mail rendered late still states the deadline it was for.
"""

from __future__ import annotations

from datetime import date, datetime

from casework.states.definition import WorkflowDef
from casework.timers.calendar import Calendar

# The state a partner reports back from (`requires` in notify/render.py checks the name).
REPORTING = "acknowledged"


def last_day(calendar: Calendar, reminder_due: datetime | None) -> date | None:
    """The last day of the deadline whose reminder is due at `reminder_due`."""
    if reminder_due is None:
        return None
    return calendar.working_day_before(calendar.local_date(reminder_due))


def feedback_days(definition: WorkflowDef, own: int | None) -> int:
    """Working days to report back after acknowledging: the partner's own, else the
    workflow's (its reminder's number less the days it comes after the deadline)."""
    if own is not None:
        return own
    reminder = definition.trigger_tagged("reminder")
    (remind,) = (t for t in definition.states[REPORTING].timers if t.trigger == reminder)
    return remind.delay.amount - remind.delay.plus


def in_working_days(count: int) -> str:
    """ "1 jour ouvré", "8 jours ouvrés"."""
    return f"{count} jour ouvré" if count == 1 else f"{count} jours ouvrés"
