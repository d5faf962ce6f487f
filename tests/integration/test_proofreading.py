"""What people read, proofread by a machine: every mail template rendered from real
transitions, the pages behind their links, the mail catcher's pages and the command line's
outputs, scanned for the classic faults (`casework.french.faults`: "de Anaïs" for "d'Anaïs",
"un(e)", "CFA CFA", None or a Python list on screen), and for codes where a label belongs.

The season below is made for it: names and nouns that start with a vowel, a minor, a training
centre whose name says "CFA", a partner's manager whose address bounces, an alert, a digest.
`CASEWORK_SHOW_TEXTS=1` prints everything rendered, for a person to read.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.testclient import TestClient

from casework.accounts.passwords import hash_password
from casework.accounts.reset import request_reset
from casework.accounts.throttle import Throttle
from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.clock import FixedClock
from casework.demo.mailcatcher import Caught, MailCatcher
from casework.french import faults
from casework.inbound.ingest import Ingestor
from casework.models import Contract, OutboxMail, User
from casework.notify.digest import DigestMaker
from casework.notify.links import LinkSigner
from casework.notify.sender import MailSender
from casework.resources import default_templates_dir
from casework.settings import Settings
from casework.web.links import LinkPages
from tests.factories import add_case, add_contact, add_partner, add_sheet, add_user
from tests.staff import PASSWORD, csrf_of, log_in, staff_client, staff_user

BASE = "https://casework.example"
LINK = re.compile(r"https://casework\.example/l/[A-Za-z0-9_\-.]+")
TIMER, PERSON = Actor.timer(), Actor.person("referente")
CONTACT, MANAGER = "accueil@adlj.example", "direction@adlj.example"
# Codes of states, triggers and vocabularies that must not reach a person where a label belongs.
CODES = re.compile(
    r"\b(?:consent_asked|consent_reminded|follow_up|give_consent|record_contact|"
    r"start_follow_up|ask_consent|identified|outcome_tracking|employer_conflict|"
    r"acknowledged|feedback_received|give_feedback|quarantined|recorded|apprentice|"
    r"housing|mobility|person|timer|parity|sign_contract|dropped_out|apprenticeship_signed|"
    r"pre_apprenticeship)\b"
)


@dataclass
class Season:
    mails: list[Caught]
    cases: dict[str, int]
    sheet: int
    texts: dict[str, str] = field(default_factory=dict)


def plain_of(page: str) -> str:
    """A page or an HTML part as a person reads it: no tags, entities decoded."""
    page = re.sub(r"<head>.*?</head>", "", page, flags=re.DOTALL)
    page = re.sub(r"</?(?:strong|a|code|em)\b[^>]*>", "", page)  # inline: no word break
    without = re.sub(r"<style.*?</style>|<[^>]+>", " ", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"[ \t]+", " ", without))


def show(season: Season) -> None:
    if os.environ.get("CASEWORK_SHOW_TEXTS"):
        for name, text in season.texts.items():
            print(f"\n===== {name}\n{text}")


def proofread(season: Season) -> None:
    show(season)
    found = {name: faults(text) for name, text in season.texts.items()}
    assert {name: f for name, f in found.items() if f} == {}


def play_season(app: App, catcher: MailCatcher, clock: FixedClock) -> Season:
    add_user(app)
    engine = app.engine
    person = {"first_names": "Anaïs Élodie", "birth_name": "Orain"}
    cases = {
        "minor": add_case(app, birth_date=date(2010, 5, 4), **person),
        "adult": add_case(app, **person),
        "followed": add_case(app, state="consented", **person),
        "broken": add_case(app, state="follow_up", cycle=2, **person),
        "monitored": add_case(app, state="monitoring", cycle=6, **person),
        # The pre-apprenticeship programme's mails, side by side with the case's.
        "pre": add_case(app, workflow="pre_apprenticeship", **person),
        "pre_placed": add_case(app, workflow="pre_apprenticeship", **person),
        "pre_dropped": add_case(
            app, workflow="pre_apprenticeship", state="follow_up", cycle=1, **person
        ),
    }
    with app.db.transaction() as conn:
        conn.execute(
            update(Contract).values(
                training_centre_name="CFA de la CMA de la Mayenne", employer_name="Atelier Ébène"
            )
        )
    for name in ("minor", "adult"):
        engine.fire_case(cases[name], "ask_consent", Actor.system())
    engine.fire_case(cases["adult"], "remind_consent", TIMER)
    engine.fire_case(cases["followed"], "start_follow_up", TIMER)
    engine.fire_case(
        cases["broken"], "rupture", PERSON, rupture_date="2026-08-31", initiative="apprentice"
    )
    engine.fire_case(cases["monitored"], "one_year_assessment_due", TIMER)
    engine.fire_case(cases["monitored"], "contract_ended", TIMER)
    for name in ("pre", "pre_placed"):
        engine.fire_case(cases[name], "ask_consent", Actor.system())
    engine.fire_case(cases["pre"], "remind_consent", TIMER)
    engine.fire_case(cases["pre_placed"], "give_consent", PERSON, given_by="apprentice")
    for _ in range(3):  # three check-ins, then the search for a contract
        engine.fire_case(cases["pre_placed"], "next_cycle", TIMER)
    engine.fire_case(
        cases["pre_dropped"], "rupture", PERSON, rupture_date="2026-08-31", initiative="apprentice"
    )
    partner = add_partner(app, name="ADLJ 53 — logement des jeunes")
    add_contact(app, partner, CONTACT, name="Inès Aubry")
    add_contact(app, partner, MANAGER, role="manager", name="Hervé Petit")
    catcher.refuse(MANAGER, "550 5.1.1 No such user here")  # the escalation bounces
    sheet = add_sheet(app, partner_id=partner, case_id=cases["followed"])
    engine.fire_sheet(sheet, "send", PERSON)
    engine.fire_sheet(sheet, "remind", TIMER)
    engine.fire_sheet(sheet, "escalate", TIMER)
    MailSender(app).drain_sync()  # rendered while the acknowledgement is awaited
    engine.fire_sheet(sheet, "mark_overdue", TIMER)
    MailSender(app).drain_sync()  # and the notice of the bounced escalation
    alert = (  # as our mail server hands it over, the sender's domain vouched for
        "Authentication-Results: mx.plateforme.example; dmarc=pass header.from=adlj.example\r\n"
        f"From: Inès Aubry <{CONTACT}>\r\nTo: alerte@plateforme.example\r\n"
        "Subject: Absences\r\nMessage-ID: <alerte-1@adlj.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        "Anaïs Orain ne vient plus au foyer depuis lundi.\r\n"
    ).encode()
    Ingestor(app).ingest(alert, "test", recipients=("alerte@plateforme.example",))
    engine.fire_sheet(sheet, "give_feedback", Actor.partner(CONTACT), feedback="Reçue mardi.")
    add_sheet(app, partner_id=partner, case_id=cases["monitored"], state="overdue")
    # Consent withdrawn: the partner of the open sheet is told to stop (and nothing else goes).
    cases["withdrawn"] = add_case(app, state="follow_up", cycle=2, **person)
    add_sheet(app, partner_id=partner, case_id=cases["withdrawn"], state="acknowledged")
    engine.fire_case(cases["withdrawn"], "withdraw_consent", PERSON, withdrawn_on="2026-09-01")
    clock.set(clock.now().replace(hour=6) + timedelta(days=1))  # Wednesday, 08:00 in Paris
    DigestMaker(app).run(clock.now())
    with app.db.transaction() as conn:  # the staff pages' password reset
        request_reset(
            conn,
            "referente",
            clock.now(),
            timedelta(hours=1),
            Throttle.from_settings(app.settings.web),
        )
    MailSender(app).drain_sync()
    mails = catcher.wait_for(29)
    return Season(list(mails), cases, sheet)


@pytest.fixture
def season(mail_settings: Settings, catcher: MailCatcher, clock: FixedClock) -> Season:
    from casework.app import build_app

    app = build_app(mail_settings, clock)
    try:
        found = play_season(app, catcher, clock)
        found.app = app  # type: ignore[attr-defined]
        yield found  # type: ignore[misc]
    finally:
        app.close()


def test_every_mail_reads_as_french(season: Season) -> None:
    subjects = set()
    for n, mail in enumerate(season.mails):
        subject = str(mail.message["Subject"])
        subjects.add(re.sub(r"\d+", "N", subject))
        season.texts[f"mail {n} : {subject}"] = "\n".join(
            (subject, mail.part("plain"), plain_of(mail.part("html")))
        )
    with season.app.db.read() as conn:  # type: ignore[attr-defined]
        rendered = set(conn.execute(select(OutboxMail.template, OutboxMail.recipient_role)))
    every_template = {
        (f"{path.parent.name}/{path.name.split('.')[0]}", path.name.split(".")[1])
        for path in (default_templates_dir() / "mail").glob("*/*.subject.j2")
    }
    assert rendered == every_template
    proofread(season)
    every = "\n".join(season.texts.values())
    assert "Le consentement d'Anaïs ORAIN" in every
    assert "pas encore d'accusé de réception" in every
    assert "attend toujours un accusé de réception" in every
    assert "Atelier Ébène, à partir du 01/09/2026, CFA de la CMA de la Mayenne." in every
    assert "- Fiche en retard (appeler le partenaire) : Anaïs ORAIN" in every
    assert "est annulée : l'intéressé(e) a retiré son consentement" in every


def links_in(season: Season) -> dict[str, str]:
    """Every link of every mail, by trigger and case, as paths."""
    signer = LinkSigner.from_settings(season.app.settings.mail)  # type: ignore[attr-defined]
    found = {}
    for mail in season.mails:
        for url in LINK.findall(mail.part("plain")):
            entity, entity_id, trigger = signer.serializer.loads(url.rsplit("/", 1)[1])[:3]
            found[f"{trigger} ({entity} {entity_id})"] = url.removeprefix(BASE)
    return found


def test_the_link_pages_read_as_french(season: Season) -> None:
    app = season.app  # type: ignore[attr-defined]
    client = TestClient(Starlette(routes=LinkPages(app).routes()), base_url=BASE)
    links = links_in(season)
    for name, path in links.items():
        page = client.get(path)
        season.texts[f"page {name} ({page.status_code})"] = plain_of(page.text)
    # What the pages say when they refuse: a guard, a value that does not fit.
    minor = links[f"give_consent (case {season.cases['minor']})"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(minor).text).group(1)  # type: ignore[union-attr]
    refused = client.post(minor, data={"csrf": csrf, "given_by": "apprentice"})
    assert refused.status_code == 422
    season.texts["page give_consent refused by a guard"] = plain_of(refused.text)
    contact = links[f"record_contact (case {season.cases['followed']})"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(contact).text).group(1)  # type: ignore[union-attr]
    wrong = client.post(contact, data={"csrf": csrf, "channel": "fax", "duration_min": "10"})
    assert wrong.status_code == 422
    season.texts["page record_contact, a value that does not fit"] = plain_of(wrong.text)
    proofread(season)
    every = "\n".join(season.texts.values())
    assert CODES.findall(every) == []
    assert "« Canal » : valeurs possibles : téléphone, SMS, courriel" in every


def test_the_command_line_reads_as_french(season: Season, db_url: str) -> None:
    cases = season.cases
    commands = [
        "case list",
        *(f"case show {n}" for n in cases.values()),
        *(f"history {n}" for n in cases.values()),
        "inbound list --status recorded",
        "inbound show 1",
        f"mail list --case {cases['followed']}",
        f"links list --case {cases['followed']}",
        "alerts list --for referente",
        "status",
        "timers",
        "users list",
        "users show referente",
        "partners list",
        "partners show 1",
        f"case propose {cases['followed']} --need logement",
    ]
    for command in commands:
        result = CliRunner().invoke(main, ["--database", db_url, *command.split()])
        assert result.exit_code == 0, (command, result.output)
        season.texts[f"casework {command}"] = result.output
    proofread(season)
    # `case show` gives the codes `case fire` types, after their labels, and `case propose`
    # the command to type: those lines only.
    typed = re.compile(r"(?m)^ {4}\S.* : [a-z_]+$|^ {6}champs : .*$|^.*casework case fire .*$")
    every = typed.sub("", "\n".join(season.texts.values()))
    assert CODES.findall(every) == []
    shown = season.texts[f"casework case show {cases['adult']}"]
    assert (
        "    Consentement recueilli : give_consent\n      champs : given_by* (Donné par), " in shown
    )
    assert "guardian_agreed" not in shown  # an adult: the guardian's box does not apply
    assert (
        "guardian_agreed (Accord du représentant légal)"
        in season.texts[f"casework case show {cases['minor']}"]
    )
    history = season.texts[f"casework history {cases['broken']}"]
    assert (
        "Rupture du contrat : Suivi mensuel → Rupture du contrat  (Date de rupture : 31/08/2026 ; "
        "Initiative de la rupture : à l'initiative de l'apprenti(e))"
    ) in history


def test_the_mail_catcher_reads_as_french(season: Season, catcher: MailCatcher) -> None:
    app = season.app  # type: ignore[attr-defined]
    routes = catcher.routes(lambda raw: Ingestor(app).ingest(raw, "demo"))
    client = TestClient(Starlette(routes=routes), base_url="http://127.0.0.1:8000")
    listing = client.get("/mails").text
    season.texts["catcher /mails"] = plain_of(listing)
    sheet_mail = next(
        n for n, m in enumerate(season.mails) if str(m.message["Subject"]).startswith("Fiche de")
    )
    page = client.get(f"/mails/{sheet_mail}").text
    season.texts["catcher, a mail"] = plain_of(page.split("<details")[0])  # its headers
    csrf = re.search(r"name='csrf' value='([^']+)'", page).group(1)  # type: ignore[union-attr]
    answer = client.post(f"/mails/{sheet_mail}/reply", data={"csrf": csrf, "text": "Bien reçu."})
    season.texts["catcher, a reply"] = plain_of(answer.text)
    proofread(season)
    every = "\n".join(season.texts.values())
    assert CODES.findall(every) == []
    # Dates as everywhere else: 01/09/2026 10:00 in Paris, not "Tue, 01 Sep 2026 08:00:00 +0000".
    assert not re.search(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun|Sep|Oct)\b", every)
    assert "01/09/2026 10:00" in season.texts["catcher /mails"]
    assert (
        "Réponse mise en quarantaine : la fiche n'attend plus de réponse (état « Retour reçu »)."
        in season.texts["catcher, a reply"]
    )


def test_the_staff_pages_read_as_french(season: Season) -> None:
    app = season.app  # type: ignore[attr-defined]
    staff_user(app, "sophie", role="manager")
    staff_user(app, "eva", role="evaluator")
    texts = season.texts
    client = staff_client(app)
    texts["staff: login"] = plain_of(client.get("/connexion").text)
    texts["staff: login refused"] = plain_of(log_in(client, "sophie", "pas celui-là").text)
    for _ in range(app.settings.web.failures_per_account):
        throttled = log_in(client, "personne", "pas celui-là")
    texts["staff: login throttled"] = plain_of(throttled.text)
    texts["staff: forgot"] = plain_of(client.get("/mot-de-passe-oublie").text)
    csrf = csrf_of(client.get("/mot-de-passe-oublie").text)
    asked = client.post("/mot-de-passe-oublie", data={"csrf": csrf, "identifiant": "x"})
    texts["staff: forgot, asked"] = plain_of(asked.text)
    texts["staff: reset link refused"] = plain_of(client.get("/mot-de-passe/abc").text)
    texts["staff: signed out"] = plain_of(client.get("/connexion?fin=1").text)
    for login in ("eva", "admin"):
        if login == "admin":
            staff_user(app, "admin", role="administrator")
        who = staff_client(app)
        log_in(who, login)
        texts[f"staff: dashboard of {login}"] = plain_of(who.get("/").text)
    manager = staff_client(app)
    log_in(manager, "sophie")
    texts["staff: a case"] = plain_of(manager.get(f"/dossiers/{season.cases['adult']}").text)
    texts["staff: no such case"] = plain_of(manager.get("/dossiers/999999").text)
    texts["staff: the cases"] = plain_of(manager.get("/dossiers?etat=consent_reminded").text)
    texts["staff: the sheets"] = plain_of(manager.get("/fiches").text)
    texts["staff: the overdue sheets"] = plain_of(manager.get("/fiches?retard=1").text)
    texts["staff: steering"] = plain_of(manager.get("/pilotage").text)
    texts["staff: dashboard of a manager"] = plain_of(manager.get("/").text)
    followed = f"/dossiers/{season.cases['followed']}"
    texts["staff: a followed case"] = plain_of(manager.get(f"{followed}?besoin=housing").text)
    minor = manager.get(f"/dossiers/{season.cases['minor']}")
    version = re.search(r'name="version" value="(\d+)"', minor.text)
    assert version is not None
    refused = manager.post(
        f"/dossiers/{season.cases['minor']}",
        data={
            "csrf": csrf_of(minor.text),
            "action": "give_consent",
            "version": version.group(1),
            "given_by": "apprentice",
        },
    )
    texts["staff: an action refused"] = plain_of(refused.text)
    with app.db.transaction() as conn:  # the season's counsellor, given a password
        conn.execute(
            update(User)
            .where(User.login == "referente")
            .values(password_hash=hash_password(PASSWORD))
        )
    counsellor = staff_client(app)
    log_in(counsellor, "referente")
    texts["staff: dashboard of a counsellor"] = plain_of(counsellor.get("/").text)
    evaluator = staff_client(app)
    log_in(evaluator, "eva")
    texts["staff: refused to a role"] = plain_of(evaluator.get("/dossiers/1").text)
    reports = evaluator.get("/rapport")
    texts["staff: the report page"] = plain_of(reports.text)
    refused = evaluator.post(
        "/rapport/export",
        data={"csrf": csrf_of(reports.text), "cohorte": "1999", "format": "csv"},
    )
    texts["staff: an export refused"] = plain_of(refused.text)
    proofread(season)
    every = "\n".join(v for k, v in texts.items() if k.startswith("staff"))
    assert CODES.findall(every) == []
    assert "Anaïs ORAIN" in texts["staff: a case"]
