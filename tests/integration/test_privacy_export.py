"""`casework privacy export`: one of every kind of record held about a person, each found in
the JSON copy and in the readable document, under its own table; nobody else's; files only
their owner reads; the request and the read recorded; the refusals write nothing — on both
databases."""

from __future__ import annotations

import json
import re
import stat
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sqlalchemy import func, insert, select, update

from casework.accounts.access_log import record_access
from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.clock import FixedClock, format_local
from casework.french import faults
from casework.models.tables import (
    ACCESS_LOG,
    ALERTS,
    ASSESSMENTS,
    ATTACHMENTS,
    CONTRACTS,
    DECISIONS,
    EVENTS,
    FILES,
    INBOUND,
    LINKS,
    OUTBOX,
    PEOPLE,
    PROPOSALS,
    RECORDS,
    REJECTS,
    TIMERS,
)
from casework.privacy.holdings import HOLDINGS
from tests.factories import add_case, add_partner, add_user

PERSON = Actor.person("referente")
DUE = datetime(2031, 3, 4, 5, 6, tzinfo=UTC)
# One distinctive value per held table: (as the JSON copy stores it, as the document shows it).
EXPECTED: dict[str, tuple[str, str]] = {
    "beneficiaries": ("zephyrine@example.org", "zephyrine@example.org"),
    "contracts": ("Boulangerie Secrète", "Boulangerie Secrète"),
    "cases": ("referente", "Groupe"),
    "events": ("Note-privee-du-contact", "Note-privee-du-contact"),
    "contact_logs": ("Note-privee-du-contact", "Note-privee-du-contact"),
    "assessments": ("Commentaire-prive-du-bilan", "Commentaire-prive-du-bilan"),
    "liaison_sheets": ("Description-privee-de-la-fiche", "Description-privee-de-la-fiche"),
    "alerts": ("cfa-secret@cfa.example", "cfa-secret@cfa.example"),
    "inbound_mails": ("Texte-brut-du-courriel", "Objet-du-courriel-recu"),
    "inbound_attachments": ("bulletin-secret.pdf", "bulletin-secret.pdf"),
    "outbox": ("digest-secret@ml.example", "Objet-du-courriel-envoye"),
    "action_links": ("lien-secret@ml.example", "lien-secret@ml.example"),
    "timers": (DUE.isoformat(), format_local(DUE)),
    "access_log": ("lecteur-secret", "lecteur-secret"),
    "intake_records": ("Employeur-du-fichier", "employeur : Employeur-du-fichier"),
    "intake_rejects": ("Cellule-rejetee", "Cellule-rejetee"),
    "match_proposals": ("nom identique-secret", "nom identique-secret"),
    "match_decisions": ("decideur-secret", "decideur-secret"),
}
# What belongs to someone else, and must not be in the copy.
OTHERS = ("Autrepersonne", "autre-digest@ml.example", "Cellule-d-un-autre", "autre@example.org")


def test_every_held_table_has_its_record_here() -> None:
    """A table added to the holdings map fails this test until it gets a record below."""
    assert set(EXPECTED) == {h.name for h in HOLDINGS}


def a_person_with_everything(app: App, clock: FixedClock) -> tuple[int, int]:
    """(person, case): a followed case with one of every kind of record."""
    add_user(app)
    case_id = add_case(app, birth_name="Quatremare", first_names="Zéphyrine")
    with app.db.transaction() as conn:
        person = conn.execute(
            select(PEOPLE.c.id).where(PEOPLE.c.birth_name == "Quatremare")
        ).scalar_one()
        conn.execute(
            update(PEOPLE)
            .where(PEOPLE.c.id == person)
            .values(email="zephyrine@example.org", ml_id="ML-SECRET-1")
        )
        conn.execute(
            update(CONTRACTS)
            .where(CONTRACTS.c.beneficiary_id == person)
            .values(employer_name="Boulangerie Secrète")
        )
        cma = conn.execute(
            select(CONTRACTS.c.cma_number).where(CONTRACTS.c.beneficiary_id == person)
        ).scalar_one()
    engine = app.engine
    engine.fire_case(case_id, "ask_consent", Actor.system())
    engine.fire_case(case_id, "give_consent", PERSON, given_by="apprentice")
    engine.fire_case(case_id, "start_follow_up", Actor.timer())
    engine.fire_case(
        case_id, "record_contact", PERSON, channel="visit", duration_min=45,
        notes="Note-privee-du-contact",
    )  # fmt: skip
    engine.fire_case(
        case_id, "refer", PERSON, partner_id=add_partner(app, ("housing",)),
        need_category="housing", description="Description-privee-de-la-fiche", consent=True,
    )  # fmt: skip
    now = clock.now()
    with app.db.transaction() as conn:
        _mail_and_records(conn, case_id, cma, now)
    return person, case_id


