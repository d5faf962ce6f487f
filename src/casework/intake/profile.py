"""A source's column profile: which header holds which field (TOML, with defaults per source).

Headers are compared folded (`casework.names.fold`): "Prénom(s)", "PRENOMS" and "prénoms " are
the same header.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from casework.errors import CaseworkError
from casework.intake.fields import FIELDS, Field, Problem
from casework.names import fold


class ProfileError(CaseworkError):
    """A profile that cannot be used (said in French, with the file)."""


@dataclass(frozen=True)
class Profile:
    source: str  # "cma" or "ml"
    columns: dict[str, tuple[str, ...]]  # field → accepted header names
    origin: str  # where it was read from

    @property
    def fields(self) -> dict[str, Field]:
        return FIELDS[self.source]

    def locate(self, header: list[str], file: str) -> tuple[dict[str, int], list[Problem]]:
        """Where each field is in `header`; a required field nowhere is a problem."""
        folded = [fold(h) for h in header]
        found: dict[str, int] = {}
        problems = []
        for name, field in self.fields.items():
            names = [fold(n) for n in self.columns.get(name, ())]
            indexes = [i for i, h in enumerate(folded) if h and h in names]
            if len(indexes) > 1:  # which one holds the value? Not the first by chance.
                columns = " et ".join(
                    f"« {header[i]} » (colonne {column_letters(i)})" for i in indexes
                )
                problems.append(
                    Problem(
                        file, 1, None, None, f"colonnes en double pour {field.label} : {columns}"
                    )
                )
            elif indexes:
                found[name] = indexes[0]
            elif field.required:
                accepted = ", ".join(f"« {n} »" for n in self.columns.get(name, ()))
                problems.append(
                    Problem(
                        file,
                        1,
                        None,
                        None,
                        f"colonne obligatoire absente : {field.label} (en-têtes acceptés : "
                        f"{accepted})",
                    )
                )
        return found, problems


def column_letters(index: int) -> str:
    """A column as a spreadsheet names it: 0 is A, 25 is Z, 26 is AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def default_profile(source: str) -> Profile:
    if source not in FIELDS:
        raise ProfileError(f"source inconnue : {source} (attendu : {', '.join(FIELDS)})")
    text = resources.files("casework.intake.profiles").joinpath(f"{source}.toml").read_text()
    return _parse(tomllib.loads(text), f"profil par défaut ({source})", None)


def load_profile(path: Path) -> Profile:
    """A profile file; the fields it leaves out keep their defaults."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ProfileError(f"{path} : illisible ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{path} : TOML invalide ({error})") from None
    source = data.get("source")
    if source not in FIELDS:
        raise ProfileError(f"{path} : « source » doit valoir {' ou '.join(FIELDS)}")
    return _parse(data, str(path), default_profile(source))


def _parse(data: dict, origin: str, base: Profile | None) -> Profile:
    source = data["source"]
    columns = dict(base.columns) if base else {}
    given = data.get("columns", {})
    if not isinstance(given, dict):
        raise ProfileError(f"{origin} : [columns] doit être une table")
    for name, names in given.items():
        if name not in FIELDS[source]:
            known = ", ".join(FIELDS[source])
            raise ProfileError(f"{origin} : champ inconnu « {name} » (champs : {known})")
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ProfileError(f"{origin} : {name} doit être un en-tête ou une liste d'en-têtes")
        columns[name] = tuple(names)
    return Profile(source, columns, origin)
