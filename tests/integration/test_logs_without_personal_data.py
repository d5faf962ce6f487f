"""No personal data in the application's logs, on both databases: real paths that used to log
names, addresses and texts (a partner's alert naming an apprentice, mail sent to a partner, a
partner's reply refused, an unknown sender, a rejected mail, an import with bad rows), run at
DEBUG after the command line has configured logging; and with `[logging] personal_data = true`,
the addresses are there and every command warns at start."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.demo.mailcatcher import MailCatcher
from casework.inbound.ingest import Ingestor
from casework.inbound.review import Review
from casework.intake.importer import Importer
from casework.intake.sample_files import write_sample_files
from casework.models import InboundStatus
from casework.notify.sender import MailSender
from casework.privacy.logs import WARNING, WARNING_FRENCH
from tests.factories import add_case, add_contact, add_partner, add_sheet
from tests.integration.test_alerts import ALERT_ADDRESS, CFA, alert_mail, cfa
from tests.integration.test_ingest import reply

PARTNER = "sophie.lenormand@adlj53.example"
STRANGER = "inconnue.perrichon@ailleurs.example"
# What must never reach the log: the young person's names, the partners' contacts (names and
# addresses), what people wrote, the subjects naming the apprentice.
SECRETS = (
    "Zéphyrine",
    "Quatremare",
    "QUATREMARE",
    CFA,
    PARTNER,
    STRANGER,
    "Lenormand",
    "Perrichon",
    "Vie scolaire",
    "pas venue au CFA",
    "Logement trouvé",
    "a déménagé à Rennes",
)


def configure_logging(db_url: str, personal_data: bool = False) -> Result:
    """A command run as people run it: `main` configures logging (the filter, or the warning)."""
    env = {"CASEWORK_AS": None, "CASEWORK_LOGGING_PERSONAL_DATA": str(personal_data).lower()}
    done = CliRunner().invoke(main, ["--database", db_url, "case", "list"], env=env)  # type: ignore[arg-type]
    assert done.exit_code == 0, done.output
    return done


def the_mail_paths(app: App, catcher: MailCatcher) -> None:
    """An alert naming the apprentice, mail to a partner, a partner's refused reply, a reply from
    a stranger, and a person rejecting it with a reason."""
    cfa(app)  # the counsellor, and the CFA's contact "Vie scolaire"
    case_id = add_case(
        app, state="follow_up", cycle=1, first_names="Zéphyrine", birth_name="Quatremare"
    )
    alert = alert_mail(
        "Bonjour,\r\n\r\nZéphyrine QUATREMARE n'est pas venue au CFA depuis deux semaines.\r\n",
        subject="Absences de Zéphyrine Quatremare",
    )
    Ingestor(app).ingest(alert, "lmtp", recipients=(ALERT_ADDRESS,))
    partner_id = add_partner(app, name="ADLJ 53")
    add_contact(app, partner_id, PARTNER, name="Sophie Lenormand")
    sheet_id = add_sheet(app, partner_id=partner_id, case_id=case_id)
    app.engine.fire_sheet(sheet_id, "send", Actor.person("referente"))
    MailSender(app).drain_sync()
    sent = catcher.wait_for(2)
    (to_partner,) = [m for m in sent if m.recipients == [PARTNER]]
    app.engine.fire_sheet(sheet_id, "cancel", Actor.person("referente"), reason="plus utile")
    refused = Ingestor(app).ingest(reply(to_partner, "Logement trouvé.", sender=PARTNER), "test")
    assert refused.status == InboundStatus.QUARANTINED  # the sheet is cancelled: refused
    stranger = Ingestor(app).ingest(reply(to_partner, "Vu.", sender=STRANGER), "test")
    assert stranger.status == InboundStatus.QUARANTINED
    Review(app).reject(stranger.id, Actor.person("referente"), "Zéphyrine a déménagé à Rennes")


def test_mail_paths_log_numbers_not_people(
    mail_app: App, catcher: MailCatcher, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    configure_logging(db_url)
    caplog.set_level(logging.DEBUG)
    the_mail_paths(mail_app, catcher)
    text = caplog.text
    assert "alert 1 on case" in text  # the paths did log, by number
    assert "quarantined" in text
    assert "<email>" in text  # the unknown sender's address, said in the reason, masked
    for secret in SECRETS:
        assert secret not in text, secret
    assert WARNING not in text


def test_with_personal_data_on_every_command_warns_and_addresses_are_logged(
    mail_app: App, catcher: MailCatcher, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    done = configure_logging(db_url, personal_data=True)
    assert WARNING_FRENCH in done.stderr
    assert WARNING_FRENCH not in done.stdout
    assert WARNING in caplog.text
    the_mail_paths(mail_app, catcher)
    assert STRANGER in caplog.text  # the quarantine's reason, as it is
    assert "<email>" not in caplog.text


def test_an_import_with_bad_rows_logs_no_name(
    app: App, db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_sample_files(tmp_path, 40, seed=5, cohort=2026)
    cma = tmp_path / "contrats_cma.csv"
    with cma.open(encoding="cp1252") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    names = {v for r in rows for k, v in r.items() if k and "nom" in k.lower() and v}
    assert len(names) > 20
    configure_logging(db_url)
    caplog.set_level(logging.DEBUG)
    report = Importer(app).run(cma, "cma", actor=Actor.person("referente"), skip_invalid=True)
    assert report.rejected > 0
    assert "rejected" in caplog.text
    logged = caplog.text
    assert not [name for name in names if f" {name}" in logged or f"{name} " in logged]
