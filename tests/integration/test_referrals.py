"""Referrals, on both databases: the partners proposed for a need, nearest first; `refer`
records the choice, the proposals and the reason; deactivated partners take no new sheet; a
genuine reply makes an unreachable contact reachable again."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.demo.mailcatcher import MailCatcher
from casework.errors import TransitionRefused
from casework.inbound.ingest import Ingestor
from casework.models import InboundStatus, LiaisonSheet, OutboxMail, PartnerContact
from casework.partners.proposals import propose_partners
from tests.factories import add_case, add_contact, add_partner, add_user, events
from tests.integration.test_ingest import PARTNER, reply, sent_sheet

PERSON = Actor.person("referente")
REFER = {"need_category": "housing", "description": "Cherche un logement.", "consent": True}
UAI = "0530914B"


def housing(app: App, name: str, reachable: bool = True, **more: object) -> int:
    partner_id = add_partner(app, ("housing", "training"), name=name, **more)
    contact = add_contact(app, partner_id, f"accueil@{partner_id}.example")
    if not reachable:
        with app.db.transaction() as conn:
            conn.execute(
                update(PartnerContact).where(PartnerContact.id == contact).values(unreachable=True)
            )
    return partner_id


def the_directory(app: App) -> dict[str, int]:
    """Housing partners at every distance from a young person living at 53000 (Mayenne),
    whose training centre is UAI 0530914B."""
    return {
        "outside": housing(app, "Habitat Jeunes Le Mans", departements=["72"]),
        "unsaid": housing(app, "Fondation nationale"),
        "departement": housing(app, "ADLJ 53", departements=["53"]),
        "commune": housing(app, "Habitat Jeunes Laval", postcodes=["53000", "53940"]),
        "cfa": housing(app, "CFA de la CMA", uai=UAI, departements=["53"]),
        "no contact": housing(app, "Foyer de Laval", reachable=False, postcodes=["53000"]),
        "inactive": housing(app, "Ancien foyer", postcodes=["53000"], active=False),
        "other need": add_partner(app, ("health",), name="Mission Locale", departements=["53"]),
    }


def test_partners_are_proposed_nearest_first(app: App) -> None:
    ids = the_directory(app)
    case_id = add_case(app, state="follow_up", cycle=1, postcode="53000", training_centre_uai=UAI)
    with app.db.read() as conn:
        proposals = propose_partners(conn, case_id, "housing")
    names = {v: k for k, v in ids.items()}
    assert [names[p.partner_id] for p in proposals] == [
        "cfa",
        "commune",
        "departement",
        "unsaid",
        "outside",
        "no contact",  # whatever its territory: a sheet to it would reach nobody
    ]
    assert [p.why for p in proposals] == [  # whose territory: the young person's, said so
        "CFA du jeune",
        "intervient dans la commune du jeune",
        "intervient dans le département du jeune",
        "territoire d'intervention non précisé",
        "ne couvre pas le secteur du jeune",
        "intervient dans la commune du jeune ; aucun contact joignable",
    ]
    # Elsewhere (Sarthe, no training centre known): the Sarthe's partner comes first.
    elsewhere = add_case(app, state="follow_up", cycle=1, postcode="72000")
    with app.db.read() as conn:
        first = propose_partners(conn, elsewhere, "housing")[0]
    assert (first.partner_id, first.why) == (
        ids["outside"],
        "intervient dans le département du jeune",
    )


def test_case_propose_lists_them_and_says_how_to_refer(app: App, db_url: str) -> None:
    ids = the_directory(app)
    case_id = add_case(app, state="follow_up", cycle=1, postcode="53000", training_centre_uai=UAI)
    result = CliRunner().invoke(
        main, ["--database", db_url, "case", "propose", str(case_id), "--need", "logement"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Dossier {case_id}, besoin : logement."
    assert lines[1] == f"  1. n° {ids['cfa']} CFA de la CMA (logement des jeunes) — CFA du jeune"
    assert lines[2] == (
        f"  2. n° {ids['commune']} Habitat Jeunes Laval (logement des jeunes) — intervient dans "
        "la commune du jeune"
    )
    assert lines[5] == (
        f"  5. n° {ids['outside']} Habitat Jeunes Le Mans (logement des jeunes) — ne couvre pas "
        "le secteur du jeune"
    )
    assert len(lines) == 1 + 6 + 1
    assert lines[-1].startswith(
        f"Orienter : casework case fire {case_id} refer -d partner_id={ids['cfa']} "
        "-d need_category=housing"
    )
    none = CliRunner().invoke(
        main, ["--database", db_url, "case", "propose", str(case_id), "--need", "famille"]
    )
    assert none.exit_code == 1
    assert "Aucun partenaire actif ne traite ce besoin (situation familiale)" in none.output
    bad = CliRunner().invoke(
        main, ["--database", db_url, "case", "propose", str(case_id), "--need", "astrologie"]
    )
    assert bad.exit_code == 2
    assert "besoin inconnu : astrologie" in bad.output


def test_refer_records_the_proposals_and_the_reason_for_another_choice(
    app: App, db_url: str
) -> None:
    ids = the_directory(app)
    case_id = add_case(app, state="follow_up", cycle=1, postcode="53000", training_centre_uai=UAI)
    app.engine.fire_case(case_id, "refer", PERSON, partner_id=ids["cfa"], **REFER)
    first = events(app, "case", case_id)[-1]
    assert first.data["rank"] == 1
    assert first.data["proposed"] == [
        ids[k] for k in ("cfa", "commune", "departement", "unsaid", "outside", "no contact")
    ]
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_case(case_id, "refer", PERSON, partner_id=ids["departement"], **REFER)
    said = refused.value.french()
    assert (
        "le partenaire proposé en premier pour ce besoin est « CFA de la CMA » (CFA du jeune)"
        in said
    )
    assert "; pour en choisir un autre, indiquez le motif de votre choix" in said
    reason = "Suivi déjà engagé par l'ADLJ avec la famille."
    app.engine.fire_case(
        case_id, "refer", PERSON, partner_id=ids["departement"], reason=reason, **REFER
    )
    chosen = events(app, "case", case_id)[-1]
    assert (chosen.data["partner_id"], chosen.data["rank"], chosen.data["reason"]) == (
        ids["departement"],
        3,
        reason,
    )
    with app.db.read() as conn:
        sheets = conn.execute(select(LiaisonSheet.partner_id).order_by(LiaisonSheet.id)).all()
    assert [s.partner_id for s in sheets] == [ids["cfa"], ids["departement"]]
    # The history names the partners (chosen and proposed), not their numbers.
    history = CliRunner().invoke(main, ["--database", db_url, "history", str(case_id)]).output
    last = next(line for line in reversed(history.splitlines()) if "Orienter" in line)
    assert "Partenaire : ADLJ 53 ;" in last
    assert (
        "partenaires proposés : CFA de la CMA, Habitat Jeunes Laval, ADLJ 53, Fondation "
        "nationale, Habitat Jeunes Le Mans, Foyer de Laval ; rang du partenaire choisi : 3"
    ) in last
    assert "n°" not in last


def test_a_deactivated_partner_or_one_without_the_need_takes_no_sheet(app: App) -> None:
    ids = the_directory(app)
    case_id = add_case(app, state="follow_up", cycle=1, postcode="53000")
    for partner, said in (
        ("inactive", "ce partenaire est désactivé : il ne reçoit plus de nouvelles fiches"),
        ("other need", "ce partenaire ne traite pas ce besoin selon la charte"),
    ):
        with pytest.raises(TransitionRefused) as refused:
            app.engine.fire_case(
                case_id, "refer", PERSON, partner_id=ids[partner], reason="essai", **REFER
            )
        assert said in refused.value.french()
    with app.db.read() as conn:
        assert conn.execute(select(LiaisonSheet.id)).all() == []


def test_a_genuine_reply_makes_an_unreachable_contact_reachable_again(
    mail_app: App, catcher: MailCatcher
) -> None:
    """The address bounced once (flagged); the partner then answers the sheet for real: the
    flag goes in the transaction that records the answer. An automatic reply does nothing."""
    sheet_id, original = sent_sheet(mail_app, catcher)
    with mail_app.db.transaction() as conn:
        conn.execute(update(PartnerContact).values(unreachable=True))

    def flag() -> bool:
        with mail_app.db.read() as conn:
            return bool(
                conn.execute(
                    select(PartnerContact.unreachable).where(PartnerContact.email == PARTNER)
                ).scalar_one()
            )

    auto = reply(original, "Absent jusqu'au 10.", headers="Auto-Submitted: auto-replied\r\n")
    assert Ingestor(mail_app).ingest(auto, "test").status == InboundStatus.IGNORED
    assert flag()
    result = Ingestor(mail_app).ingest(reply(original, "Bien reçu, merci."), "test")
    assert result.status == InboundStatus.RECORDED, result.reason
    assert not flag()
    assert events(mail_app, "liaison", sheet_id)[-1].trigger == "acknowledge"


def test_the_sheet_refer_opened_is_sent_from_the_command_line(app: App, db_url: str) -> None:
    add_user(app)
    ids = the_directory(app)
    case_id = add_case(app, state="follow_up", cycle=1, postcode="53000")
    app.engine.fire_case(case_id, "refer", PERSON, partner_id=ids["commune"], **REFER)
    with app.db.read() as conn:
        sheet_id = conn.execute(select(LiaisonSheet.id)).scalar_one()

    def sheet(*args: str) -> str:
        result = CliRunner().invoke(
            main, ["--database", db_url, "sheet", "fire", str(sheet_id), *args, "--as", "referente"]
        )
        return result.output

    assert sheet("send") == f"Fiche {sheet_id} : envoyée, accusé de réception attendu.\n"
    with app.db.read() as conn:
        mails = conn.execute(select(OutboxMail.template, OutboxMail.recipient_role)).all()
    assert [tuple(m) for m in mails] == [("liaison/sheet", "partner")]
    assert "n'est pas possible depuis cet état" in sheet("close")
    assert sheet("cancel", "-d", "reason=Le jeune a trouvé seul") == (
        f"Fiche {sheet_id} : annulée.\n"
    )
