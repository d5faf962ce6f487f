"""Realistic French sample data for the demo and the tests: partners, apprentices, contracts.

Seeded: the same seed gives the same people. Names come from Faker's fr_FR locale; places from
the Mayenne (the pilot's département), with a few apprentices from neighbouring départements.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from faker import Faker
from sqlalchemy import Connection, insert

from casework.models import (
    Beneficiary,
    ContactRole,
    Contract,
    NeedCategory,
    Partner,
    PartnerContact,
    PartnerKind,
)

COMMUNES = [
    ("53000", "Laval", "53"),
    ("53100", "Mayenne", "53"),
    ("53200", "Château-Gontier-sur-Mayenne", "53"),
    ("53600", "Évron", "53"),
    ("53400", "Craon", "53"),
    ("53500", "Ernée", "53"),
    ("53700", "Villaines-la-Juhel", "53"),
    ("53800", "Renazé", "53"),
    ("35000", "Rennes", "35"),
    ("72000", "Le Mans", "72"),
]
# (trade, diploma, level): craft trades the chamber registers.
TRADES = [
    ("Boulangerie", "CAP Boulanger", 3),
    ("Pâtisserie", "CAP Pâtissier", 3),
    ("Boucherie", "CAP Boucher", 3),
    ("Coiffure", "CAP Métiers de la coiffure", 3),
    ("Esthétique", "BTS Métiers de l'esthétique", 5),
    ("Maçonnerie", "CAP Maçon", 3),
    ("Menuiserie", "CAP Menuisier fabricant", 3),
    ("Plomberie", "CAP Monteur en installations sanitaires", 3),
    ("Électricité", "BP Électricien", 4),
    ("Mécanique automobile", "Bac pro Maintenance des véhicules", 4),
]
TRAINING_CENTRES = [
    ("CFA de la CMA de la Mayenne", "0530914B"),
    ("CFA du Bâtiment de Laval", "0530078K"),
    ("CFA des Métiers de Rennes", "0352345X"),
]


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
                "territory": "53",
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


@dataclass(frozen=True)
class Person:
    beneficiary_id: int
    contract_id: int
    birth_date: date
    start_date: date
    name: str


def _first_names(faker: Faker, rng: random.Random, female: bool) -> str:
    pick = faker.first_name_female if female else faker.first_name_male
    first = pick()
    if rng.random() < 0.1:  # compound first name, hyphenated
        first = f"{first}-{pick()}"
    extra = [pick() for _ in range(rng.choice((0, 0, 1, 2)))]
    return " ".join([first, *extra])


def insert_people(
    conn: Connection, now: datetime, n: int, cohort: int, seed: int = 53
) -> list[Person]:
    """`n` apprentices with a contract starting in the cohort's signing season (July–December)."""
    rng = random.Random(seed)
    faker = Faker("fr_FR")
    faker.seed_instance(seed)
    season_start = date(cohort, 7, 1)
    people = []
    for i in range(n):
        female = rng.random() < 0.3  # craft apprentices are mostly young men
        start = season_start + timedelta(days=rng.randrange(0, 170))
        age_days = rng.randrange(16 * 365 + 5, 25 * 365)
        birth = start - timedelta(days=age_days)
        minor = age_days < 18 * 365
        postcode, commune, dept = rng.choice(COMMUNES)
        trade, diploma, level = rng.choice(TRADES)
        centre, uai = rng.choice(TRAINING_CENTRES)
        surname = faker.last_name()
        first_names = _first_names(faker, rng, female)
        beneficiary_id = conn.execute(
            insert(Beneficiary).returning(Beneficiary.id),
            {
                "birth_name": surname,
                "first_names": first_names,
                "birth_date": birth,
                "sex": "F" if female else "M",
                "phone": f"06{rng.randrange(10**8):08d}",
                "email": f"{surname.lower().replace(' ', '')}.{i}@exemple.fr",
                "address_line": faker.street_address(),
                "postcode": postcode,
                "commune": commune,
                "departement": dept,
                "ml_id": f"ML53-{cohort}-{i:05d}",
                "guardian_name": f"{faker.first_name()} {surname}" if minor else None,
                "guardian_phone": f"06{rng.randrange(10**8):08d}" if minor else None,
                "created_at": now,
                "updated_at": now,
            },
        ).scalar_one()
        years = 1 if level >= 4 and rng.random() < 0.5 else 2
        contract_id = conn.execute(
            insert(Contract).returning(Contract.id),
            {
                "beneficiary_id": beneficiary_id,
                "cma_number": f"053-{cohort}-{i:05d}",
                "employer_name": f"{trade} {faker.last_name()}",
                "employer_siret": faker.siret().replace(" ", ""),
                "employer_trade": trade,
                "training_centre_name": centre,
                "training_centre_uai": uai,
                "diploma": diploma,
                "diploma_level": level,
                "start_date": start,
                "planned_end_date": start.replace(year=start.year + years) - timedelta(days=1),
                "trial_end_date": start + timedelta(days=45),
                "created_at": now,
                "updated_at": now,
            },
        ).scalar_one()
        name = f"{first_names.split()[0]} {surname.upper()}"
        people.append(Person(beneficiary_id, contract_id, birth, start, name))
    return people
