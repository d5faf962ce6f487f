"""The partner directory: a file's partners merged in, contacts added, partners deactivated,
addresses made reachable again. Every function takes the caller's connection: a file is
imported in one transaction, whole or not at all.

A partner is known by its **name** (compared without case, accents or punctuation; importing a
file again updates the partner of that name, and may correct its spelling). Not by SIRET: a
SIRET is an establishment's, one establishment can hold several services that take different
sheets (the département's social workers and its youth service), and many partners have none;
nor by UAI, which only training centres have. A contact is known by its partner and address.
A value a file leaves empty leaves what is recorded; partners and contacts the file does not
name are left as they are. Every change is recorded in the partner's audit trail
(`partners.audit`), in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from casework.actors import Actor
from casework.errors import CaseworkError
from casework.models.tables import CONTACTS, PARTNERS, SHEETS
from casework.names import fold
from casework.partners.audit import record
from casework.partners.reading import ContactEntry, PartnerEntry

# What people are told changed, by column.
CHANGED = {
    "name": "nom",
    "kind": "type",
    "need_categories": "besoins",
    "departements": "territoire",
    "postcodes": "territoire",
    "siret": "SIRET",
    "uai": "UAI",
    "ack_days": "délais",
    "feedback_days": "délais",
}


class PartnerNotFound(CaseworkError):
    def __init__(self, key: str):
        self.key = key
        super().__init__(f"no partner {key!r}")

    def french(self) -> str:
        return f"Partenaire introuvable : « {self.key} » (voir casework partners list)."


@dataclass
class Change:
    """What importing one partner does."""

    entry: PartnerEntry
    partner_id: int | None  # None: a new partner
    values: dict[str, Any]  # the columns that change (all of them for a new partner)
    new_contacts: list[ContactEntry] = field(default_factory=list)
    # (id, address, what changes) of each known contact the file changes.
    changed_contacts: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    before: dict[str, Any] = field(default_factory=dict)  # the changed columns' old values
    inactive: bool = False  # a deactivated partner: updated, still deactivated

    @property
    def what(self) -> list[str]:
        """The changes, in words, each once."""
        return list(dict.fromkeys(CHANGED[c] for c in self.values if c in CHANGED))


def plan_import(conn: Connection, entries: list[PartnerEntry]) -> list[Change]:
    """What importing these entries would change, read from the directory as it is."""
    partners = conn.execute(select(PARTNERS)).all()
    exact = {p.name: p for p in partners}
    folded: dict[str, list[Any]] = {}
    for p in partners:
        folded.setdefault(fold(p.name), []).append(p)
    contacts: dict[tuple[int, str], Any] = {
        (c.partner_id, c.email): c for c in conn.execute(select(CONTACTS))
    }
    changes = []
    for entry in entries:
        given = entry.columns()
        same = folded.get(fold(entry.name), [])
        current = exact.get(entry.name) or (same[0] if len(same) == 1 else None)
        if current is None:
            change = Change(entry, None, given, new_contacts=list(entry.contacts))
        else:
            values = {k: v for k, v in given.items() if getattr(current, k) != v}
            before = {k: getattr(current, k) for k in values}
            change = Change(entry, current.id, values, inactive=not current.active, before=before)
            for contact in entry.contacts:
                known = contacts.get((current.id, contact.email))
                if known is None:
                    change.new_contacts.append(contact)
                    continue
                wanted = {"name": contact.name, "phone": contact.phone, "role": contact.role}
                differs = {
                    k: v for k, v in wanted.items() if v is not None and getattr(known, k) != v
                }
                if differs:
                    change.changed_contacts.append((known.id, contact.email, differs))
        changes.append(change)
    return changes


def apply_import(
    conn: Connection, changes: list[Change], now: datetime, by: Actor, source: str
) -> None:
    """The changes written, each partner changed with its event (`source`: the file's name)."""
    for change in changes:
        partner_id = change.partner_id
        if partner_id is None:
            partner_id = conn.execute(
                insert(PARTNERS).returning(PARTNERS.c.id),
                {"departements": [], "postcodes": [], **change.values, "created_at": now},
            ).scalar_one()
        elif change.values:
            values = dict(change.values)
            if "name" in values:  # its spelling corrected: the same folded name
                values["name_key"] = fold(values["name"])
            conn.execute(update(PARTNERS).where(PARTNERS.c.id == partner_id).values(values))
        if change.new_contacts:
            conn.execute(
                insert(CONTACTS),
                [_contact_row(partner_id, change.entry.name, c, now) for c in change.new_contacts],
            )
        for contact_id, _email, values in change.changed_contacts:
            conn.execute(update(CONTACTS).where(CONTACTS.c.id == contact_id).values(values))
        _record_import(conn, partner_id, change, by, now, source)


def _record_import(
    conn: Connection, partner_id: int, change: Change, by: Actor, now: datetime, source: str
) -> None:
    """What importing changed of one partner (nothing recorded for a partner left as it was)."""
    data: dict[str, Any] = {"file": source}
    if change.new_contacts:
        data["contacts_added"] = [c.email for c in change.new_contacts]
    if change.changed_contacts:
        data["contacts_changed"] = [email for _id, email, _values in change.changed_contacts]
    if change.partner_id is None:
        record(conn, partner_id, "create", by, now, data)
    elif change.values or len(data) > 1:
        data["changes"] = {k: [change.before.get(k), v] for k, v in change.values.items()}
        record(conn, partner_id, "update", by, now, data)


def _contact_row(partner_id: int, partner_name: str, c: ContactEntry, now: datetime) -> dict:
    return {
        "partner_id": partner_id,
        "name": c.name or partner_name,
        "email": c.email,
        "phone": c.phone,
        "role": c.role,
        "unreachable": False,
        "created_at": now,
    }


# -- one partner, one contact ---------------------------------------------------------------------


def find_partner(conn: Connection, key: str) -> Any:
    """A partner by its number or its name (compared folded)."""
    key = key.strip()
    if key.isascii() and key.isdigit():
        found = conn.execute(select(PARTNERS).where(PARTNERS.c.id == int(key))).first()
    else:
        rows = [p for p in conn.execute(select(PARTNERS)) if fold(p.name) == fold(key)]
        found = rows[0] if len(rows) == 1 else None
    if found is None:
        raise PartnerNotFound(key)
    return found


def add_contact(
    conn: Connection, partner: Any, contact: ContactEntry, now: datetime, by: Actor
) -> tuple[int, bool]:
    """The contact added, or updated if the partner has that address already; returns its id
    and whether it was new."""
    known = conn.execute(
        select(CONTACTS).where(
            CONTACTS.c.partner_id == partner.id, CONTACTS.c.email == contact.email
        )
    ).first()
    if known is None:
        row = _contact_row(partner.id, partner.name, contact, now)
        contact_id = conn.execute(insert(CONTACTS).returning(CONTACTS.c.id), row).scalar_one()
        data = {"email": contact.email, "role": contact.role}
        record(conn, partner.id, "add_contact", by, now, data)
        return contact_id, True
    values = {"name": contact.name, "phone": contact.phone, "role": contact.role}
    values = {k: v for k, v in values.items() if v is not None and getattr(known, k) != v}
    if values:
        conn.execute(update(CONTACTS).where(CONTACTS.c.id == known.id).values(values))
        data = {"email": contact.email, "fields": sorted(values)}
        record(conn, partner.id, "update_contact", by, now, data)
    return known.id, False


def set_active(conn: Connection, partner: Any, active: bool, by: Actor, now: datetime) -> None:
    """Deactivated: no new sheet goes to it (proposals leave it out, `refer` refuses it);
    the sheets it has go on, with their reminders. Reactivated: it takes sheets again. The row
    says the deactivation in force; the events keep every one."""
    values: dict[str, Any] = {"active": active}
    values.update(
        {"deactivated_at": None, "deactivated_by": None}
        if active
        else {"deactivated_at": now, "deactivated_by": by.id}
    )
    conn.execute(update(PARTNERS).where(PARTNERS.c.id == partner.id).values(values))
    record(conn, partner.id, "reactivate" if active else "deactivate", by, now, {})


def open_sheets(conn: Connection, partner_id: int, final_states: set[str]) -> int:
    """The partner's sheets still under way (neither closed nor cancelled)."""
    return int(
        conn.execute(
            select(func.count()).where(
                SHEETS.c.partner_id == partner_id, SHEETS.c.state.not_in(sorted(final_states))
            )
        ).scalar_one()
    )


def mark_reachable(conn: Connection, email: str, by: Actor, now: datetime) -> tuple[int, int]:
    """An address made reachable again, at every partner it is a contact of: (contacts with
    that address, how many were marked unreachable). Each partner changed gets its event."""
    rows = conn.execute(
        select(CONTACTS.c.id, CONTACTS.c.partner_id, CONTACTS.c.unreachable).where(
            CONTACTS.c.email == email
        )
    ).all()
    flagged = [r for r in rows if r.unreachable]
    if flagged:
        conn.execute(
            update(CONTACTS)
            .where(CONTACTS.c.id.in_([r.id for r in flagged]))
            .values(unreachable=False)
        )
    for partner_id in sorted({r.partner_id for r in flagged}):
        record(conn, partner_id, "reachable", by, now, {"email": email})
    return len(rows), len(flagged)


def partner_names(conn: Connection, partner_ids: set[int]) -> dict[int, str]:
    """Partners' names by number (what a case's history names them by)."""
    if not partner_ids:
        return {}
    query = select(PARTNERS.c.id, PARTNERS.c.name).where(PARTNERS.c.id.in_(sorted(partner_ids)))
    return {row.id: row.name for row in conn.execute(query)}


def contacts_of(conn: Connection, partner_ids: list[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = {i: [] for i in partner_ids}
    query = (
        select(CONTACTS)
        .where(CONTACTS.c.partner_id.in_(partner_ids))
        .order_by(CONTACTS.c.role, CONTACTS.c.name)
    )
    for contact in conn.execute(query):
        found[contact.partner_id].append(contact)
    return found


def list_partners(conn: Connection, need: str | None, include_inactive: bool) -> list[Any]:
    query = select(PARTNERS)
    if not include_inactive:
        query = query.where(PARTNERS.c.active.is_(True))
    partners = conn.execute(query).all()
    if need is not None:  # a small table: filtered here, the same on both databases
        partners = [p for p in partners if need in p.need_categories]
    # In the order people read names (not by the database's collation, which differs).
    return sorted(partners, key=lambda p: (fold(p.name), p.id))
