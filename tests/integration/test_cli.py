"""The command line, against a real database: French messages, exit codes, no tracebacks."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.cli.main import EPILOG
from casework.database import Database
from casework.demo.mailcatcher import MailCatcher
from casework.french import faults
from casework.migrate import head_revision
from casework.models import Contract, User
from casework.settings import DatabaseSettings
from tests.factories import NEW_KEY, add_case, add_user, events


def run(db_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, ["--database", db_url, *args], env=env, catch_exceptions=False)


def test_init_db_on_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    first = run(url, "init-db")
    assert first.exit_code == 0, first.output
    head = head_revision(Database(DatabaseSettings(url=url)))
    assert f"vide → {head}" in first.output
    again = run(url, "init-db")
    assert "déjà à jour" in again.output


def test_workflows_check_and_show(db_url: str) -> None:
    checked = run(db_url, "workflows", "check")
    assert checked.exit_code == 0
    assert "Workflows valides : case v1, liaison v1, pre_apprenticeship v1." in checked.output
    shown = run(db_url, "workflows", "show", "case", "--mermaid")
    assert shown.output.startswith("stateDiagram-v2")
    text = run(db_url, "workflows", "show", "liaison")
    assert "Transitions :" in text.output
    unknown = run(db_url, "workflows", "show", "nope")
    assert unknown.exit_code == 1
    assert "Workflow inconnu : nope." in unknown.output


def test_workflows_check_reports_problems_with_file_and_line(db_url: str, tmp_path: Path) -> None:
    broken = tmp_path / "workflows"
    broken.mkdir()
    (broken / "bad.yaml").write_text(
        "workflow: bad\nversion: 1\nentity: case\ninitial: a\nstates:\n  a: {}\n"
        "transitions:\n  - trigger: go\n    source: a\n    dest: b\n",
        encoding="utf-8",
    )
    result = run(db_url, "workflows", "check", env={"CASEWORK_PATHS_WORKFLOWS": str(broken)})
    assert result.exit_code == 1
    assert (
        f"{broken / 'bad.yaml'}:8: transition 'go': unknown destination state 'b'" in result.output
    )
    assert "problème(s) trouvé(s)" in result.output


def test_case_list_show_fire_and_history(app: App, db_url: str) -> None:
    add_user(app, login="anne", email="anne@ml.example")
    case_id = add_case(app, state="follow_up", cycle=2)
    listed = run(db_url, "case", "list")
    assert f"{case_id:>6}  2026  test" in listed.output
    assert "Léa MARTIN — Boulangerie Dupont" in listed.output
    summary = run(db_url, "case", "list", "--summary", "--group", "test")
    assert summary.output.splitlines()[0].split() == ["Groupe", "État", "Dossiers"]
    assert re.search(r"^test +Suivi mensuel +1$", summary.output, re.M), summary.output
    assert re.search(r"^Total +1$", summary.output, re.M)
    assert "follow_up" not in summary.output  # labels, not codes
    assert run(db_url, "case", "list", "--group", "témoin").output == "Aucun dossier.\n"
    by_label = run(db_url, "case", "list", "--state", "suivi mensuel").output
    assert "Léa MARTIN" in by_label  # a state by its label, as the list shows it
    unknown = CliRunner().invoke(main, ["--database", db_url, "case", "list", "--state", "suivi"])
    assert unknown.exit_code == 2
    assert "état « suivi » inconnu. États : " in unknown.output
    assert "Suivi mensuel ;" in unknown.output
    shown = run(db_url, "case", "show", str(case_id))
    assert f"Dossier {case_id} — Léa Marie MARTIN" in shown.output
    assert "; statut : non renseigné" in shown.output
    with app.db.transaction() as conn:  # as a chamber's file gives it
        conn.execute(update(Contract).values(learner_status="student"))
    shown = run(db_url, "case", "show", str(case_id))
    assert "; statut : étudiant(e) du supérieur" in shown.output
    assert "Référent : referente" in shown.output  # a login no user has: shown as it is
    add_user(app)
    shown = run(db_url, "case", "show", str(case_id))
    assert "Référent : Claire Martin (referente)" in shown.output
    assert "record_contact" in shown.output
    assert "channel*" in shown.output
    fired = run(
        db_url,
        "case",
        "fire",
        str(case_id),
        "record_contact",
        "-d",
        "channel=phone",
        "-d",
        "duration_min=25",
        "-d",
        "difficulties=housing,money",
        "--as",
        "anne",
    )
    assert fired.exit_code == 0, fired.output
    assert f"Dossier {case_id} : Enregistrer un contact — Suivi mensuel." in fired.output
    history = run(db_url, "history", str(case_id))
    # Labels, not codes nor a Python list (`--json` keeps the codes).
    assert "anne" in history.output
    assert (
        "Enregistrer un contact (Suivi mensuel)  (Canal : téléphone ; Durée (minutes) : 25 ; "
        "Difficultés repérées : logement, argent et budget)"
    ) in history.output
    as_json = run(db_url, "history", str(case_id), "--json")
    assert '"trigger": "record_contact"' in as_json.output


def test_refusals_are_french_messages_not_tracebacks(app: App, db_url: str) -> None:
    add_user(app)
    case_id = add_case(app, state="closed")
    refused = run(db_url, "case", "fire", str(case_id), "next_cycle", "--as", "referente")
    assert refused.exit_code == 1
    assert "n'est pas possible depuis cet état" in refused.output
    assert "Traceback" not in refused.output
    missing = run(db_url, "case", "show", "999")
    assert missing.exit_code == 1
    assert "Dossier 999 introuvable." in missing.output
    stale = run(
        db_url,
        "case",
        "fire",
        str(case_id),
        "close",
        "--expected-version",
        "7",
        "--as",
        "referente",
    )
    assert "modifié entre-temps" in stale.output
    bad = run(db_url, "case", "fire", str(case_id), "close", "-d", "reason")
    assert bad.exit_code == 2
    assert "attendu CHAMP=VALEUR" in bad.output


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


@pytest.mark.parametrize("path", [(), *_commands(main)], ids=lambda p: " ".join(p) or "casework")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    """In French, Click's own words included (usage, options, value types), proofread."""
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="casework")
    assert result.exit_code == 0
    assert "Utilisation : casework" in result.output
    assert "Affiche cette aide et quitte." in result.output
    assert not re.search(r"Usage:|Options:|\b(?:TEXT|INTEGER|FLOAT|BOOLEAN)\b", result.output)
    assert faults(result.output) == []


