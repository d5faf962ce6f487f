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
from casework.models import Case, OutboxMail, User
from casework.settings import load_settings
from casework.web.links import LinkPages

ROOT = Path(__file__).resolve().parents[2]


def season_block() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Running a season") :]
    section = section[: section.index("\n## ", 10)]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    assert blocks[0].strip() == ".venv/bin/casework mail catcher"
    return [line for line in blocks[1].splitlines() if line.strip()]


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
    for line in season_block():
        command = line.split("  #")[0].strip()
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
        assert result.exit_code == 0, f"{line}\n{result.output}"
        check(words[1:], result.output, done, env, pages)
        done.append(" ".join(words[1:3]))
    assert done[-1] == "status"


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
