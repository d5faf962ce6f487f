"""The small parts of outgoing mail: header values, dates, reply tokens, signing keys, backoff,
the rate limiter."""

from __future__ import annotations

import asyncio
import email
import email.policy
from datetime import UTC, date, datetime, timedelta

import pytest

from casework.notify.links import LinkSigner, recipient_tag
from casework.notify.mime import address, compose, encode_header, one_line
from casework.notify.render import paris_date
from casework.notify.sender import RateLimiter, batch_limit
from casework.retry import Backoff
from casework.settings import MailSettings, SettingsError

KEYS = ("old", "new", "newer", "other")


def test_one_line_drops_every_control_character() -> None:
    assert one_line("Martin\r\nBcc: x@evil.example") == "Martin Bcc: x@evil.example"
    assert one_line("  a\tb\x00c\x7f  ") == "a b c"


def test_paris_dates() -> None:
    assert paris_date(date(2026, 3, 9)) == "09/03/2026"
    assert paris_date("2026-03-09") == "09/03/2026"
    # 23:30 UTC on 31 December is already 1 January in Paris.
    assert paris_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "01/01/2027"
    assert paris_date(None) == "—"


def test_reply_tokens_are_short_case_insensitive_and_signed() -> None:
    old, new, newer, other = (f"{name}-key-0123456789abcdefghijklmnop" for name in KEYS)
    signer = LinkSigner([old, new], timedelta(days=30))
    token = signer.reply_token(123456)
    assert len(f"reply+{token}") <= 64  # the limit of a local part
    assert token == token.lower()
    assert signer.check_reply_token(token) == 123456
    assert signer.check_reply_token(token.upper()) == 123456  # a relay folded the case
    assert signer.check_reply_token("123457" + token[6:]) is None  # another mail's number
    assert signer.check_reply_token("garbage") is None
    # Signed with the newest key; still read after a rotation adds a newer one.
    assert LinkSigner([new, newer], timedelta(days=30)).check_reply_token(token) == 123456
    assert LinkSigner([other], timedelta(days=30)).check_reply_token(token) is None


def test_links_need_a_key() -> None:
    with pytest.raises(SettingsError, match="link_keys"):
        LinkSigner.from_settings(MailSettings(link_keys=" , "))
    signer = LinkSigner.from_settings(MailSettings(link_keys=f"{'a' * 32}, {'b' * 40}"))
    assert signer.keys == [b"a" * 32, b"b" * 40]


def test_a_key_shorter_than_32_bytes_is_refused_without_being_shown() -> None:
    for keys in (["s3cret!"], ["a" * 32, "b" * 31], ["é" * 15]):  # 15 × "é" is 30 bytes
        with pytest.raises(SettingsError) as refused:
            LinkSigner(keys, timedelta(days=30))
        message = refused.value.french()
        assert "mail.link_keys" in message
        assert f"la clé n° {len(keys)} est trop courte" in message
        assert "il en faut au moins 32" in message
        assert "secrets.token_urlsafe(32)" in message
        assert keys[-1] not in message
    assert LinkSigner(["é" * 16], timedelta(days=30)).keys == ["é".encode() * 16]


def test_the_recipient_is_bound_without_being_readable() -> None:
    tag = recipient_tag("Claire.Martin@ML.example ")
    assert tag == recipient_tag("claire.martin@ml.example")
    assert "claire" not in tag
    assert len(tag) == 12


def test_backoff_doubles_with_jitter_up_to_a_ceiling() -> None:
    longest = Backoff(60, 3600, uniform=lambda low, high: high)
    assert [longest.delay(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert longest.delay(20).total_seconds() == 3600
    assert Backoff(60, 3600, uniform=lambda low, high: low).delay(1).total_seconds() == 30


def test_the_rate_limiter_spaces_mails_evenly() -> None:
    now = [100.0]
    slept: list[float] = []

    def monotonic() -> float:
        return now[0]

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds

    limiter = RateLimiter(4, monotonic, sleep)  # four a second: one every 0.25 s

    async def five() -> None:
        for _ in range(5):
            await limiter.wait()

    asyncio.run(five())
    assert slept == [0.25, 0.25, 0.25, 0.25]
    unlimited = RateLimiter(0, monotonic, sleep)
    slept.clear()
    asyncio.run(unlimited.wait())
    assert slept == []


def test_a_composed_message_reads_back_exactly() -> None:
    text = "Ligne = égale\n.point en tête\nFrom le début\n" + "é" * 300 + "\nfin  \n"
    html = "<p>Café &amp; crème</p>\n"
    subject = "Fiche de liaison n° 12 : " + "très long sujet " * 12
    raw = compose(
        [
            ("From", address("Plateforme apprentissage", "p@plateforme.example")),
            ("To", address("Zoé Ñúñez-Éluard", "zoe@partner.example")),
            ("Subject", encode_header(subject)),
            ("Message-ID", "<1.abc@plateforme.example>"),
        ],
        text,
        html,
    )
    assert raw.isascii()
    assert all(len(line) <= 998 for line in raw.split("\r\n"))
    assert "\n" not in raw.replace("\r\n", "")  # CRLF only
    message = email.message_from_bytes(raw.encode(), policy=email.policy.default)
    assert message["Subject"] == one_line(subject)
    assert message["To"].addresses[0].display_name == "Zoé Ñúñez-Éluard"
    assert message["To"].addresses[0].addr_spec == "zoe@partner.example"
    assert message.get_content_type() == "multipart/alternative"
    # (the parser hands text back with the CRLF line ends of the wire)
    plain = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert plain.replace("\r\n", "\n") == text
    rich = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert rich.replace("\r\n", "\n") == html


def test_a_round_never_outlives_its_lease_under_a_rate_limit() -> None:
    assert batch_limit(MailSettings(batch_size=200, lease_seconds=300, rate_per_second=0)) == 200
    # 0.5 mail/s for half of 300 s
    assert batch_limit(MailSettings(batch_size=200, lease_seconds=300, rate_per_second=0.5)) == 75
    assert batch_limit(MailSettings(batch_size=200, lease_seconds=1, rate_per_second=0.1)) == 1
