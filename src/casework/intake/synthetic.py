"""Realistic pairs of lists with a known truth: the chamber's contracts and the Mission Locale's
caseload, with the differences real files have between two organisations.

Used by the demo, the tests and `bench/match.py` (as files: `sample_files.py`). Seeded: the same
seed gives the same lists.

People: French names from Faker's fr_FR lists, Zipf-weighted as in the population (the most
common surname about 0.5 % of people, the most common first name about 3 % of a sex), plus a
long tail of rarer surnames made from parts of common ones (France has over a million
surnames), compound and multiple first names, particles ("Le Gall", "de la Fontaine"), ages 15
to 25, communes with their postcodes.

The same person on the Mission Locale's side, at fixed rates chosen before any matching was
written (see RATES): capitals without accents, only the usual first name, hyphens turned into
spaces, a typo in a name, first and last names swapped, a one-digit typo or a day/month swap in
the birth date, another postcode (moved), no postcode, a different birth name altogether.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import accumulate

from faker.providers.address.fr_FR import Provider as FrenchAddresses
from faker.providers.person.fr_FR import Provider as FrenchNames

from casework.intake.records import Person

# How often each difference appears on the Mission Locale's side for someone on both lists.
RATES = {
    "capitals_no_accents": 0.45,
    "usual_first_name_only": 0.5,
    "hyphen_as_space": 0.3,
    "typo_birth_name": 0.04,
    "typo_first_name": 0.03,
    "swapped_names": 0.015,
    "birth_date_typo": 0.01,
    "day_month_swapped": 0.01,
    "moved": 0.08,
    "no_postcode": 0.02,
    "other_birth_name": 0.005,
}
# Postcodes: the pilot's département and its neighbours, then the rest of France.
COMMUNES = [
    ("53000", "Laval"),
    ("53100", "Mayenne"),
    ("53200", "Château-Gontier-sur-Mayenne"),
    ("53600", "Évron"),
    ("53400", "Craon"),
    ("53500", "Ernée"),
    ("53700", "Villaines-la-Juhel"),
    ("53800", "Renazé"),
    ("53300", "Ambrières-les-Vallées"),
    ("53940", "Saint-Berthevin"),
    ("35000", "Rennes"),
    ("72000", "Le Mans"),
    ("49000", "Angers"),
    ("61000", "Alençon"),
    ("44000", "Nantes"),
]
COMMON_SURNAMES_SHARE = 0.2
_PARTICLES = ["Le ", "Le ", "La ", "De ", "Du ", "de la "]


@dataclass(frozen=True)
class Synthetic:
    """Two lists and the truth: `pairs` maps a chamber key to the Mission Locale key of the same
    person."""

    cma: list[Person]
    ml: list[Person]
    pairs: dict[str, str]


class _Names:
    def __init__(self, rng: random.Random, tail: int):
        self.rng = rng
        base = list(dict.fromkeys(FrenchNames.last_names))
        invented = {self._invent() for _ in range(tail)}
        self.surnames = base + sorted(invented - set(base))
        # A fifth of the people carry one of the common names, Zipf-weighted so that the most
        # common is about 0.5 % of everyone (in France, Martin is 0.35 %); the others a name of
        # the tail (France has over a million surnames).
        common = [1 / (rank + 1) ** 0.5 for rank in range(len(base))]
        scale = sum(common) / COMMON_SURNAMES_SHARE
        tail = max(1, len(self.surnames) - len(base))
        tail_weight = (1 - COMMON_SURNAMES_SHARE) / tail
        self.weights = [w / scale for w in common] + [tail_weight] * tail
        self.female = list(dict.fromkeys(FrenchNames.first_names_female))
        self.male = list(dict.fromkeys(FrenchNames.first_names_male))
        self._cumulative = list(accumulate(self.weights))
        # First names: a flat Zipf over each list, in an order the seed shuffles, so that the
        # most given first name is about 3 % of a sex (as in a French birth year).
        rng.shuffle(self.female)
        rng.shuffle(self.male)
        self._female_w = list(accumulate([1 / (r + 1) ** 0.3 for r in range(len(self.female))]))
        self._male_w = list(accumulate([1 / (r + 1) ** 0.3 for r in range(len(self.male))]))

    def _invent(self) -> str:
        """A rarer surname made of two common ones' parts ("Mor" + "ault" → "Morault")."""
        rng, base = self.rng, FrenchNames.last_names
        head = "".join(c for c in rng.choice(base) if c.isalpha())[: rng.randrange(2, 5)]
        tail = "".join(c for c in rng.choice(base) if c.isalpha())[-rng.randrange(3, 6) :]
        return (head + tail.lower()).capitalize()

    def surname(self) -> str:
        name = self.rng.choices(self.surnames, cum_weights=self._cumulative)[0]
        roll = self.rng.random()
        if roll < 0.03:
            name = f"{name}-{self.rng.choice(self.surnames[:400])}"  # double-barrelled
        elif roll < 0.05 and " " not in name:
            name = self.rng.choice(_PARTICLES) + name
        return name

    def first_names(self, female: bool) -> str:
        pool, weights = (self.female, self._female_w) if female else (self.male, self._male_w)

        def one() -> str:
            return self.rng.choices(pool, cum_weights=weights)[0]

        first = one()
        if self.rng.random() < 0.08:
            first = f"{first}-{one()}"
        extra = [one() for _ in range(self.rng.choice((0, 0, 1, 1, 2)))]
        return " ".join(dict.fromkeys([first, *extra]))  # never the same name twice