def test_click_says_its_errors_in_french() -> None:
    missing = CliRunner().invoke(main, ["case", "show"])
    assert "Erreur : Argument manquant 'DOSSIER'." in missing.output
    wrong = CliRunner().invoke(main, ["case", "list", "--group", "x"])
    expected = "« x » n'est pas une des valeurs possibles : 'test', 'témoin', 'control'."
    assert expected in wrong.output
    unknown = CliRunner().invoke(main, ["histry"])
    assert "Commande inconnue : « histry ». Vouliez-vous dire 'history' ?" in unknown.output


def _examples(text: str, fenced: bool = False) -> list[str]:
    """`casework …` command lines in a text: --help epilogs, or the docs' code blocks."""
    found, inside = [], not fenced
    for raw in text.splitlines():
        line = raw.strip()
        if fenced and line.startswith("```"):
            inside = not inside
            continue
        line = line.removeprefix(".venv/bin/")
        if inside and line.startswith("casework "):
            found.append(line.split("#")[0].split(">")[0].strip())
    return found


ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCUMENTED = [e for doc in DOCS for e in _examples(doc.read_text(encoding="utf-8"), fenced=True)]


@pytest.mark.parametrize("example", _examples(EPILOG) + DOCUMENTED)
def test_documented_examples_name_real_commands_and_options(example: str) -> None:
    words = shlex.split(example)[1:]
    group: click.Command = main
    path: list[str] = []
    options = {o for p in main.params for o in p.opts}
    for word in words:
        if isinstance(group, click.Group) and word in group.commands:
            group = group.commands[word]
            path.append(word)
            options |= {o for p in group.params for o in getattr(p, "opts", [])}
    assert path, example
    assert not isinstance(group, click.Group), f"{example}: names a group, not a command"
    for word in words:
        if word.startswith("-"):
            assert word in options, f"{example}: unknown option {word}"


