"""The README's "Running a season", run as written: each command of its block, in order, in an
empty folder (the default SQLite database in ./var/), with `casework mail catcher` started first
as the section says (on free ports here). Between the steps, what the section promises is
checked: each consent request reaches the case's own referent, the referral proposes partners by
need and territory, a handover moves cases and their later mail, a departed user's links stop
working."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from casework.app import App, build_app
from casework.cli import main
from casework.demo.mailcatcher import free_port
from casework.models import Beneficiary, Case, OutboxMail, User
from casework.settings import load_settings
from casework.web.links import LinkPages

ROOT = Path(__file__).resolve().parents[2]


def readme_blocks(heading: str) -> list[list[str]]:
    """The lines of each ```sh block of the README's section `heading`."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index(heading) :]
    section = section[: section.index("\n## ", 10)]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [[line for line in block.splitlines() if line.strip()] for block in blocks]


def season_block() -> list[str]:
    blocks = readme_blocks("## Running a season")
    assert blocks[0] == [".venv/bin/casework mail catcher"]
    return blocks[1]


def personal_data_block() -> list[str]:
    (block,) = readme_blocks("## Données personnelles")
    return block


@pytest.fixture
def catcher(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """`casework mail catcher`, started for real, on free ports: (SMTP port, pages' port)."""
    smtp, pages = free_port(), free_port()
    log = (tmp_path / "catcher.log").open("wb")  # closed when the catcher ends
    command = ["mail", "catcher", "--smtp-port", str(smtp), "--port", str(pages)]
    process = subprocess.Popen(
        [sys.executable, "-m", "casework", *command],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "CASEWORK_DATABASE_URL": f"sqlite:///{tmp_path}/catcher.sqlite3"},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{pages}/mails", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError((tmp_path / "catcher.log").read_text()) from None
                time.sleep(0.2)
        yield smtp, pages
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def mails_page(pages: int) -> list[tuple[str, str, str]]:
    """(recipients, path, subject) of each mail the catcher's list shows."""
    listing = httpx.get(f"http://127.0.0.1:{pages}/mails", timeout=10).text
    return re.findall(r"<td>([^<]*)</td><td><a href='(/mails/\d+)'>([^<]+)</a>", listing)


def test_running_a_season_as_the_readme_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catcher: tuple[int, int]
) -> None:
    smtp, pages = catcher
    work = tmp_path / "saison-2026"
    work.mkdir()
    (work / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(work)
    for variable in ("CASEWORK_AS", "CASEWORK_CONFIG", "CASEWORK_DATABASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    env = {"CASEWORK_MAIL_SMTP_PORT": str(smtp)}  # the catcher's port (8025 in the README)
    done: list[str] = []  # the steps run so far, as "command subcommand"
    run_as_written(season_block(), env, done, pages)
    assert done[-1] == "status"
    # "Données personnelles": the same folder, after the season.
    run_as_written(personal_data_block(), env, done, pages)
    assert done[-1] == "privacy purge"


def run_as_written(lines: list[str], env: dict[str, str], done: list[str], pages: int) -> None:
    """Each line as the shell would run it, in order; "refused" in its comment: must fail."""
    for line in lines:
        command, _, comment = line.partition("  #")
        command = command.strip()
        if command.startswith("export "):
            key, _, value = command[len("export ") :].partition("=")
            if value.startswith("$("):  # run as the shell would
                value = subprocess.run(
                    ["bash", "-c", f"echo {value}"], capture_output=True, text=True, check=True
                ).stdout.strip()
            env[key] = value
            continue
        words = shlex.split(command)
        assert words[0] == "casework", line
        result = CliRunner().invoke(main, words[1:], env=env)
        expected = 1 if "refused" in comment else 0
        assert result.exit_code == expected, f"{line}\n{result.output}"
        check(words[1:], result.output, done, env, pages)
        done.append(" ".join(words[1:3]))


def check(args: list[str], output: str, done: list[str], env: dict[str, str], pages: int) -> None:
    """What the README promises at this step."""
    step = " ".join(args[:2])
    if args[:3] == ["intake", "import", "cma"]:
        assert "colonnes ignorées" in output
        assert "incomplète(s)" in output
    elif step == "mail send" and "mail send" not in done:
        consent_mails_went_to_each_referent(env, pages)
    elif step == "case propose":
        assert "ADLJ 53" in output.splitlines()[1]  # housing, in the young person's département
    elif step == "case fire" and "refer" in args:
        assert "Fiche de liaison n° 1 créée (brouillon) : casework sheet fire 1 send" in output
    elif step == "sheet fire":
        assert "envoyée" in output
    elif step == "cases handover":
        with opened(env) as app, app.db.read() as conn:
            left = select(Case.id).where(Case.referent == "paul", Case.group == "test")
            assert conn.execute(left).first() is None
    elif step == "users deactivate":
        departed_links_stop_working(env, pages)
    elif step.startswith("simulate"):
        later_mail_goes_to_the_new_referent(env)
    elif step.startswith("privacy") or "withdraw_consent" in args or "privacy erase" in done:
        personal_data_as_promised(args, output, env)


@contextmanager
def opened(env: dict[str, str]) -> Iterator[App]:
    """The application as the command line builds it, with the walkthrough's environment."""
    app = build_app(load_settings(environ={**os.environ, **env}))
    try:
        yield app
    finally:
        app.close()


def consent_mails_went_to_each_referent(env: dict[str, str], pages: int) -> None:
    with opened(env) as app, app.db.read() as conn:
        emails = dict(conn.execute(select(User.login, User.email)).all())
        referents = dict(conn.execute(select(Case.id, Case.referent)).all())
        sent = conn.execute(
            select(OutboxMail.case_id, OutboxMail.recipients).where(
                OutboxMail.template == "case/consent_request"
            )
        ).all()
    assert len(sent) > 20
    for case_id, recipients in sent:
        assert recipients == [emails[referents[case_id]]]
    shown = " ".join(to for to, _path, _subject in mails_page(pages))
    for login in ("claire", "paul", "sophie"):  # balanced: everyone got some
        assert emails[login] in shown


def departed_links_stop_working(env: dict[str, str], pages: int) -> None:
    """A consent link sent to Claire, clicked after she left: 410, nothing done."""
    path = next(p for to, p, _subject in mails_page(pages) if to == "claire@ml.example")
    page = httpx.get(f"http://127.0.0.1:{pages}{path}", timeout=10).text
    link = re.search(r'href="https?://[^/"]+(/l/[^"]+)"', page)
    assert link is not None, page
    with opened(env) as app:
        answer = TestClient(Starlette(routes=LinkPages(app).routes())).get(link.group(1))
    assert answer.status_code == 410
    assert "Lien révoqué" in answer.text


def later_mail_goes_to_the_new_referent(env: dict[str, str]) -> None:
    """Ten days on, the consent reminders of the cases Paul and Claire followed go to Sophie."""
    with opened(env) as app, app.db.read() as conn:
        reminders = conn.execute(
            select(OutboxMail.recipients).where(OutboxMail.template == "case/consent_reminder")
        ).all()
    assert reminders
    assert {tuple(r.recipients or ()) for r in reminders} == {("sophie@ml.example",)}


def personal_data_as_promised(args: list[str], output: str, env: dict[str, str]) -> None:
    """What "Données personnelles" says each step does, for case 4's young person."""
    step = " ".join(args[:2])
    if step == "privacy register":
        assert "Registre des activités de traitement" in Path("registre.md").read_text("utf-8")
    elif step == "privacy export":
        (copy,) = Path("copie-dossier-4").glob("*.json")
        assert '"cases"' in copy.read_text("utf-8")
        assert list(Path("copie-dossier-4").glob("*.html"))
    elif "withdraw_consent" in args:
        with opened(env) as app, app.db.read() as conn:
            state = conn.execute(select(Case.state).where(Case.id == 4)).scalar_one()
        assert state == "consent_withdrawn"
    elif step == "mail send":
        with opened(env) as app, app.db.read() as conn:
            stops = conn.execute(
                select(OutboxMail.status).where(OutboxMail.template == "liaison/withdrawn")
            ).all()
        assert [s.status for s in stops] == ["sent"]  # sheet 1's partner, told to stop
    elif step == "privacy erase" and "--case" in args and args[args.index("--case") + 1] == "4":
        with opened(env) as app, app.db.read() as conn:
            person = conn.execute(
                select(Beneficiary)
                .join(Case, Case.beneficiary_id == Beneficiary.id)
                .where(Case.id == 4)
            ).one()
        assert person.anonymised_at is not None
        assert person.phone is None
    elif step == "privacy erase":
        assert "encore en cours" in output  # why case 5's erasure is refused
    elif step == "privacy access-log":
        assert "casework privacy export" in output
        assert "dossier n° 4" in output
    elif step == "privacy purge":
        assert "Identité" in output
