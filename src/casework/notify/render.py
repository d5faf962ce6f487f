"""Rendering queued mails, once: addresses, context, links, then the stored MIME message.

A queued row holds what its transition knew; the rest is read in bulk for a whole batch
(names, dates, addresses, deadlines: `preload.py`), each recipient address gets its own mail
(links and reply addresses are personal), the templates are rendered and the message is
composed and stored with its Message-ID. Rendering happens in the sender's claiming
transaction, before the first attempt; every later attempt sends exactly the stored bytes.

Personal data: a partner's mail carries what the young person's consent to the referral allows
(name, birth date, phone, the contract, the need); a control-group case is never mailed.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.exc import DBAPIError

from casework.accounts.reset import ResetTokens, reset_link
from casework.clock import format_local, to_local
from casework.french import elide, with_kind
from casework.labels import NEED_CATEGORY, choice_label
from casework.models import MailStatus
from casework.models.base import ContactRole, Group
from casework.models.beneficiary import MAJORITY_AGE, age_on, display_name
from casework.models.contract import UNKNOWN_EMPLOYER
from casework.models.tables import OUTBOX
from casework.notify import mime
from casework.notify.deadlines import REPORTING, feedback_days, in_working_days, last_day
from casework.notify.links import LinkRequest, LinkSigner
from casework.notify.mime import one_line
from casework.notify.outbox import Outbox
from casework.notify.preload import Preloaded
from casework.notify.templates import mail_environment, template_path
from casework.settings import MailSettings
from casework.states.catalog import WorkflowSet
from casework.states.definition import LINK_ACTORS
from casework.states.requirements import requires
from casework.timers.calendar import Calendar

log = logging.getLogger("casework.mail")

# A sheet's mails give the last day to answer by (the working day before the trigger tagged
# `reminder`, set when the sheet entered its state) and how long a partner has to report back
# (that reminder's count in the state it reports back from).
requires(
    "liaison",
    by="notify/render.py (dates dans les courriels)",
    tagged=["reminder"],
    states=[REPORTING],
)
_ADDRESS = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")


def is_usable_address(address: str) -> bool:
    """Whether mail can be sent to `address` (the test the renderer applies): people's addresses
    are checked with it when they are typed, not when a mail finds it unusable."""
    return _ADDRESS.match(address.strip()) is not None


def paris_date(value: date | datetime | str | None) -> str:
    """dd/mm/yyyy, in Paris; ISO strings (transition data as stored) are read first."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        value = to_local(value).date()
    return value.strftime("%d/%m/%Y")


@dataclass
class Rendered:
    """What a render pass did: mail ids now ready to send, and mails that have nobody to go to."""

    ready: list[int] = field(default_factory=list)
    undeliverable: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    # Written together at the end of the pass (one statement each, not one per mail).
    rendered: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)


