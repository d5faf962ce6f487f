"""`casework mail catcher`: a local mailbox to try casework with, no relay needed.

The demo's catcher (`demo/mailcatcher.py`) on its own: an SMTP server on the relay's default
address (127.0.0.1:8025), keeping what it receives in memory, with its pages on
http://127.0.0.1:8026/mails. Replies written there as their recipient are taken in like real
mail when link keys are set (replies are matched by signed addresses). Loopback only.
"""

from __future__ import annotations

import socket
import threading
from types import SimpleNamespace
from typing import Any

import click

from casework.cli.mail import mail
from casework.cli.main import Context, printable

HOST = "127.0.0.1"  # a test mailbox that anyone on the network could read is not one


@mail.command("catcher")
@click.option("--smtp-port", type=int, default=8025, show_default=True, help="Port SMTP.")
@click.option("--port", type=int, default=8026, show_default=True, help="Port des pages.")
@click.pass_obj
def catcher(context: Context, smtp_port: int, port: int) -> None:
    """Boîte aux lettres locale pour essayer casework sans relais : un serveur SMTP sur
    127.0.0.1 (le relais par défaut, port 8025) qui garde les courriels reçus, et leurs pages
    sur http://127.0.0.1:8026/mails, où répondre comme le destinataire. Chaque courriel reçu
    est annoncé ici. Ctrl-C l'arrête ; rien n'est gardé.

    \b
    Exemple (dans un autre terminal) :
      casework mail catcher
    """
    import uvicorn
    from starlette.applications import Starlette

    from casework.demo.mailcatcher import MailCatcher

    for what, number in (("SMTP", smtp_port), ("des pages", port)):
        if not _free(number):
            raise click.ClickException(
                f"le port {what} {number} est déjà pris (une autre boîte tourne déjà ?) : "
                "arrêtez-la, ou choisissez-en un autre (--smtp-port, --port)."
            )
    take_reply = _reply_taker(context)
    box = MailCatcher(HOST, smtp_port).start()

    stop = threading.Event()
    threading.Thread(target=_announce, args=(box, stop), daemon=True).start()
    click.echo(
        f"Boîte locale : SMTP {HOST}:{smtp_port}, courriels sur http://{HOST}:{port}/mails "
        "(Ctrl-C pour arrêter)."
    )
    try:
        web = Starlette(routes=box.routes(take_reply))
        uvicorn.run(web, host=HOST, port=port, log_level="warning", access_log=False)
    finally:
        stop.set()
        box.stop()


def _free(port: int) -> bool:
    """Whether the servers can listen on `port`: probed as they bind it (SO_REUSEADDR), so the
    connections a catcher just stopped left in TIME_WAIT do not count as "taken"."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return False
    return True


def _reply_taker(context: Context) -> Any:
    """Replies written on the pages are taken in like real mail, into this folder's database,
    when it can: link keys set (replies are matched by signed addresses) and, at each reply, the
    schema there (the catcher may be started before `casework init-db`; a reply into a database
    with no schema was a 500)."""
    from casework.migrate import current_revision, head_revision

    if not context.settings.mail.link_keys:
        click.echo(
            "Réponses sur les pages : non prises (pas de clés de liens : exportez "
            "CASEWORK_MAIL_LINK_KEYS avant de lancer la boîte)."
        )
        return None
    app = context.app
    ingestor = None

    def take(raw: bytes) -> Any:
        nonlocal ingestor
        if current_revision(app.db) != head_revision(app.db):
            return SimpleNamespace(
                status="non prise",
                reason="la base de ce dossier n'a pas de schéma à jour (casework init-db)",
            )
        if ingestor is None:
            from casework.inbound.ingest import Ingestor

            ingestor = Ingestor(app)
        return ingestor.ingest(raw, "catcher")

    click.echo(
        "Réponses sur les pages : prises comme des courriels reçus, dans la base de ce dossier."
    )
    return take


def _announce(box: Any, stop: threading.Event) -> None:
    """One line per mail as it arrives: to whom, about what."""
    seen = 0
    while not stop.is_set():
        with box.received:
            box.received.wait(timeout=0.5)
            arrived = list(box.messages)[seen:]
        seen += len(arrived)
        for caught in arrived:
            to = ", ".join(caught.recipients)
            subject = caught.message["Subject"] or "(sans objet)"
            click.echo(f"  → {printable(to)} : « {printable(subject)} »")
