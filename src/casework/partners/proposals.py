"""Which partners to refer a young person to, for one need: the ones that handle it, nearest
first. Used by `casework case propose`, by the `refer` transition's guard (to know whether the
counsellor took the first proposal, and to record the proposals), and later by the web pages.

Only active partners that handle the need are proposed. They are ranked by:
1. a contact that can be written to: a partner whose every contact is unreachable (or that has
   none) comes last, whatever its territory — a sheet to it would reach nobody;
2. how near: the apprentice's own training centre (its UAI is the contract's), then a partner
   serving the young person's postcode, then their département, then a partner whose
   territory is not said, then the others, outside it (partners outside the département are
   normal: a contract signed elsewhere, a regional service);
3. the name.

The young person's territory is their postcode and its département (`territory.departement_of`,
else the département recorded with them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from casework.errors import EntityNotFound
from casework.models import Beneficiary, Case, ContactRole, Contract, Partner, PartnerContact
from casework.names import fold
from casework.territory import departement_of

# How near a partner is, best first.
TRAINING_CENTRE, POSTCODE, DEPARTEMENT, UNSAID, OUTSIDE = range(5)
# What people read about each, after the partner's name: whose territory is meant is said
# ("du jeune"), never a bare "son", which could be the partner's.
NEARNESS = {
    TRAINING_CENTRE: "CFA du jeune",
    POSTCODE: "intervient dans la commune du jeune",
    DEPARTEMENT: "intervient dans le département du jeune",
    UNSAID: "territoire d'intervention non précisé",
    OUTSIDE: "ne couvre pas le secteur du jeune",
}


@dataclass(frozen=True)
class Territory:
    """Where a young person is: what partners are compared with."""

    postcode: str | None
    departement: str | None
    training_centre_uai: str | None


@dataclass(frozen=True)
class Proposal:
    partner_id: int
    name: str
    kind: str
    nearness: int  # TRAINING_CENTRE … OUTSIDE
    reachable: bool  # has a contact (not a manager) mail can reach
    ack_days: int | None
    feedback_days: int | None

    @property
    def why(self) -> str:
        """In French: how near, and whether it can be written to."""
        said = NEARNESS[self.nearness]
        return said if self.reachable else f"{said} ; aucun contact joignable"


def territory_of(conn: Connection, case_id: int) -> Territory:
    found = conn.execute(
        select(Beneficiary.postcode, Beneficiary.departement, Contract.training_centre_uai)
        .select_from(Case)
        .join(Beneficiary, Beneficiary.id == Case.beneficiary_id)
        .join(Contract, Contract.id == Case.contract_id)
        .where(Case.id == case_id)
    ).first()
    if found is None:
        raise EntityNotFound("case", case_id)
    postcode, departement, uai = found
    return Territory(postcode, departement_of(postcode) or departement, uai)


def propose_partners(conn: Connection, case_id: int, need: str) -> list[Proposal]:
    """The active partners that handle `need`, ranked for this case's young person."""
    where = territory_of(conn, case_id)
    # A directory holds tens or hundreds of partners: read whole, filtered here (the JSON list
    # of needs is queried the same way on both databases).
    partners = [
        p
        for p in conn.execute(select(Partner.__table__).where(Partner.active.is_(True)))
        if need in (p.need_categories or [])
    ]
    if not partners:
        return []
    contacts = PartnerContact.__table__
    reachable = set(
        conn.execute(
            select(contacts.c.partner_id).where(
                contacts.c.partner_id.in_([p.id for p in partners]),
                contacts.c.role == ContactRole.CONTACT.value,
                contacts.c.unreachable.is_(False),
            )
        ).scalars()
    )
    proposals = [
        Proposal(
            p.id,
            p.name,
            p.kind,
            nearness(p, where),
            p.id in reachable,
            p.ack_days,
            p.feedback_days,
        )
        for p in partners
    ]
    return sorted(
        proposals, key=lambda p: (not p.reachable, p.nearness, fold(p.name), p.partner_id)
    )


def nearness(partner: Any, where: Territory) -> int:
    if partner.uai and partner.uai == where.training_centre_uai:
        return TRAINING_CENTRE
    if where.postcode and where.postcode in (partner.postcodes or []):
        return POSTCODE
    if where.departement and where.departement in (partner.departements or []):
        return DEPARTEMENT
    return OUTSIDE if partner.postcodes or partner.departements else UNSAID
