"""Our mail server's verdict read from Authentication-Results headers as real servers write them
(Gmail, Rspamd, OpenDKIM with OpenDMARC, Microsoft 365), and only from the topmost ones bearing
our authserv-id."""

from __future__ import annotations

import email
import email.policy

import pytest

from casework.inbound.authentication import SenderCheck, server_verdict, without_links

SENDER = "accueil@adlj53.example"


def message(*headers: str, sender: str = SENDER) -> email.message.Message:
    raw = "".join(f"{h}\r\n" for h in headers) + f"From: Sophie <{sender}>\r\nSubject: x\r\n\r\nok"
    return email.message_from_string(raw, policy=email.policy.compat32)


GMAIL = (
    "Authentication-Results: mx.google.com;\r\n"
    "       dkim=pass header.i=@adlj53.example header.s=20230601 header.b=Kf0xCk3s;\r\n"
    "       spf=pass (google.com: domain of accueil@adlj53.example designates 192.0.2.7 as "
    "permitted sender) smtp.mailfrom=accueil@adlj53.example;\r\n"
    "       dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=adlj53.example"
)
RSPAMD = (
    "Authentication-Results: mx.plateforme.example;\r\n"
    "\tdkim=pass header.d=adlj53.example header.s=dkim header.b=ZmFrZQ==;\r\n"
    '\tspf=pass (mx.plateforme.example: domain of "bounces@news.adlj53.example" designates '
    "192.0.2.7 as permitted sender) smtp.mailfrom=bounces@news.adlj53.example;\r\n"
    "\tdmarc=pass (policy=reject) header.from=adlj53.example"
)
OPENDMARC = (
    "Authentication-Results: mx.plateforme.example; dmarc=pass (p=none dis=none) "
    "header.from=adlj53.example"
)
OPENDKIM = (
    "Authentication-Results: mx.plateforme.example;\r\n"
    "\tdkim=pass (2048-bit key; unprotected) header.d=adlj53.example header.i=@adlj53.example "
    "header.a=rsa-sha256 header.s=mail header.b=AbCdEfGh"
)
MICROSOFT = (
    "Authentication-Results: spf=pass (sender IP is 192.0.2.7) "
    "smtp.mailfrom=adlj53.example; dkim=pass (signature was verified) "
    "header.d=adlj53.example;dmarc=pass action=none header.from=adlj53.example;compauth=pass "
    "reason=100"
)


@pytest.mark.parametrize(
    ("headers", "ours", "verdict"),
    [
        ([GMAIL], "mx.google.com", "DMARC"),  # an IMAP box at a provider: its id in settings
        ([RSPAMD], "mx.plateforme.example", "DMARC"),
        ([OPENDMARC, OPENDKIM], "mx.plateforme.example", "DMARC"),  # one header per milter
        ([OPENDKIM], "mx.plateforme.example", "DKIM"),
        ([GMAIL], "mx.plateforme.example", None),  # another server's verdict
        ([MICROSOFT], "mx.plateforme.example", None),  # no authserv-id at all: nobody's
        ([RSPAMD], "", None),  # no id set: no header is trusted
    ],
)
def test_real_headers(headers: list[str], ours: str, verdict: str | None) -> None:
    assert server_verdict(message(*headers), ours, SENDER) == verdict


def test_a_pass_must_be_for_the_from_domain() -> None:
    ours = "mx.plateforme.example"
    other = "someone@ailleurs.example"
    assert server_verdict(message(RSPAMD, sender=other), ours, other) is None
    # SPF for the envelope alone, aligned (a subdomain of the From: domain) or not.
    spf = "Authentication-Results: mx.plateforme.example; spf=pass smtp.mailfrom={}"
    aligned = message(spf.format("bounces@news.adlj53.example"))
    assert server_verdict(aligned, ours, SENDER) == "SPF"
    sibling = message(spf.format("x@adlj53.example.evil.example"))
    assert server_verdict(sibling, ours, SENDER) is None
    failed = message(
        "Authentication-Results: mx.plateforme.example; dmarc=fail header.from=adlj53.example"
    )
    assert server_verdict(failed, ours, SENDER) is None


def test_only_the_topmost_run_of_our_headers_counts() -> None:
    ours = "mx.plateforme.example"
    fail = (
        "Authentication-Results: mx.plateforme.example; dkim=none; "
        "dmarc=fail header.from=adlj53.example"
    )
    # Ours on top says fail; the sender's own copy of our id, further down, says pass.
    assert server_verdict(message(fail, "Received: from x by y", OPENDMARC), ours, SENDER) is None
    # Interrupted by another server's verdict, ours is no longer one run either.
    assert server_verdict(message(fail, GMAIL, OPENDMARC), ours, SENDER) is None
    # Another filter's verdict written above ours (after us) does not hide ours.
    assert server_verdict(message(GMAIL, OPENDMARC, OPENDKIM), ours, SENDER) == "DMARC"
    # Unparseable: counts for nothing, raises nothing.
    junk = message("Authentication-Results: mx.plateforme.example; dmarc=pass header.from=")
    assert server_verdict(junk, ours, SENDER) is None


def test_several_from_addresses_are_never_proven() -> None:
    two = email.message_from_string(
        f"{OPENDMARC}\r\nFrom: <{SENDER}>, <x@y.example>\r\n\r\nok", policy=email.policy.compat32
    )
    assert server_verdict(two, "mx.plateforme.example", SENDER) is None
    check = SenderCheck("require", "mx.plateforme.example")
    assert not check.reply(two, SENDER, SENDER).counts


def test_a_policy_is_one_of_three() -> None:
    with pytest.raises(ValueError, match="sender policy"):
        SenderCheck("maybe", "")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("voir https://evil.example/a?b=c ici", "voir [lien retiré] ici"),
        ("www.evil.example/login", "[lien retiré]"),
        ("evil.example/login.php, merci", "[lien retiré] merci"),
        ("écrire à vie.scolaire@cfa.example le 3.11", "écrire à vie.scolaire@cfa.example le 3.11"),
    ],
)
def test_links_are_removed_from_what_an_unproven_sender_wrote(text: str, shown: str) -> None:
    assert without_links(text) == shown