def _mail_and_records(conn: Any, case_id: int, cma: str, now: datetime) -> None:
    conn.execute(
        insert(ASSESSMENTS),
        {"case_id": case_id, "moment": "one_year", "situation": "employed",
         "diploma": "pending", "comments": "Commentaire-prive-du-bilan", "author": "referente",
         "recorded_at": now},
    )  # fmt: skip
    raw = b"Subject: Objet-du-courriel-recu\r\n\r\nTexte-brut-du-courriel\r\n"
    inbound = conn.execute(
        insert(INBOUND).returning(INBOUND.c.id),
        {"received_at": now, "source": "test", "sender": "cfa-secret@cfa.example",
         "subject": "Objet-du-courriel-recu", "raw": raw, "text": "Texte-brut-du-courriel",
         "kind": "answer", "status": "recorded", "case_id": case_id},
    ).scalar_one()  # fmt: skip
    conn.execute(
        insert(ATTACHMENTS),
        {"inbound_id": inbound, "filename": "bulletin-secret.pdf",
         "content_type": "application/pdf", "size": 4, "data": b"%PDF"},
    )  # fmt: skip
    conn.execute(
        insert(ALERTS),
        {"case_id": case_id, "inbound_id": inbound, "sender": "cfa-secret@cfa.example",
         "identified_by": "automatic", "created_at": now},
    )  # fmt: skip
    mail = {"entity": None, "entity_id": None, "template": "case/x", "status": "sent",
            "recipient_role": "counsellor", "context": {}, "next_attempt_at": now, "subject": None,
            "created_at": now}  # fmt: skip
    conn.execute(
        insert(OUTBOX),
        [
            {**mail, "case_id": case_id, "recipients": ["referente@ml.example"],
             "subject": "Objet-du-courriel-envoye"},
            {**mail, "case_id": None, "template": "digest/daily",
             "recipients": ["digest-secret@ml.example"],
             "context": {"items": [{"case_id": case_id, "who": "Zéphyrine QUATREMARE"}]}},
            {**mail, "case_id": None, "template": "digest/daily",
             "recipients": ["autre-digest@ml.example"],
             "context": {"items": [{"case_id": case_id + 1000, "who": "X AUTREPERSONNE"}]}},
        ],
    )  # fmt: skip
    conn.execute(
        insert(LINKS),
        {"token_hash": "a" * 64, "entity": "case", "entity_id": case_id, "case_id": case_id,
         "trigger": "record_contact", "entered_version": 1, "valid_for_entry": 1,
         "recipient": "lien-secret@ml.example", "actor_kind": "person",
         "expires_at": now + timedelta(days=30), "created_at": now},
    )  # fmt: skip
    conn.execute(
        insert(TIMERS),
        {"entity": "case", "entity_id": case_id, "case_id": case_id, "state": "follow_up",
         "set_version": 1, "trigger": "record_contact", "due_at": DUE, "run_after": DUE,
         "misfire": "fire", "created_at": now},
    )  # fmt: skip
    record_access(conn, login="lecteur-secret", page="/dossiers/{case_id}", now=now,
                  case_id=case_id)  # fmt: skip
    _imported(conn, cma, now)


