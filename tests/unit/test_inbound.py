"""Reading inbound mail: answers, automatic replies, delivery reports; quotes and signatures."""

from __future__ import annotations

import email
import email.policy
from email.message import Message

import pytest

from casework.inbound.classify import Kind, classify
from casework.inbound.quotes import strip_quotes


def parse(raw: str) -> Message:
    return email.message_from_bytes(raw.encode("utf-8"), policy=email.policy.default)


def plain(headers: str, body: str = "Bonjour,\nBien reçu.\n") -> Message:
    return parse(headers.strip() + "\nContent-Type: text/plain; charset=utf-8\n\n" + body)


# -- quotes and signatures ------------------------------------------------------------------------

OUTLOOK_FR = """Bonjour,

Nous avons reçu Léa hier, un logement est proposé au foyer à partir du 3 novembre.

Cordialement,
Sophie Martin

De : Plateforme apprentissage <plateforme@apprentissage.example>
Envoyé : lundi 12 octobre 2026 10:02
À : accueil@adlj53.example
Objet : Fiche de liaison n° 12 : logement pour Léa MARTIN

Bonjour,
Dans le cadre de la plateforme…
"""

GMAIL_FR = """Rendez-vous pris le 14.

Le lun. 12 oct. 2026 à 10:02, Plateforme apprentissage <plateforme@apprentissage.example> a écrit :
> Bonjour,
> Dans le cadre de la plateforme…
"""

GMAIL_FR_FOLDED = """Rendez-vous pris le 14.

Le lun. 12 oct. 2026 à 10:02, Plateforme apprentissage <
plateforme@apprentissage.example> a écrit :
> Bonjour,
"""

GMAIL_EN = """Seen today, all good.

On Mon, Oct 12, 2026 at 10:02 AM Plateforme <plateforme@apprentissage.example> wrote:
> Hello
"""

APPLE_FR = """C'est noté, merci.

Envoyé de mon iPhone

> Le 12 oct. 2026 à 10:02, Plateforme apprentissage <plateforme@apprentissage.example> a écrit :
>
> Bonjour,
"""

# The signature delimiter is "-- " with its trailing space (written as \x20 here).
THUNDERBIRD_FR = """Pris en charge par Mme Durand.
--\x20
Paul Bernard
Directeur, ADLJ 53
Le 12/10/2026 à 10:02, Plateforme apprentissage a écrit :
> Bonjour,
"""

OUTLOOK_EN_SEPARATOR = """Acknowledged.

-----Original Message-----
From: Plateforme
Sent: Monday
"""

INLINE_QUOTES = """> Merci d'accuser réception
Reçu, merci.
> et de faire un retour
Retour la semaine prochaine.
"""


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            OUTLOOK_FR,
            "Bonjour,\n\nNous avons reçu Léa hier, un logement est proposé au foyer à partir du "
            "3 novembre.\n\nCordialement,\nSophie Martin",
        ),
        (GMAIL_FR, "Rendez-vous pris le 14."),
        (GMAIL_FR_FOLDED, "Rendez-vous pris le 14."),
        (GMAIL_EN, "Seen today, all good."),
        (APPLE_FR, "C'est noté, merci."),
        (THUNDERBIRD_FR, "Pris en charge par Mme Durand."),
        (OUTLOOK_EN_SEPARATOR, "Acknowledged."),
        (INLINE_QUOTES, "Reçu, merci.\nRetour la semaine prochaine."),
        ("\r\n\r\nJuste une ligne.\r\n\r\n", "Juste une ligne."),
        ("De : ma part, c'est d'accord.\nÀ bientôt", "De : ma part, c'est d'accord.\nÀ bientôt"),
        ("", ""),
    ],
    ids=[
        "outlook-fr",
        "gmail-fr",
        "gmail-fr-folded",
        "gmail-en",
        "apple-fr",
        "thunderbird-fr",
        "outlook-en",
        "inline",
        "crlf",
        "de-in-text",
        "empty",
    ],
)
def test_quotes_and_signatures_are_stripped(body: str, expected: str) -> None:
    assert strip_quotes(body) == expected


# -- classification -------------------------------------------------------------------------------


def test_a_persons_answer() -> None:
    answer = plain(
        """
From: Sophie Martin <accueil@adlj53.example>
To: reply+12-abc@apprentissage.example
Subject: RE: Fiche de liaison n° 12 : logement pour Léa MARTIN
Auto-Submitted: no
"""
    )
    assert classify(answer).kind == Kind.ANSWER


@pytest.mark.parametrize(
    "headers",
    [
        "Auto-Submitted: auto-replied",  # RFC 3834
        "Auto-Submitted: auto-generated",
        "X-Autoreply: yes",
        "Precedence: bulk",
        "Precedence: auto_reply",
        "X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent",
        "List-Id: <annonces.cfa.example>",
        "Subject: Réponse automatique : Fiche de liaison n° 12",
        "Subject: Absence du bureau jusqu'au 2 novembre",
        "Subject: Automatic reply: Fiche de liaison n° 12",
        "Subject: Out of Office: back on Monday",
    ],
)
def test_automatic_replies_never_count_as_answers(headers: str) -> None:
    subject = "" if headers.startswith("Subject") else "Subject: RE: Fiche de liaison n° 12\n"
    message = plain(f"From: accueil@adlj53.example\n{subject}{headers}\n")
    found = classify(message)
    assert found.kind == Kind.AUTO_REPLY, found
    assert found.reason