def test_simulate_runs_months_of_timers_in_seconds(app: App, db_url: str) -> None:
    from casework.actors import Actor

    ids = [add_case(app, state="consented") for _ in range(3)]
    app.engine.fire_many("case", ids, "start_follow_up", Actor.person("referente"))
    result = run(db_url, "simulate", "--days", "200", "--from", "2026-09-02")
    assert result.exit_code == 0, result.output
    # Five more cycles, then monitoring: six timers each.
    assert "200 jour(s) simulé(s) : 18 minuteur(s) déclenché(s)." in result.output
    assert "3 déclenché(s) (Passer au point mensuel suivant ×3)" in result.output
    assert faults(result.output) == []
    listed = run(db_url, "case", "list", "--summary")
    assert "Veille jusqu'à la fin du contrat" in listed.output


def test_status_and_timers(app: App, db_url: str) -> None:
    from sqlalchemy import update

    from casework.actors import Actor
    from casework.models import Timer

    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    status = run(db_url, "status")
    assert "Minuteurs : 1 en attente" in status.output
    assert f"dossier {case_id} : Relancer pour le consentement" in status.output
    assert "Aucun service n'a encore tourné" in status.output
    timers = run(db_url, "timers").output
    assert "Relancer pour le consentement (état : Consentement à recueillir)" in timers
    assert "Aucun minuteur en échec." in run(db_url, "timers", "--failed").output
    with app.db.transaction() as conn:
        conn.execute(
            update(Timer).values(status="failed", attempts=5, last_error="RuntimeError: x")
        )
    failed = run(db_url, "timers", "--failed")
    assert "5 tentative(s)" in failed.output
    assert "raison : RuntimeError: x" in failed.output


def test_serve_refuses_an_outdated_schema(tmp_path: Path) -> None:
    result = run(f"sqlite:///{tmp_path / 'empty.sqlite3'}", "serve", "--no-web")
    assert result.exit_code == 1
    assert "lancez d'abord `casework init-db`" in result.output


def test_mail_commands(db_url: str, app: App, catcher: MailCatcher) -> None:
    added = run(
        db_url,
        "users",
        "add",
        "referente",
        "--name",
        "Claire Martin",
        "--email",
        "claire@ml.example",
    )
    assert added.exit_code == 0, added.output
    assert "« referente » ajouté(e)" in added.output
    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    assert "1 en attente, 0 envoyés" in run(db_url, "mail", "status").output
    env = {
        "CASEWORK_MAIL_SMTP_PORT": str(catcher.port),
        "CASEWORK_MAIL_LINK_KEYS": NEW_KEY,
        "CASEWORK_MAIL_RATE_PER_SECOND": "0",
    }
    sent = run(db_url, "mail", "send", env=env)
    assert "1 envoyé(s), 0 à réessayer, 0 en échec" in sent.output, sent.output
    listed = run(db_url, "mail", "list", "--case", str(case_id))
    assert "envoyé             → claire@ml.example" in listed.output
    assert "« Consentement à recueillir : Léa MARTIN »" in listed.output
    assert "Aucun courriel." in run(db_url, "mail", "list", "--status", "failed").output
    no_keys = run(db_url, "mail", "send", env={"CASEWORK_MAIL_LINK_KEYS": ""})
    assert no_keys.exit_code == 1
    assert "link_keys" in no_keys.output


def test_acting_as_someone_needs_an_active_user(app: App, db_url: str) -> None:
    case_id = add_case(app, state="follow_up", cycle=1)
    add_user(app, login="anne", email="anne@ml.example")
    contact = ("case", "fire", str(case_id), "record_contact", "-d", "channel=phone")
    contact += ("-d", "duration_min=5")
    unknown = run(db_url, *contact, "--as", "personne")
    assert unknown.exit_code == 1
    assert "« personne » n'est pas un utilisateur de casework" in unknown.output
    nobody = run(db_url, *contact)  # the terminal's login, which is no user here
    assert "l'utilisateur du terminal ; précisez --as IDENTIFIANT" in nobody.output
    assert run(db_url, *contact, env={"CASEWORK_AS": "anne"}).exit_code == 0
    with app.db.transaction() as conn:
        conn.execute(update(User).where(User.login == "anne").values(active=False))
    left = run(db_url, *contact, "--as", "anne")
    assert "« anne » est un utilisateur désactivé" in left.output
    assert [e.actor for e in events(app, "case", case_id)[1:]] == ["anne"]


