"""A partner's audit trail: who created, changed, deactivated or reactivated it, who added a
contact or made an address reachable again — one append-only event per partner changed, in
the caller's transaction, in the events table like the users' (`entity = 'partner'`, no
case). A partner's row says how it is; its events say how it got there (a reactivation clears
the row's deactivation, the event of that deactivation stays).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from casework.actors import Actor
from casework.audit import EVENTS, record_event
from casework.french import elide
from casework.labels import CONTACT_ROLE, NEED_CATEGORY, PARTNER_KIND

ENTITY = "partner"
# A partner's columns as its history names them.
FIELDS = {
    "name": "nom",
    "kind": "type",
    "need_categories": "besoins",
    "departements": "départements",
    "postcodes": "codes postaux",
    "siret": "SIRET",
    "uai": "UAI",
    "ack_days": "délai d'accusé de réception",
    "feedback_days": "délai de retour",
}
CONTACT_FIELDS = {"name": "nom", "phone": "téléphone", "role": "rôle"}


def record(
    conn: Connection, partner_id: int, what: str, by: Actor, now: datetime, data: dict[str, Any]
) -> None:
    record_event(conn, ENTITY, partner_id, what, by, now, data)


def partner_events(conn: Connection, partner_id: int) -> list[Any]:
    query = select(EVENTS).where(EVENTS.c.entity == ENTITY, EVENTS.c.entity_id == partner_id)
    return list(conn.execute(query.order_by(EVENTS.c.id)))


# -- as people read it -----------------------------------------------------------------------------


def happened(event: Any) -> str:
    """One line of a partner's history, in French."""
    data = event.data or {}
    source = f" (import {elide('de', data['file'])}{data['file']})" if data.get("file") else ""
    if event.trigger == "create":
        return f"créé{source}" + _contacts(data)
    if event.trigger == "update":
        found = data.get("changes") or {}
        order = {column: i for i, column in enumerate(FIELDS)}
        # In the columns' order, the same on both databases (JSONB keeps an order of its own).
        changes = [
            f"{FIELDS.get(column, column)} : {_value(column, found[column][0])} → "
            f"{_value(column, found[column][1])}"
            for column in sorted(found, key=lambda c: (order.get(c, len(order)), c))
        ]
        said = " ; ".join(changes)
        return f"modifié{source}" + (f" : {said}" if said else "") + _contacts(data)
    if event.trigger == "deactivate":
        return "désactivé : ne reçoit plus de nouvelles fiches"
    if event.trigger == "reactivate":
        return "réactivé : reçoit de nouveau des fiches"
    if event.trigger == "add_contact":
        role = CONTACT_ROLE.get(data.get("role", ""), "contact")  # "responsable ajouté : …"
        return f"{role} ajouté : {data.get('email')}"
    if event.trigger == "update_contact":
        fields = ", ".join(CONTACT_FIELDS.get(f, f) for f in data.get("fields", []))
        return f"contact modifié : {data.get('email')}" + (f" ({fields})" if fields else "")
    if event.trigger == "reachable":
        return f"adresse de nouveau joignable : {data.get('email')}"
    return str(event.trigger)


def _contacts(data: dict[str, Any]) -> str:
    said = []
    if data.get("contacts_added"):
        said.append("contacts ajoutés : " + ", ".join(data["contacts_added"]))
    if data.get("contacts_changed"):
        said.append("contacts modifiés : " + ", ".join(data["contacts_changed"]))
    return (" ; " + " ; ".join(said)) if said else ""


def _value(column: str, value: Any) -> str:
    if value is None or value == [] or value == "":
        return "—"
    if column == "kind":
        return PARTNER_KIND.get(value, value)
    if column == "need_categories":
        return ", ".join(NEED_CATEGORY.get(v, v).split(",")[0] for v in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)