class Renderer:
    def __init__(
        self,
        settings: MailSettings,
        workflows: WorkflowSet,
        signer: LinkSigner,
        templates_dir: Path,
        calendar: Calendar,
    ):
        self.settings = settings
        self.calendar = calendar  # the timers': a deadline's last day is a working day
        self.workflows = workflows
        self.signer = signer
        self.env = mail_environment(templates_dir)
        self.env.filters["date_fr"] = paris_date
        self.env.filters["time_fr"] = format_local
        self.env.filters["label"] = choice_label
        # Grammar: {{ "de" | elide(name) }}{{ name }} gives "d'Anaïs", "de Léa";
        # {{ name | with_kind("CFA") }} does not say "CFA CFA".
        self.env.filters["elide"] = elide
        self.env.filters["with_kind"] = with_kind

    # -- a batch ---------------------------------------------------------------------------------

    def render_pending(self, conn: Connection, ids: Sequence[int], now: datetime) -> Rendered:
        """Render the mails among `ids` not rendered yet; returns all ids ready to send (those
        already rendered, those rendered now, and copies made for further recipients)."""
        result = Rendered()
        rows = conn.execute(
            select(OUTBOX).where(OUTBOX.c.id.in_(list(ids))).order_by(OUTBOX.c.id)
        ).all()
        todo = [r for r in rows if r.message is None and r.status == MailStatus.QUEUED]
        result.ready += [r.id for r in rows if r.message is not None]
        if not todo:
            return result
        preloaded = Preloaded.load(conn, todo)
        for row in todo:
            try:
                self._render_row(conn, row, preloaded, now, result)
            except DBAPIError:
                raise  # the transaction is broken: the whole round rolls back, mails stay due
            except Exception as error:
                # A template or context bug: this mail cannot be written, and must not hold up
                # the others (or come back at every round): it fails, and the counsellor is told.
                log.exception("mail %s: rendering %s failed", row.id, row.template)
                result.failed.append((row.id, f"rendu de {row.template} impossible : {error}"))
        self.signer.store(conn, result.links)
        if result.rendered:
            conn.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id == bindparam("mail_id"))
                .values(
                    recipients=bindparam("recipients"),
                    subject=bindparam("subject"),
                    message=bindparam("message"),
                    message_id=bindparam("message_id"),
                    reply_token=bindparam("reply_token"),
                ),
                result.rendered,
            )
        return result

    def _render_row(
        self, conn: Connection, row: Any, preloaded: Preloaded, now: datetime, result: Rendered
    ) -> None:
        case = preloaded.cases.get(row.case_id) if row.case_id is not None else None
        if case is not None and case.group == Group.CONTROL:
            result.undeliverable.append((row.id, "dossier du groupe témoin : jamais contacté"))
            return
        sheet = preloaded.sheets.get(row.entity_id) if row.entity == "liaison" else None
        addresses = self._addresses(row, case, sheet, preloaded)
        if not addresses:
            result.undeliverable.append((row.id, f"aucune adresse pour « {row.recipient_role} »"))
            return
        # One mail per address: the first uses this row, the others are copies queued alongside.
        targets = [(row.id, addresses[0])]
        for address in addresses[1:]:
            copy_id = Outbox.queue_one(
                conn,
                row.next_attempt_at,  # claimed like the original
                case_id=row.case_id,
                entity=row.entity,
                entity_id=row.entity_id,
                version=row.version,
                state_entry=row.state_entry,
                template=row.template,
                recipient_role=row.recipient_role,
                context=row.context,
                created_at=row.created_at,
                about_mail_id=row.about_mail_id,
            )
            targets.append((copy_id, address))
        for mail_id, (name, address) in targets:
            self._render_one(mail_id, row, name, address, case, sheet, preloaded, now, result)
            result.ready.append(mail_id)

    def _render_one(
        self,
        mail_id: int,
        row: Any,
        name: str,
        address: str,
        case: Any,
        sheet: Any,
        preloaded: Preloaded,
        now: datetime,
        result: Rendered,
    ) -> None:
        stored = row.context or {}
        context = self._context(row, case, sheet, preloaded, now)
        context["recipient_name"] = name
        context["links"], context["items"], link_rows = self._sign_links(mail_id, row, address, now)
        context["more"] = stored.get("more", 0)  # a digest cut short says how much it left out
        reply_address = None
        if stored.get("reply"):
            local = f"{self.settings.reply_local}+{self.signer.reply_token(mail_id)}"
            reply_address = f"{local}@{self.settings.domain}"
        context["reply_address"] = reply_address
        if stored.get("password_reset"):  # a staff member's reset link, made now, never stored
            user = preloaded.users[stored["login"]]
            context["reset_url"], expires = reset_link(
                self.settings.base_url, ResetTokens(self.signer.keys), user, stored
            )
            context["reset_until"] = format_local(expires)

        workflow, event = row.template.split("/", 1)
        parts = {
            part: self.env.get_template(template_path(workflow, event, row.recipient_role, part))
            for part in ("subject", "txt", "html")
        }
        subject = one_line(parts["subject"].render(context))
        text, html = parts["txt"].render(context), parts["html"].render(context)

        message_id = f"<{mail_id}.{secrets.token_hex(8)}@{self.settings.domain}>"
        headers = self._headers(name, address, subject, message_id, reply_address, now)
        message = mime.compose(headers, text, html)

        result.links += link_rows
        result.rendered.append(
            {
                "mail_id": mail_id,
                "recipients": [address],
                "subject": subject,
                "message": message,
                "message_id": message_id,
                "reply_token": reply_address and reply_address.split("@")[0].split("+", 1)[1],
            }
        )

    def _sign_links(
        self, mail_id: int, row: Any, address: str, now: datetime
    ) -> tuple[dict[str, str], list[dict[str, Any]], list[dict[str, Any]]]:
        """The links of one mail, signed for its address: the ones the transition declared (on
        its own row) by trigger, and a digest's items each with its url; then the link rows to
        store."""
        stored = row.context or {}
        actor = LINK_ACTORS.get(row.recipient_role, "person")
        requests, slots = [], []
        for trigger in stored.get("links", []):
            requests.append(
                LinkRequest(
                    row.entity,
                    row.entity_id,
                    row.case_id,
                    trigger,
                    row.state_entry,
                    address,
                    actor,
                    mail_id,
                )
            )
            slots.append(("links", trigger))
        items = [dict(item) for item in stored.get("items", [])]
        for index, item in enumerate(items):
            requests.append(
                LinkRequest(
                    item["entity"],
                    item["entity_id"],
                    item["case_id"],
                    item["trigger"],
                    item["entered_version"],
                    address,
                    actor,
                    mail_id,
                )
            )
            slots.append(("items", index))
        tokens, link_rows = self.signer.sign(requests, now)
        links: dict[str, str] = {}
        for (kind, key), token in zip(slots, tokens, strict=True):
            url = f"{self.settings.base_url.rstrip('/')}/l/{token}"
            if kind == "links":
                links[key] = url
            else:
                items[key]["url"] = url
        return links, items, link_rows

    def _headers(
        self,
        name: str,
        address: str,
        subject: str,
        message_id: str,
        reply_address: str | None,
        now: datetime,
    ) -> list[tuple[str, str]]:
        headers = [
            ("From", mime.address(self.settings.from_name, self.settings.from_address)),
            ("To", mime.address(name, address)),
            ("Subject", mime.encode_header(subject)),
            ("Date", format_datetime(to_local(now))),
            ("Message-ID", message_id),
        ]
        if reply_address:
            headers.append(("Reply-To", reply_address))
        # We are a robot: auto-responders must not answer (RFC 3834, and Exchange's own header).
        headers += [
            ("Auto-Submitted", "auto-generated"),
            ("X-Auto-Response-Suppress", "OOF, AutoReply"),
            ("Content-Language", "fr"),
        ]
        return headers

    # -- what a template sees ----------------------------------------------------------------------

    def _addresses(
        self, row: Any, case: Any, sheet: Any, preloaded: Preloaded
    ) -> list[tuple[str, str]]:
        role = row.recipient_role
        found: list[tuple[str, str]] = []
        if role == "counsellor":
            login = (row.context or {}).get("login") or (case.referent if case else None)
            user = preloaded.users.get(login) if login else None
            if user is not None and user.active:
                found = [(user.name, user.email)]
        elif role in ("partner", "partner_manager") and sheet is not None:
            wanted = ContactRole.MANAGER if role == "partner_manager" else ContactRole.CONTACT
            found = [
                (c.name, c.email)
                for c in preloaded.contacts.get(sheet.partner_id, [])
                if c.role == wanted and not c.unreachable
            ]
        elif role == "beneficiary" and case is not None and case.email:
            found = [(f"{case.first_names} {case.birth_name}", case.email)]
        elif role == "guardian" and case is not None and case.guardian_email:
            found = [(case.guardian_name or "", case.guardian_email)]
        clean = []
        for name, address in found:
            address = (address or "").strip()
            if _ADDRESS.match(address):
                clean.append((one_line(name or ""), address))
            else:
                log.warning("mail %s: an unusable %s address skipped", row.id, role)
        return clean

    def _context(
        self, row: Any, case: Any, sheet: Any, preloaded: Preloaded, now: datetime
    ) -> dict[str, Any]:
        stored = row.context or {}
        data = dict(stored.get("data", {}))
        context: dict[str, Any] = {
            "data": data,
            "trigger": stored.get("trigger"),
            "platform": self.settings.from_name,
            "case_id": row.case_id,
            "day": paris_date(now),
        }
        if case is not None:
            context.update(self._case_context(row, case, preloaded, now))
        if sheet is not None:
            context.update(self._sheet_context(row, sheet, preloaded))
        return context

    def _case_context(
        self, row: Any, case: Any, preloaded: Preloaded, now: datetime
    ) -> dict[str, Any]:
        machine = self.workflows.machine(case.workflow_name, case.workflow_version)
        first_name = case.first_names.split()[0] if case.first_names.split() else ""
        referent = preloaded.users.get(case.referent) if case.referent else None
        # None once anonymised (no mail is queued about an erased person; an old one is not
        # rendered with a made-up age).
        age = age_on(case.birth_date, to_local(now).date()) if case.birth_date else None
        return dict(
            age=age,
            minor=age is not None and age < MAJORITY_AGE,
            cohort=case.cohort,
            state_since=paris_date(case.state_since),
            # Since when what this mail chases was awaited (a reminder says so).
            waiting_since=paris_date(preloaded.waiting_since.get((case.id, row.version))),
            beneficiary_name=display_name(case.first_names, case.birth_name),
            first_name=first_name,
            birth_date=paris_date(case.birth_date),
            phone=case.phone,
            guardian_name=case.guardian_name,
            guardian_phone=case.guardian_phone,
            employer_name=case.employer_name or UNKNOWN_EMPLOYER,
            employer_known=case.employer_name is not None,
            training_centre_name=case.training_centre_name,
            contract_start=paris_date(case.start_date),
            contract_end=paris_date(case.planned_end_date),
            state_label=machine.definition.states[case.state].label or case.state,
            cycle=case.cycle,
            cycles_total=machine.parameters.get("follow_up_cycles", 6),
            # A partner's mail is signed by the referent (else by the platform).
            counsellor_name=referent.name if referent else self.settings.from_name,
            counsellor_email=referent.email if referent else None,
        )

    def _sheet_context(self, row: Any, sheet: Any, preloaded: Preloaded) -> dict[str, Any]:
        entry = (sheet.id, row.state_entry)
        deadlines = preloaded.deadlines.get(entry, {})
        flow = self.workflows.definition(sheet.workflow_name, sheet.workflow_version)
        # What the mail is about is what was awaited when its state was entered (a mail
        # rendered after the partner answered still speaks of that state).
        state = flow.states.get(preloaded.entered.get(entry, sheet.state))
        reminder = deadlines.get(flow.trigger_tagged("reminder"))
        return dict(
            sheet_id=sheet.id,
            partner_name=sheet.partner_name,
            need_label=NEED_CATEGORY.get(sheet.need_category, sheet.need_category),
            description=sheet.description,
            sent_date=paris_date(sheet.sent_at),
            # The charter's deadline for what is awaited, its last day included.
            answer_by=paris_date(last_day(self.calendar, reminder)),
            feedback_within=in_working_days(feedback_days(flow, sheet.partner_feedback_days)),
            feedback=sheet.feedback,
            # A mail rendered after its sheet left the states that await something (closed
            # meanwhile) speaks of the feedback, as it always did.
            awaited=(state.awaits if state is not None else "") or "retour",
        )