def _imported(conn: Any, cma: str, now: datetime) -> None:
    file_id = conn.execute(
        insert(FILES).returning(FILES.c.id),
        {"source": "cma", "name": "contrats.csv", "sha256": "b" * 64, "described": "CSV",
         "records": 1, "rejected": 2, "created": 1, "updated": 0, "imported_at": now,
         "imported_by": "tests"},
    ).scalar_one()  # fmt: skip
    conn.execute(
        insert(RECORDS),
        [
            {"source": "cma", "key": cma, "file_id": file_id, "line": 2, "created_at": now,
             "updated_at": now,
             "data": {"birth_name": "Quatremare", "employer_name": "Employeur-du-fichier"}},
            {"source": "cma", "key": "AUTRE-1", "file_id": file_id, "line": 3,
             "created_at": now, "updated_at": now, "data": {"birth_name": "Autrepersonne"}},
        ],
    )  # fmt: skip
    conn.execute(
        insert(REJECTS),
        [
            {"file_id": file_id, "line": 7, "cells": [cma, "Cellule-rejetee"],
             "reasons": ["date illisible"]},
            {"file_id": file_id, "line": 8, "cells": ["AUTRE-2", "Cellule-d-un-autre"],
             "reasons": ["date illisible"]},
        ],
    )  # fmt: skip
    conn.execute(
        insert(PROPOSALS),
        {"cma_key": cma, "ml_key": "ML-SECRET-1", "probability": 0.97, "band": "match",
         "explanation": ["nom identique-secret"], "created_at": now},
    )  # fmt: skip
    conn.execute(
        insert(DECISIONS),
        {"cma_key": cma, "ml_key": "ML-SECRET-1", "same": True,
         "decided_by": "decideur-secret", "decided_at": now},
    )  # fmt: skip


def export(db_url: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["--database", db_url, "privacy", "export", *args])


def sections_of(html: str) -> dict[str, str]:
    """The document's text by section heading, tags removed."""
    found = {}
    for part in html.split("<section")[1:]:
        heading = re.search(r"<h2>(.*?)</h2>", part, re.S)
        assert heading is not None
        found[unescape(heading.group(1))] = unescape(re.sub(r"<[^>]+>", " ", part))
    return found


def test_the_copy_holds_every_kind_of_record_and_nobody_else_s(
    app: App, clock: FixedClock, db_url: str, tmp_path: Path
) -> None:
    person, case_id = a_person_with_everything(app, clock)
    add_user(app, login="admin", email="admin@ml.example", role="administrator")
    add_case(app, birth_name="Autrepersonne", first_names="Marc")
    with app.db.transaction() as conn:
        conn.execute(
            update(PEOPLE)
            .where(PEOPLE.c.birth_name == "Autrepersonne")
            .values(email="autre@example.org")
        )
    out = tmp_path / "copies"
    done = export(db_url, "--case", str(case_id), "--out", str(out), "--format",
                  "json,html,pdf", "--as", "admin")  # fmt: skip
    assert done.exit_code == 0, done.output
    # The command's own clock says the day: "donnees-personne-12-2026-09-01.json".
    names = sorted(p.name for p in out.iterdir())
    assert [re.sub(r"\d{4}-\d{2}-\d{2}", "D", n) for n in names] == [
        f"donnees-personne-{person}-D.{fmt}" for fmt in ("html", "json", "pdf")
    ]
    names = [names[1], names[0], names[2]]  # json, html, pdf
    assert f"Copie des données de la personne n° {person} écrite dans" in done.output
    for path in out.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    copy = json.loads((out / names[0]).read_text(encoding="utf-8"))
    tables = {t["table"]: t for t in copy["tables"]}
    html = (out / names[1]).read_text(encoding="utf-8")
    sections = sections_of(html)
    for holding in HOLDINGS:
        stored, shown = EXPECTED[holding.name]
        rows = json.dumps(tables[holding.name]["lignes"], ensure_ascii=False)
        assert stored in rows, holding.name
        assert shown in sections[holding.label], holding.name
    whole = json.dumps(copy, ensure_ascii=False) + html
    for other in OTHERS:
        assert other not in whole
    assert (out / names[2]).read_bytes().startswith(b"%PDF")
    # Columns as stored: the raw mail as text, the attachment in base64, dates in ISO.
    assert tables["inbound_attachments"]["lignes"][0]["data"] == "JVBERg=="
    assert tables["beneficiaries"]["lignes"][0]["birth_date"] == "2000-05-04"
    # The case's events in the words of `casework history`; French, not Python.
    assert "Enregistrer un contact" in sections["Historique (journal d'audit)"]
    text = re.sub(r"<[^>]+>", "\n", html.split("<body>")[1])  # a cell per line
    assert faults(unescape(text)) == []