def generate(n: int, seed: int = 53, overlap: float = 0.6, cohort: int = 2026) -> Synthetic:
    """`n` people on each list, `overlap` of them on both."""
    rng = random.Random(seed)
    names = _Names(rng, tail=max(2_000, n))
    shared = int(n * overlap)
    population = [_person(rng, names, cohort, i) for i in range(2 * n - shared)]
    cma_people = population[:n]
    ml_people = population[:shared] + population[n:]
    rng.shuffle(ml_people)
    cma, ml, pairs = [], [], {}
    for i, person in enumerate(cma_people):
        cma.append(replace(person, key=f"CMA-{cohort}-{i:07d}"))
    keys = {id(p): c.key for p, c in zip(cma_people, cma, strict=True)}
    for i, person in enumerate(ml_people):
        ml_key = f"ML-{i:07d}"
        ml.append(_as_mission_locale_has_it(rng, names, replace(person, key=ml_key)))
        if id(person) in keys:
            pairs[keys[id(person)]] = ml_key
    return Synthetic(cma, ml, pairs)


def _person(rng: random.Random, names: _Names, cohort: int, i: int) -> Person:
    female = rng.random() < 0.35
    birth = date(cohort, 9, 1) - timedelta(days=rng.randrange(15 * 365 + 4, 25 * 365))
    postcode, commune = rng.choice(COMMUNES) if rng.random() < 0.7 else _elsewhere(rng)
    return Person(
        key=str(i),
        birth_name=names.surname(),
        first_names=names.first_names(female),
        birth_date=birth,
        postcode=postcode,
        commune=commune,
        sex="F" if female else "M",
    )


def _elsewhere(rng: random.Random) -> tuple[str, str]:
    department = rng.choice([d for d in range(1, 96) if d != 20])
    postcode = f"{department:02d}{rng.randrange(0, 1000):03d}"
    return postcode, _commune_name(postcode)


def _commune_name(postcode: str) -> str:
    """A made-up commune for a postcode outside the list, the same each time (from the postcode,
    not the generator: the lists stay what they were), in the ways French communes are named."""
    n = int(postcode[:2]) * 1000 + int(postcode[2:])
    roots = FrenchNames.last_names
    root, river = roots[n % len(roots)], roots[(n + len(roots) // 2) % len(roots)]
    suffix = FrenchAddresses.city_suffixes[n // 7 % len(FrenchAddresses.city_suffixes)]
    return (root, f"Saint-{root}", f"{root}{suffix}", f"{root}-sur-{river}")[n // 11 % 4]


def _as_mission_locale_has_it(rng: random.Random, names: _Names, p: Person) -> Person:
    """The same person as the other organisation typed them in."""
    birth_name, first_names = p.birth_name, p.first_names
    birth, postcode, commune = p.birth_date, p.postcode, p.commune
    if rng.random() < RATES["other_birth_name"]:
        birth_name = names.surname()
    if rng.random() < RATES["usual_first_name_only"]:
        first_names = first_names.split()[0]
    if rng.random() < RATES["hyphen_as_space"]:
        first_names, birth_name = first_names.replace("-", " "), birth_name.replace("-", " ")
    if rng.random() < RATES["typo_birth_name"]:
        birth_name = _typo(rng, birth_name)
    if rng.random() < RATES["typo_first_name"]:
        first_names = _typo(rng, first_names)
    if rng.random() < RATES["capitals_no_accents"]:
        birth_name, first_names = _shout(birth_name), _shout(first_names)
    if rng.random() < RATES["swapped_names"]:
        birth_name, first_names = first_names, birth_name
    if birth is not None and rng.random() < RATES["birth_date_typo"]:
        birth = _date_typo(rng, birth)
    elif birth is not None and birth.day <= 12 and rng.random() < RATES["day_month_swapped"]:
        birth = date(birth.year, birth.day, birth.month)
    if rng.random() < RATES["moved"]:
        postcode, commune = rng.choice(COMMUNES)
    if rng.random() < RATES["no_postcode"]:
        postcode = commune = None
    return replace(
        p,
        birth_name=birth_name,
        first_names=first_names,
        birth_date=birth,
        postcode=postcode,
        commune=commune,
    )


def _shout(text: str) -> str:
    stripped = unicodedata.normalize("NFKD", text)
    return "".join(c for c in stripped if not unicodedata.combining(c)).upper()


def _typo(rng: random.Random, text: str) -> str:
    """One slip of the keyboard: a letter replaced, dropped, doubled or two swapped."""
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 3:
        return text
    i = rng.choice(letters[1:])
    kind = rng.randrange(4)
    if kind == 0:
        return text[:i] + rng.choice("aeioulnrst") + text[i + 1 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + text[i] + text[i:]
    j = i - 1
    return text[:j] + text[i] + text[j] + text[i + 1 :]


def _date_typo(rng: random.Random, birth: date) -> date:
    """One digit of dd/mm/yyyy mistyped (a date that still exists)."""
    text = birth.strftime("%d%m%Y")
    for _ in range(20):
        i = rng.choice([0, 1, 2, 3, 6, 7])  # not the century
        changed = text[:i] + str(rng.randrange(10)) + text[i + 1 :]
        try:
            found = date(int(changed[4:]), int(changed[2:4]), int(changed[:2]))
        except ValueError:
            continue
        if found != birth:
            return found
    return birth