DSN = """From: MAILER-DAEMON@mx.adlj53.example (Mail Delivery System)
To: bounce@apprentissage.example
Subject: Undelivered Mail Returned to Sender
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain; charset=utf-8

This is the mail system at host mx.adlj53.example. I'm sorry to have to inform you…

--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.adlj53.example
Arrival-Date: Mon, 12 Oct 2026 10:02:05 +0200

Final-Recipient: rfc822; ancien.contact@adlj53.example
Original-Recipient: rfc822;ancien.contact@adlj53.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

Final-Recipient: rfc822; lent@adlj53.example
Action: delayed
Status: 4.4.1

--B
Content-Type: text/rfc822-headers

From: Plateforme apprentissage <plateforme@apprentissage.example>
To: ancien.contact@adlj53.example
Subject: Fiche de liaison n° 12
Message-ID: <12.9f2c@apprentissage.example>

--B--
"""


def test_a_delivery_report_names_our_mail_and_the_failed_address() -> None:
    found = classify(parse(DSN))
    assert found.kind == Kind.BOUNCE  # a bounce, though it is automatic too
    assert found.bounce is not None
    assert found.bounce.original_message_ids == ("<12.9f2c@apprentissage.example>",)
    assert found.bounce.failed == ("ancien.contact@adlj53.example",)
    assert found.bounce.delayed == ("lent@adlj53.example",)


def test_a_delivery_report_with_the_whole_original_message() -> None:
    raw = DSN.replace(
        "Content-Type: text/rfc822-headers\n",
        "Content-Type: message/rfc822\n",
    )
    found = classify(parse(raw))
    assert found.bounce is not None
    assert found.bounce.original_message_ids == ("<12.9f2c@apprentissage.example>",)


def test_a_report_that_is_not_about_delivery_is_not_a_bounce() -> None:
    """A read receipt (RFC 8098) is automatic, not a bounce."""
    raw = (
        DSN.replace("report-type=delivery-status", "report-type=disposition-notification")
        .replace("message/delivery-status", "message/disposition-notification")
        .replace("MAILER-DAEMON@", "accueil@")
        .replace("Undelivered Mail Returned to Sender", "Lu : Fiche de liaison n° 12")
    )
    assert classify(parse(raw)).kind == Kind.AUTO_REPLY  # still automatic (Auto-Submitted)


FORWARD = "Pour info.\n\n-------- Message transféré --------\nDe : Léa\nObjet : absence\n\nMalade."


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Bottom-posting (Thunderbird): the quote first, the answer under it.
        (
            "Le 12/10/2026 à 10:02, Plateforme a écrit :\n> Bonjour,\n> …\n\nReçu, merci.\n",
            "Reçu, merci.",
        ),
        # Only a quote, nothing written: the text is kept rather than lost.
        (
            "> Bonjour,\n> Dans le cadre de la plateforme…\n",
            "> Bonjour,\n> Dans le cadre de la plateforme…",
        ),
        # A forward before any quote is kept whole.
        (FORWARD, FORWARD),
        # German and Portuguese attributions, Dutch and Polish Outlook blocks.
        (
            "Alles klar.\n\nAm 12.10.2026 um 10:02 schrieb Plateforme <p@x.example>:\n> Hallo",
            "Alles klar.",
        ),
        (
            "Tudo certo.\n\nEm seg., 12 de out. de 2026 às 10:02, Plateforme <p@x.example> "
            "escreveu:\n> Olá",
            "Tudo certo.",
        ),
        (
            "Prima.\n\nVan: Plateforme\nVerzonden: maandag 12 oktober 2026\nAan: ons\n\nHallo",
            "Prima.",
        ),
        ("Dobrze.\n\nOd: Plateforme\nWysłano: poniedziałek\nDo: my\n\nCześć", "Dobrze."),
        ("OK.\n\n-----Messaggio originale-----\nDa: Plateforme", "OK."),
        ("Vu.\n\nVon meinem iPhone gesendet\n\n> Hallo", "Vu."),
    ],
    ids=["bottom", "only-quote", "forward", "de", "pt", "nl", "pl", "it-original", "de-phone"],
)
def test_nothing_written_is_lost_in_any_language(body: str, expected: str) -> None:
    assert strip_quotes(body) == expected


def test_an_html_reply_written_under_the_quote_keeps_its_text() -> None:
    from casework.inbound.parsing import html_to_text

    html = (
        "<div>Le 12 oct. 2026, Plateforme a écrit :</div><blockquote><div>Bonjour,</div>"
        "<blockquote>plus ancien</blockquote><div>…</div></blockquote><div>Reçu, merci.</div>"
    )
    assert strip_quotes(html_to_text(html)) == "Reçu, merci."