def test_the_request_and_the_read_are_recorded(
    app: App, clock: FixedClock, db_url: str, tmp_path: Path
) -> None:
    person, case_id = a_person_with_everything(app, clock)
    add_user(app, login="cheffe", email="cheffe@ml.example", role="manager")
    done = export(db_url, str(person), "--out", str(tmp_path / "a"), "--as", "cheffe")
    assert done.exit_code == 0, done.output
    with app.db.read() as conn:
        request = conn.execute(
            select(EVENTS).where(EVENTS.c.entity == "person", EVENTS.c.entity_id == person)
        ).one()
        reads = conn.execute(
            select(ACCESS_LOG.c.user_login, ACCESS_LOG.c.case_id).where(
                ACCESS_LOG.c.page == "casework privacy export"
            )
        ).all()
    assert (request.trigger, request.actor) == ("rights_export", "cheffe")
    assert request.data["cases"] == [case_id]
    assert sorted(request.data["files"]) == sorted(p.name for p in (tmp_path / "a").iterdir())
    assert reads == [("cheffe", case_id)]
    # A second copy shows the first request in the person's history.
    again = export(db_url, str(person), "--out", str(tmp_path / "b"), "--format", "html",
                   "--as", "cheffe")  # fmt: skip
    assert again.exit_code == 0, again.output
    html = next((tmp_path / "b").iterdir()).read_text(encoding="utf-8")
    assert "Copie des données remise" in sections_of(html)["Historique (journal d'audit)"]


def test_refusals_write_nothing(app: App, clock: FixedClock, db_url: str, tmp_path: Path) -> None:
    person, case_id = a_person_with_everything(app, clock)
    add_user(app, login="admin", email="admin@ml.example", role="administrator")
    with app.db.read() as conn:
        before = conn.execute(select(func.count()).select_from(EVENTS)).scalar()
    out = tmp_path / "copies"
    counsellor = export(db_url, str(person), "--out", str(out), "--as", "referente")
    assert counsellor.exit_code == 1
    assert "réservé aux administrateurs et aux responsables d'équipe" in counsellor.output
    unknown = export(db_url, "9999", "--out", str(out), "--as", "admin")
    assert unknown.exit_code == 1
    assert "Aucune personne n° 9999." in unknown.output
    both = export(db_url, str(person), "--case", str(case_id), "--out", str(out), "--as", "admin")
    assert both.exit_code == 2
    wrong = export(db_url, str(person), "--out", str(out), "--format", "docx", "--as", "admin")
    assert wrong.exit_code == 2
    assert "json, html, pdf" in wrong.output
    blocked = tmp_path / "un-fichier"
    blocked.write_text("")
    unwritable = export(db_url, str(person), "--out", str(blocked / "sous"), "--as", "admin")
    assert unwritable.exit_code == 1
    assert "impossible de créer le dossier" in unwritable.output
    assert not out.exists() or not list(out.iterdir())
    with app.db.read() as conn:
        after = conn.execute(select(func.count()).select_from(EVENTS)).scalar()
        reads = conn.execute(select(func.count()).select_from(ACCESS_LOG)).scalar()
    assert after == before
    assert reads == 1  # the one the set-up recorded
