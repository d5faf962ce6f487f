"""The two files of a signing season as each organisation exports them, from the synthetic
lists (`synthetic.py`): the chamber's contracts (CSV, Windows-1252, `;`, dd/mm/yyyy, a few bad
rows) and the Mission Locale's caseload (a workbook), optionally as organisations often send
them (old level names, some rows incomplete). Seeded: the same seed gives the same files.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

from faker.providers.person.fr_FR import Provider as FrenchNames

from casework.csv_export import SafeWriter
from casework.intake.synthetic import Synthetic, generate

CMA_HEADER = [
    "N° contrat", "Nom", "Prénoms", "Date de naissance", "Sexe", "Code postal", "Commune",
    "Employeur", "SIRET", "Métier", "CFA", "UAI", "Diplôme préparé", "Niveau",
    "Date de début", "Date de fin prévue", "Date de rupture",
]  # fmt: skip
ML_HEADER = ["Identifiant", "Nom", "Prénom", "Date de naissance", "Sexe", "Code postal",
             "Commune", "Date d'inscription"]  # fmt: skip
TRADES = [
    ("Boulangerie", "CAP Boulanger", 3),
    ("Coiffure", "CAP Métiers de la coiffure", 3),
    ("Maçonnerie", "CAP Maçon", 3),
    ("Électricité", "BP Électricien", 4),
    ("Mécanique automobile", "Bac pro Maintenance des véhicules", 4),
    ("Esthétique", "BTS Métiers de l'esthétique", 5),
]
CENTRES = [("CFA de la CMA de la Mayenne", "0530914B"), ("CFA du Bâtiment de Laval", "0530078K")]
# Rows a real export has: a date nobody can read, a contract number left out (a row without a
# name is only incomplete: it is kept), a contract ending before it starts, a postcode typed as
# a word.
BAD_CMA_ROWS = [
    {"Date de naissance": "31/02/2008"},
    {"N° contrat": ""},
    {"Date de fin prévue": "01/01/2020"},
    {"Code postal": "Laval"},
]


def contract_rows(data: Synthetic, seed: int, cohort: int, bad_rows: bool = True) -> list[dict]:
    """The chamber's rows (text, as a spreadsheet writes them): each person's contract, signed
    in the season (July to December), and at the end a few bad rows."""
    rng = random.Random(seed)
    rows = []
    for p in data.cma:
        trade, diploma, level = rng.choice(TRADES)
        centre, uai = rng.choice(CENTRES)
        start = date(cohort, 7, 1) + timedelta(days=rng.randrange(0, 183))
        rows.append(
            {
                "N° contrat": p.key,
                "Nom": p.birth_name,
                "Prénoms": p.first_names,
                "Date de naissance": _fr(p.birth_date),
                "Sexe": p.sex or "",
                "Code postal": p.postcode or "",
                "Commune": p.commune or "",
                "Employeur": f"{trade} {_employer(rng)}",
                "SIRET": f"{rng.randrange(10**13, 10**14)}",
                "Métier": trade,
                "CFA": centre,
                "UAI": uai,
                "Diplôme préparé": diploma,
                "Niveau": str(level),
                "Date de début": _fr(start),
                "Date de fin prévue": _fr(date(start.year + 2, start.month, min(start.day, 28))),
                "Date de rupture": "",
            }
        )
    if bad_rows:
        for i, change in enumerate(BAD_CMA_ROWS):
            row = dict(rows[i % len(rows)]) if rows else {h: "" for h in CMA_HEADER}
            row["N° contrat"] = f"CMA-{cohort}-BAD{i}"
            rows.append({**row, **change})
    return rows


def caseload_rows(data: Synthetic, seed: int, cohort: int) -> list[dict]:
    """The Mission Locale's rows: one per young person it follows."""
    rng = random.Random(seed + 1)
    return [
        {
            "Identifiant": p.key,
            "Nom": p.birth_name,
            "Prénom": p.first_names,
            "Date de naissance": p.birth_date.isoformat() if p.birth_date else "",
            "Sexe": p.sex or "",
            "Code postal": p.postcode or "",
            "Commune": p.commune or "",
            "Date d'inscription": _registered(rng, p.birth_date, cohort).isoformat(),
        }
        for p in data.ml
    ]


