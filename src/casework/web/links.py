"""The pages behind the signed links in mails: `/l/<token>`.

GET and HEAD only look: they check the link and show what it is about with a form for what the
transition needs; nothing is written (mail scanners and link previews open every link). The page
has no script and no auto-submit; it is not cached, not indexed, and sends no Referer.

POST fires the transition, after a CSRF check (a random value in a SameSite=Strict cookie set
by the GET, which the form must send back; and the Origin, when the browser gives one, must be
ours). The cookie and the Origin are checked before the body is read, and the body is read
within `service.max_form_bytes` (casework/web/forms.py). In one transaction: the link is marked
used (an UPDATE that only matches an unused link, so a second POST, or a race, finds it used and
fires nothing), the row is checked to be still in the situation the mail was about (locked on
PostgreSQL), and the engine fires the trigger with the version just read. Any failure rolls the
whole back, the "used" mark included.

Stale: a link is for the situation the row was in when the mail was written. It is stale when
its trigger is no longer open where the row now is, or when the other side has moved the row to
another state since (an import or the counsellor for a partner's link; an import or a partner
for a counsellor's). Deadlines (a reminder, an overdue mark) and the link's own side (a colleague
at the same partner acknowledged the sheet) leave it valid: the person holding it still has the
same thing to do.

Refused by a guard (a minor's consent without the guardian's agreement): not stale. The form
is shown again (422) with what was typed and the guard's French reason; nothing was written and
the link is still good. Values that do not fit a field are shown again the same way.

Every refusal is a French page with a 4xx status and a log line; none changes anything.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from sqlalchemy import Connection, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from casework.actors import Actor
from casework.app import App
from casework.engine.entities import KINDS, RowReader
from casework.errors import InvalidTransitionData, TransitionRefused, VersionConflict
from casework.labels import NEED_CATEGORY
from casework.models.beneficiary import display_name
from casework.models.contract import UNKNOWN_EMPLOYER
from casework.models.tables import CASES, CONTRACTS, EVENTS, PEOPLE, SHEETS, USERS
from casework.notify.links import LinkError, LinkRevoked, LinkSigner, LinkStale
from casework.notify.preload import case_with_person
from casework.notify.render import paris_date
from casework.privacy.logs import logged_actor
from casework.states.definition import TransitionDef
from casework.web import forms
from casework.web.action_forms import field_view, form_data, typed

log = logging.getLogger("casework.links")
CSRF_COOKIE = "casework_csrf"
HEADERS = forms.PAGE_HEADERS


class _Used(Exception):
    """The link was used already: the transaction is rolled back, a calm page is shown."""


class LinkPages:
    def __init__(self, app: App, signer: LinkSigner | None = None):
        self.app = app
        self.signer = signer or LinkSigner.from_settings(app.settings.mail)
        self.base = urlsplit(app.settings.mail.base_url)
        self.secure = self.base.scheme == "https"
        self.max_form_bytes = app.settings.service.max_form_bytes
        # Rows as guards see them (with what their fields' conditions read), plain or locked:
        # locked on PostgreSQL FOR NO KEY UPDATE, as the engine's batches (a plain FOR UPDATE
        # would also block the key-share lock every row referencing this one takes: its events).
        pg = app.db.is_postgresql
        self.rows = {name: RowReader(kind, lock=False, join=not pg) for name, kind in KINDS.items()}
        self.locked = {name: RowReader(kind, lock=pg, join=not pg) for name, kind in KINDS.items()}
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(Path(app.settings.paths.templates) / "web"),
            undefined=jinja2.StrictUndefined,
            autoescape=True,
        )

    def routes(self) -> list[Route]:
        return [Route("/l/{token}", self.page, methods=["GET", "HEAD", "POST"])]

    # -- the page ----------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        """The database work runs in Starlette's thread pool, off the event loop."""
        token = request.path_params["token"]
        if request.method != "POST":
            return await run_in_threadpool(self._show, request, token)
        # A POST without our cookie, or from another site, is refused before its body is read.
        try:
            form = await forms.read_checked_form(
                request,
                CSRF_COOKIE,
                (self.base.scheme, self.base.netloc),
                self.max_form_bytes,
                reopen="le lien reçu par courriel",
            )
        except forms.FormRefused as refused:
            # The detail may name the Origin: a site's address, not personal data.
            log.warning("link POST refused (%s): %s", refused.status, refused.detail)
            return self._message(request, refused.title, refused.message, refused.status)
        return await run_in_threadpool(self._post, request, token, form)

    def _show(
        self,
        request: Request,
        token: str,
        errors: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
        status: int = 200,
        refusal: str | None = None,
    ) -> Response:
        now = self.app.clock.now()
        try:
            with self.app.db.read() as conn:
                link = self.signer.resolve(conn, token, now)
                if link.used_at is not None:
                    return self._done(request, link, already=True)
                row, transition = self._still_valid(conn, link)
                context = self._about(conn, link, row)
        except LinkError as error:
            return self._refusal(request, error)
        csrf = forms.csrf_value(request, CSRF_COOKIE)
        labels = {f.name: f.label or f.name for f in transition.fields}
        machine = self.app.workflows.machine(row.workflow_name, row.workflow_version)
        shown = [f for f in transition.fields if machine.applies(f, row, now)]
        html = self.env.get_template("link.html.j2").render(
            **context,
            action=transition.label or link.trigger,
            fields=[field_view(f) for f in shown],
            errors={labels.get(name, name): reason for name, reason in (errors or {}).items()},
            field_errors=errors or {},
            values=values or {},
            refusal=refusal[:1].upper() + refusal[1:] if refusal else None,
            csrf=csrf,
            expires=paris_date(link.expires_at),
        )
        response = HTMLResponse(html, status_code=status, headers=HEADERS)
        forms.set_csrf_cookie(response, CSRF_COOKIE, csrf, path="/l/", secure=self.secure)
        return response

    def _post(self, request: Request, token: str, form: Any) -> Response:
        now = self.app.clock.now()
        try:
            with self.app.db.transaction() as conn:
                link = self.signer.resolve(conn, token, now, lock=self.app.db.is_postgresql)
                if not self.signer.use(conn, link.id, now):
                    raise _Used()
                row, transition = self._still_valid(conn, link, lock=True)
                machine = self.app.workflows.machine(row.workflow_name, row.workflow_version)
                # Only the fields that apply now: one the page did not show is not read.
                applying = tuple(f for f in transition.fields if machine.applies(f, row, now))
                data = form_data(applying, form)
                actor = self._actor(conn, link)
                fire = (
                    self.app.engine.fire_case
                    if link.entity == "case"
                    else self.app.engine.fire_sheet
                )
                fire(link.entity_id, link.trigger, actor, row.version, conn=conn, **data)
                table = KINDS[link.entity].table
                entry = conn.execute(
                    select(table.c.entered_version).where(table.c.id == link.entity_id)
                ).scalar_one()
                if entry != link.valid_for_entry:
                    self.signer.carry_siblings(conn, link, entry)
        except _Used:
            # Used by another click, or revoked since we read it: the link says which.
            try:
                with self.app.db.read() as conn:
                    link = self.signer.resolve(conn, token, now)
            except LinkError as error:
                return self._refusal(request, error)
            return self._done(request, link, already=True)
        except LinkError as error:
            return self._refusal(request, error)
        except InvalidTransitionData as error:
            return self._show(request, token, {error.field: error.reason}, typed(form), 422)
        except TransitionRefused as error:
            if error.reason != "guards":  # no longer open from where the row is
                return self._refusal(request, LinkStale(str(error)))
            # A guard said no to what was given (a minor without the guardian's agreement):
            # the form again with its reason; nothing was written and the link is still good.
            log.info("link %s %s %s: a guard said no", link.entity, link.entity_id, link.trigger)
            why = error.detail or "les conditions de cette action ne sont pas remplies"
            return self._show(request, token, None, typed(form), 422, refusal=why)
        except VersionConflict as error:
            return self._refusal(request, LinkStale(str(error)))
        log.info(
            "link used: %s %s %s by %s",
            link.entity,
            link.entity_id,
            link.trigger,
            logged_actor(actor),
        )
        return self._done(request, link, already=False)

    # -- checks ------------------------------------------------------------------------------------

    def _still_valid(
        self, conn: Connection, link: Any, lock: bool = False
    ) -> tuple[Any, TransitionDef]:
        """The row, if it is still in the state entry the mail was about and the trigger is
        still open to this kind of actor there; else LinkStale."""
        (row,) = (self.locked if lock else self.rows)[link.entity].read(conn, [link.entity_id])
        machine = self.app.workflows.machine(row.workflow_name, row.workflow_version)
        if row.entered_version != link.valid_for_entry:
            mover = self._moved_by_someone(conn, link, machine)
            if mover is not None:
                raise LinkStale(
                    f"{link.entity} {link.entity_id} moved on since the link "
                    f"(state entry {link.valid_for_entry}): {mover}"
                )
        found = machine.candidates(row.state, link.trigger)
        if found is None or link.actor_kind not in found.actor_kinds:
            raise LinkStale(f"{link.trigger} not open to {link.actor_kind} in {row.state}")
        return row, found.transitions[0]

    @staticmethod
    def _moved_by_someone(conn: Connection, link: Any, machine: Any) -> str | None:
        """Who, on the other side, made the row leave the state the link was for (None if only
        timers and the link's own side did)."""
        moves = conn.execute(
            select(EVENTS.c.trigger, EVENTS.c.from_state, EVENTS.c.actor_kind, EVENTS.c.actor)
            .where(
                EVENTS.c.case_id == link.case_id,
                EVENTS.c.entity == link.entity,
                EVENTS.c.entity_id == link.entity_id,
                EVENTS.c.version > link.valid_for_entry,
                EVENTS.c.actor_kind.not_in(("timer", link.actor_kind)),
            )
            .order_by(EVENTS.c.version)
        )
        for event in moves:
            found = machine.candidates(event.from_state, event.trigger) if event.trigger else None
            if found is None or not all(t.internal for t in found.transitions):
                return f"{event.trigger} by {event.actor_kind}:{event.actor}"
        return None

    @staticmethod
    def _actor(conn: Connection, link: Any) -> Actor:
        if link.actor_kind == "partner":
            return Actor.partner(link.recipient)
        login = conn.execute(
            select(USERS.c.login)
            .where(USERS.c.email == link.recipient, USERS.c.active.is_(True))
            .limit(1)
        ).scalar()
        if login is None:  # the person left (or their address changed): the link acts no more
            raise LinkRevoked("recipient is no longer an active user")
        return Actor.person(login)

    # -- what the page shows -----------------------------------------------------------------------

    def _about(self, conn: Connection, link: Any, row: Any) -> dict[str, Any]:
        """What the person needs to act, and no more: a partner sees only its sheet."""
        case = conn.execute(
            case_with_person(
                PEOPLE.c.first_names, PEOPLE.c.birth_name, PEOPLE.c.phone, CONTRACTS.c.employer_name
            ).where(CASES.c.id == link.case_id)
        ).one()
        machine = self.app.workflows.machine(row.workflow_name, row.workflow_version)
        about: dict[str, Any] = {
            "beneficiary_name": display_name(case.first_names, case.birth_name),
            "state_label": machine.definition.states[row.state].label or row.state,
            "partner": link.actor_kind == "partner",
            "employer_name": case.employer_name or UNKNOWN_EMPLOYER,
            "phone": case.phone,
            "sheet": None,
        }
        if link.entity == "liaison":
            sheet = conn.execute(
                select(
                    SHEETS.c.id, SHEETS.c.need_category, SHEETS.c.description, SHEETS.c.sent_at
                ).where(SHEETS.c.id == link.entity_id)
            ).one()
            about["sheet"] = {
                "id": sheet.id,
                "need": NEED_CATEGORY.get(sheet.need_category, sheet.need_category),
                "description": sheet.description,
                "sent": paris_date(sheet.sent_at) if sheet.sent_at else None,
            }
        return about

    def _done(self, request: Request, link: Any, already: bool) -> Response:
        if already:
            return self._message(
                request,
                "Déjà enregistré",
                f"Cette action a déjà été enregistrée le {paris_date(link.used_at)}. "
                "Rien de plus n'a été fait.",
                200,
            )
        return self._message(request, "Enregistré", "Merci, c'est enregistré.", 200)

    def _refusal(self, request: Request, error: LinkError) -> Response:
        log.warning("link refused (%s %s): %s", request.method, type(error).__name__, error.detail)
        return self._message(request, error.title, error.message, error.status)

    def _message(self, request: Request, title: str, text: str, status: int) -> Response:
        html = self.env.get_template("message.html.j2").render(title=title, text=text)
        return HTMLResponse(html, status_code=status, headers=HEADERS)
