"""The demo's partners (the pilot's, in the Mayenne), each with a contact and a manager.

The apprentices come from the two organisations' generated files (`casework.intake.synthetic`),
through import, cross-matching and assignment (`casework.demo.cohort`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert

from casework.models import (
    ContactRole,
    NeedCategory,
    Partner,
    PartnerContact,
    PartnerKind,
)


@dataclass(frozen=True)
class PartnerSpec:
    name: str
    kind: PartnerKind
    needs: tuple[NeedCategory, ...]
    contact: tuple[str, str]
    manager: tuple[str, str]
    uai: str | None = None


PARTNERS = [
    PartnerSpec(
        "Mission Locale de la Mayenne",
        PartnerKind.MISSION_LOCALE,
        (
            NeedCategory.HEALTH,
            NeedCategory.MOBILITY,
            NeedCategory.MONEY,
            NeedCategory.MOTIVATION,
            NeedCategory.OTHER,
        ),
        ("Claire Dubois", "claire.dubois@ml53.example"),
        ("Marc Leroy", "direction@ml53.example"),
    ),
    PartnerSpec(
        "ADLJ 53 — logement des jeunes",
        PartnerKind.HOUSING,
        (NeedCategory.HOUSING,),
        ("Sophie Martin", "accueil@adlj53.example"),
        ("Paul Bernard", "direction@adlj53.example"),
    ),
    PartnerSpec(
        "CFA de la CMA de la Mayenne",
        PartnerKind.TRAINING_CENTRE,
        (NeedCategory.TRAINING, NeedCategory.EMPLOYER_CONFLICT, NeedCategory.MOTIVATION),
        ("Julie Moreau", "vie-scolaire@cfa-cma53.example"),
        ("Hervé Petit", "direction@cfa-cma53.example"),
        uai="0530914B",
    ),
    PartnerSpec(
        "Conseil départemental — service social",
        PartnerKind.SOCIAL_SERVICES,
        (NeedCategory.FAMILY, NeedCategory.MONEY, NeedCategory.HEALTH),
        ("Nadia Lefèvre", "social.laval@cd53.example"),
        ("Anne Girard", "responsable.social@cd53.example"),
    ),
]


def insert_partners(conn: Connection, now: datetime) -> dict[str, int]:
    """The pilot's partners with a contact and a manager each; returns their ids by name."""
    ids = {}
    for spec in PARTNERS:
        partner_id = conn.execute(
            insert(Partner).returning(Partner.id),
            {
                "name": spec.name,
                "kind": spec.kind,
                "need_categories": [n.value for n in spec.needs],
                "departements": ["53"],
                "uai": spec.uai,
                "created_at": now,
            },
        ).scalar_one()
        conn.execute(
            insert(PartnerContact),
            [
                {
                    "partner_id": partner_id,
                    "name": name,
                    "email": email,
                    "role": role,
                    "unreachable": False,
                    "created_at": now,
                }
                for (name, email), role in (
                    (spec.contact, ContactRole.CONTACT),
                    (spec.manager, ContactRole.MANAGER),
                )
            ],
        )
        ids[spec.name] = partner_id
    return ids
