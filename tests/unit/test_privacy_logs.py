"""The log filter's masking: e-mail addresses and French phone numbers, in the formatted
message, its traceback and its stack; nothing else touched."""

from __future__ import annotations

import logging
import sys

from casework.actors import Actor
from casework.privacy.logs import PersonalDataFilter, logged_actor, mask


def test_addresses_and_phone_numbers_are_masked_and_nothing_else() -> None:
    assert mask("550 5.1.1 <lea.martin+cfa@example.org>: unknown") == "550 5.1.1 <<email>>: unknown"
    for phone in ("06 12 34 56 78", "06.12.34.56.78", "0612345678", "+33 6 12 34 56 78"):
        assert mask(f"tél. {phone}.") == "tél. <phone>."
    kept = "mail 12: 3 claimed, sweep at 01/09/2026 10:00, timer 1234567890, 2026-09-01"
    assert mask(kept) == kept


def test_the_filter_masks_the_final_message_and_the_traceback() -> None:
    try:
        raise ValueError("refused for sophie@adlj53.example")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "casework.mail", logging.WARNING, __file__, 1, "mail %s to %s", (12, "a@b.example"), None
    )
    record.exc_info = exc_info
    assert PersonalDataFilter().filter(record) is True
    formatted = logging.Formatter().format(record)
    assert formatted.startswith("mail 12 to <email>")
    assert "sophie@adlj53.example" not in formatted
    assert "refused for <email>" in formatted


def test_a_partners_contact_is_named_by_kind_in_the_log() -> None:
    assert logged_actor(Actor.partner("sophie@adlj53.example")) == "partner"
    assert logged_actor(Actor.person("claire")) == "person:claire"