def test_names_and_mail_text_are_printed_without_escape_sequences(app: App, db_url: str) -> None:
    add_user(app)
    fake = "Léa\x1b[2J\x1b]0;pwned\x07\rMARTIN\x1b[1A\x9b2J\u202e"
    case_id = add_case(app, state="follow_up", cycle=1, first_names=fake)
    # An actor's name as a mail header could carry it (the engine takes actors as given).
    contact = {"channel": "phone", "duration_min": 5}
    app.engine.fire_case(case_id, "record_contact", Actor.person("x\x1b[31m\x1b]8;;"), **contact)
    commands = [("case", "list"), ("case", "show", str(case_id)), ("history", str(case_id))]
    commands += [("history", str(case_id), "--json"), ("links", "list", "--case", str(case_id))]
    for args in commands:
        # color=True: as on a terminal, where click would not strip escape sequences itself.
        output = CliRunner().invoke(main, ["--database", db_url, *args], color=True).output
        for bad in ("\x1b", "\r", "\x9b", "\u202e"):
            assert bad not in output, (args, output)
    assert "Léa" in run(db_url, "case", "show", str(case_id)).output
    short = run(db_url, "mail", "send", env={"CASEWORK_MAIL_LINK_KEYS": "x"})
    assert short.exit_code == 1
    assert "mail.link_keys : la clé n° 1 est trop courte" in short.output
    assert "Traceback" not in short.output


def test_mail_send_and_simulate_say_when_the_relay_is_down(app: App, db_url: str) -> None:
    from casework.demo.mailcatcher import free_port

    add_user(app)
    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", Actor.person("referente"))
    env = {"CASEWORK_MAIL_SMTP_PORT": str(free_port()), "CASEWORK_MAIL_LINK_KEYS": NEW_KEY}
    sent = run(db_url, "mail", "send", env=env)
    assert sent.exit_code == 1
    assert "relais injoignable" in sent.output
    simulated = run(db_url, "simulate", "--days", "10", "--mail", env=env)
    assert simulated.exit_code == 1
    assert "envoi impossible le " in simulated.output


def test_a_command_in_a_folder_with_no_schema_says_to_run_init_db(tmp_path: Path) -> None:
    listed = CliRunner().invoke(
        main, ["--database", f"sqlite:///{tmp_path / 'x.sqlite3'}", "case", "list"]
    )
    assert listed.exit_code == 1
    assert "n'a pas de schéma : lancez d'abord `casework init-db`" in listed.output
    assert "Traceback" not in listed.output


def test_the_mail_catcher_says_why_it_cannot_start_or_take_replies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    from casework.cli.catcher import _reply_taker
    from casework.cli.main import Context

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        url = f"sqlite:///{tmp_path / 'c.sqlite3'}"
        refused = CliRunner().invoke(
            main, ["--database", url, "mail", "catcher", "--port", str(busy)]
        )
    assert refused.exit_code == 1
    assert f"le port des pages {busy} est déjà pris" in refused.output
    assert "Traceback" not in refused.output

    # No schema in this folder's database: replies are not taken in, and it says so.
    blank = f"sqlite:///{tmp_path / 'blank.sqlite3'}"
    assert _reply_taker(Context(None, blank)) is None
    assert "pas de clés de liens" in capsys.readouterr().out
    monkeypatch.setenv("CASEWORK_MAIL_LINK_KEYS", NEW_KEY)
    take = _reply_taker(Context(None, blank))  # started before init-db: checked at each reply
    assert "prises comme des courriels reçus" in capsys.readouterr().out
    refused = take(b"From: a@b.example\r\n\r\nBonjour")
    assert (refused.status, refused.reason) == (
        "non prise",
        "la base de ce dossier n'a pas de schéma à jour (casework init-db)",
    )


def test_a_port_a_stopped_catcher_left_in_time_wait_is_free_again() -> None:
    """Ctrl-C, then start again: the connections just closed (TIME_WAIT) do not make the
    catcher refuse its own port."""
    import socket

    from casework.cli.catcher import _free

    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the server side closes first: its end waits in TIME_WAIT
        client.close()
    assert _free(port)
