"""Application logs without personal data.

The code names records by number (mail 12, case 7, inbound 31, sheet 4), never by a person's
name, address or what they wrote: that is the rule, kept where each line is written. This
module is the safety net behind it: a filter on every handler that masks what can be
recognised cheaply and safely in a line's final text (e-mail addresses, French phone numbers),
such as an SMTP server's "550 <lea@example.org>: unknown user" quoted in an error.
`[logging] personal_data = true` turns it off, for debugging, with a warning at start.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from casework.actors import Actor
from casework.models.base import ActorKind

log = logging.getLogger("casework.privacy")

EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# 06 12 34 56 78, 06.12.34.56.78, 0612345678, +33 6 12 34 56 78, 0033612345678
PHONE = re.compile(r"(?<![\w+])(?:(?:\+|00)33[\s.-]?|0)[1-9](?:[\s.-]?\d{2}){4}(?!\d)")
MASKED_EMAIL = "<email>"
MASKED_PHONE = "<phone>"

WARNING_FRENCH = (
    "Attention : [logging] personal_data = true, le journal contiendra des données "
    "personnelles (noms, adresses électroniques, textes écrits par les personnes). À réserver "
    "au débogage, puis à remettre à false."
)
WARNING = (
    "personal data will be written to the logs ([logging] personal_data = true): for debugging only"
)


def mask(text: str) -> str:
    """`text` with its e-mail addresses and phone numbers replaced by <email> and <phone>."""
    if "@" in text:
        text = EMAIL.sub(MASKED_EMAIL, text)
    return PHONE.sub(MASKED_PHONE, text)


class PersonalDataFilter(logging.Filter):
    """Masks e-mail addresses and phone numbers in a record's message, traceback and stack:
    one regular expression or two per line, after the message is formatted."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


_FORMATTER = logging.Formatter()


def install() -> None:
    """Put the filter on every handler there is now (the root logger's, and those of loggers
    with their own, such as uvicorn's): call it after logging is configured, unless
    `[logging] personal_data` is on (then `warn`)."""
    for handler in _handlers():
        if not any(isinstance(f, PersonalDataFilter) for f in handler.filters):
            handler.addFilter(PersonalDataFilter())


def uninstall() -> None:
    """Take the filter off every handler (for tests: handlers outlive a command run in them)."""
    for handler in _handlers():
        for found in [f for f in handler.filters if isinstance(f, PersonalDataFilter)]:
            handler.removeFilter(found)


def warn() -> None:
    """Said in the log when personal data may reach it (the command line says it in French)."""
    log.warning(WARNING)


def _handlers() -> Iterator[logging.Handler]:
    yield from logging.getLogger().handlers
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            yield from logger.handlers


def logged_actor(actor: Actor) -> str:
    """An actor as a log line names it: staff by login, a partner's contact only as "partner"
    (their id is their e-mail address)."""
    return str(actor) if actor.kind != ActorKind.PARTNER else actor.kind.value
