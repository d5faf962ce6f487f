"""`casework serve --demo`: mail arrives in the local catcher, a newcomer opens it, and its
links work (GET shows the form, POST records the step)."""

from __future__ import annotations

import html
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx2 as httpx

from casework.demo.database import DEMO_APPLICATION_ID
from casework.demo.mailcatcher import free_port


def test_the_demo_shows_its_mail_and_the_links_work(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "CASEWORK_LOGGING_LEVEL": "WARNING"}
    env.pop("CASEWORK_DATABASE_URL", None)
    with (tmp_path / "demo.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "casework", "serve", "--demo", "--port", str(port)],
            cwd=tmp_path,  # the demo database goes to ./var/
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            consent = None
            deadline = time.monotonic() + 90
            while consent is None and time.monotonic() < deadline:
                time.sleep(0.5)
                try:
                    listing = client.get("/mails").text
                except httpx.TransportError:
                    continue
                # The cases left to the newcomer: the simulation never answers them. Their
                # reminders' links: a case reminded waits with no timer (a first request's links
                # may go stale under the test's feet when the fast clock brings the reminder).
                for path, subject in re.findall(r"<a href='(/mails/\d+)'>([^<]+)</a>", listing):
                    if html.unescape(subject).lower().startswith("relance : consentement"):
                        page = client.get(path).text
                        for link in re.findall(rf'href="{base}(/l/[^"]+)"', page):
                            form = client.get(link)
                            if form.status_code == 200 and "given_by" in form.text:
                                consent = (link, form)
                                break
                    if consent:
                        break
            assert consent is not None, (tmp_path / "demo.log").read_text()
            link, form = consent
            assert "Consentement recueilli" in html.unescape(form.text)
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
            answer = {"csrf": csrf, "given_by": "apprentice"}
            if 'name="guardian_agreed"' in form.text:  # a minor: the guardian's agreement too
                answer["guardian_agreed"] = "oui"
            done = client.post(link, data=answer)
            assert done.status_code == 200, done.text
            assert "Merci, c'est enregistré" in html.unescape(done.text)
            again = client.post(link, data=answer)
            assert "Déjà enregistré" in html.unescape(again.text)
            health = client.get("/health").json()
            assert health["status"] == "ok", health
            assert health["mail"]["outbox"]["queued"] >= 0  # counted in the background
            # The front page is the staff pages' login; the demo's accounts are printed at start.
            assert client.get("/", follow_redirects=False).headers["location"] == "/connexion"
            started = (tmp_path / "demo.log").read_text()
            assert f"Pages du personnel : {base}/ (identifiants ci-dessous)" in started
            password = re.search(r"mot de passe de chacun : (demo-\S+)", started).group(1)  # type: ignore[union-attr]
            login = client.get("/connexion").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)  # type: ignore[union-attr]
            signed = client.post(
                "/connexion",
                data={"csrf": csrf, "identifiant": "referente", "mot_de_passe": password},
            )
            assert signed.headers["location"] == "/"
            dashboard = html.unescape(client.get("/").text)
            assert "Tableau de bord" in dashboard
            assert "dossiers dans votre périmètre" in dashboard
            # Reply, as the housing partner (the simulation leaves its sheets to us), to a sheet.
            replied = None
            deadline = time.monotonic() + 90
            while replied is None and time.monotonic() < deadline:
                listing = client.get("/mails").text
                for path, subject in re.findall(r"<a href='(/mails/\d+)'>([^<]+)</a>", listing):
                    if html.unescape(subject).startswith("Fiche de liaison"):
                        shown = client.get(path)
                        page = shown.text
                        if "Répondre comme accueil@adlj53.example" in html.unescape(page):
                            assert "default-src 'none'" in shown.headers["content-security-policy"]
                            # Without the form's CSRF value (another site posting): refused.
                            forged = client.post(f"{path}/reply", data={"text": "Faux."})
                            assert forged.status_code == 403
                            csrf = re.search(r"name='csrf' value='([^']+)'", page).group(1)  # type: ignore[union-attr]
                            answer = client.post(
                                f"{path}/reply", data={"csrf": csrf, "text": "Bien reçu."}
                            )
                            replied = html.unescape(answer.text)
                            break
                time.sleep(0.5)
            assert replied is not None, "no sheet sent to the housing partner in time"
            assert "Réponse prise en compte</strong> : accusé de réception enregistré." in replied
            # The daily digest comes every working day, and mail is dated in working hours
            # (the demo's clock: casework/demo/clock.py).
            deadline = time.monotonic() + 60
            listing = ""
            while "Vos actions du " not in listing and time.monotonic() < deadline:
                time.sleep(0.5)
                listing = html.unescape(client.get("/mails").text)
            assert "Vos actions du " in listing, "no daily digest in time"
            dated = re.findall(r"<td>\d\d/\d\d/\d{4} (\d\d):\d\d</td>", listing)
            assert dated
            assert all(8 <= int(hour) <= 18 for hour in dated), dated
        # The database is marked as the demo's own: the next `serve --demo` may empty it.
        with sqlite3.connect(tmp_path / "var" / "demo.sqlite3") as conn:
            assert conn.execute("PRAGMA application_id").fetchone()[0] == DEMO_APPLICATION_ID
        conn.close()
    finally:
        process.terminate()
        process.wait(timeout=30)