# Files as organisations often send them (`write_sample_files(as_sent=True)`): the chamber's
# without the sex, the employer or the SIRET, levels in the old nomenclature, a status and a year
# of training, columns nothing reads; on both sides some rows without a first name, a name or a
# birth date (incomplete records, cross-matched on what they have).
AS_SENT_CMA_HEADER = [
    "N° contrat", "Nom", "Prénoms", "Date de naissance", "Code postal", "Commune", "Métier",
    "CFA", "UAI", "Diplôme préparé", "Niveau", "Statut", "Année de formation", "Date de début",
    "Date de fin prévue", "Date de rupture", "Téléphone", "Observations",
]  # fmt: skip
OLD_LEVELS = {"3": "V", "4": "IV", "5": "III", "6": "II", "7": "I"}
INCOMPLETE = 0.03  # of each file's rows: a first name, a name or a birth date left out


def as_sent_rows(rows: list[dict], seed: int, chamber: bool) -> list[dict]:
    """`rows` as organisations often send them (see AS_SENT_CMA_HEADER); the bad rows at the
    end stay as they are."""
    rng = random.Random(seed + (7 if chamber else 8))
    names = ("Nom", "Prénoms" if chamber else "Prénom", "Date de naissance")
    out = []
    for row in rows:
        row = dict(row)
        if chamber:
            row["Niveau"] = OLD_LEVELS.get(row["Niveau"], row["Niveau"])
            student = row["Diplôme préparé"].startswith("BTS") and rng.random() < 0.4
            row["Statut"] = "Étudiant" if student else "Apprenti"
            row["Année de formation"] = "1re année" if rng.random() < 0.75 else "2e année"
            row["Téléphone"] = f"06 {rng.randrange(10**8):08d}"
        key = row.get("N° contrat") or row.get("Identifiant") or ""
        if "BAD" not in key and rng.random() < INCOMPLETE:
            row[rng.choice(names)] = ""
        out.append(row)
    return out


def write_csv(rows: list[dict], header: list[str], path: Path, encoding: str, sep: str) -> None:
    with path.open("w", encoding=encoding, newline="", errors="replace") as out:
        writer = SafeWriter(out, delimiter=sep)
        writer.writerow(header)
        writer.writerows([row.get(name, "") for name in header] for row in rows)


def write_xlsx(rows: list[dict], header: list[str], path: Path) -> None:
    """A workbook as the Mission Locale's software exports it: dates as real dates."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Jeunes")
    sheet.append(header)
    for row in rows:
        values = []
        for name in header:
            value = row.get(name, "")
            if name.startswith("Date") and value:
                value = date.fromisoformat(value) if "-" in value else value
            values.append(value)
        sheet.append(values)
    workbook.save(path)


def write_sample_files(
    folder: Path, n: int, seed: int = 53, cohort: int = 2026, as_sent: bool = False
) -> Synthetic:
    """The two files of a signing season, as they arrive: the chamber's CSV (Windows-1252,
    `;`, dd/mm/yyyy, a few bad rows) and the Mission Locale's workbook; and the truth.
    `as_sent`: as organisations often send them (see `as_sent`)."""
    data = generate(n, seed=seed, cohort=cohort)
    folder.mkdir(parents=True, exist_ok=True)
    contracts, caseload = contract_rows(data, seed, cohort), caseload_rows(data, seed, cohort)
    header = CMA_HEADER
    if as_sent:
        contracts, caseload = (
            as_sent_rows(contracts, seed, True),
            as_sent_rows(caseload, seed, False),
        )
        header = AS_SENT_CMA_HEADER
    write_csv(contracts, header, folder / "contrats_cma.csv", "cp1252", ";")
    write_xlsx(caseload, ML_HEADER, folder / "jeunes_ml.xlsx")
    return data


def _fr(day: date | None) -> str:
    return day.strftime("%d/%m/%Y") if day else ""


def _employer(rng: random.Random) -> str:
    return rng.choice(FrenchNames.last_names)


def _registered(rng: random.Random, born: date | None, cohort: int) -> date:
    """Registered at the Mission Locale in the last eighteen months, at 16 at the earliest."""
    day = date(cohort - 1, 1, 1) + timedelta(days=rng.randrange(0, 540))
    if born is not None and born.year + 16 < 2100:
        day = max(day, date(born.year + 16, born.month, min(born.day, 28)))
    return day
