"""A source's column profile: which header holds which field (TOML, with defaults per source),
and what to do about the columns a file lacks.

Headers are compared folded (`casework.names.fold`): "Prénom(s)", "PRENOMS" and "prénoms " are
the same header. Beyond `[columns]`, a profile may say:
- `optional = [...]`: fields whose column the file may lack (a name or the birth date: every row
  is then an incomplete record, matched on what it has);
- `[constants]`: a value for every row (the file's own column, if any, is then not read);
- `[defaults]`: a value where the file has no column for the field, or the cell is empty;
- `[status_from_centre]`: the status (apprenti, étudiant) of the young people of a training
  centre, by its UAI or its name, for the rows that do not say it.
Values are checked when the profile is read, as a file's would be.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from casework.errors import CaseworkError
from casework.french import os_error
from casework.intake.fields import FIELDS, KEYS, Field, Invalid, Problem, parse_status
from casework.names import fold


class ProfileError(CaseworkError):
    """A profile that cannot be used (said in French, with the file)."""


@dataclass(frozen=True)
class Profile:
    source: str  # "cma" or "ml"
    columns: dict[str, tuple[str, ...]]  # field → accepted header names
    origin: str  # where it was read from
    optional: frozenset[str] = frozenset()  # identity fields whose column may be missing
    constants: dict[str, Any] = field(default_factory=dict)  # field → value, every row
    defaults: dict[str, Any] = field(default_factory=dict)  # field → value, where none is given
    status_from_centre: dict[str, str] = field(default_factory=dict)  # UAI or folded name →

    @property
    def fields(self) -> dict[str, Field]:
        return FIELDS[self.source]

    def status_of_centre(self, uai: str | None, name: str | None) -> str | None:
        """The status the profile gives the young people of a training centre, if it does."""
        if not self.status_from_centre:
            return None
        return self.status_from_centre.get(uai or "") or self.status_from_centre.get(
            fold(name or "")
        )

    def locate(self, header: list[str], file: str) -> tuple[dict[str, int], list[Problem]]:
        """Where each field is in `header`; a field that must be there and is nowhere is a
        problem. A field the profile gives a constant for is not looked for."""
        folded = [fold(h) for h in header]
        found: dict[str, int] = {}
        problems = []
        for name, spec in self.fields.items():
            if name in self.constants:
                continue
            names = [fold(n) for n in self.columns.get(name, ())]
            indexes = [i for i, h in enumerate(folded) if h and h in names]
            if len(indexes) > 1:  # which one holds the value? Not the first by chance.
                columns = " et ".join(
                    f"« {header[i]} » (colonne {column_letters(i)})" for i in indexes
                )
                problems.append(
                    Problem(
                        file,
                        1,
                        None,
                        None,
                        f"colonnes en double pour {spec.label} : {columns}",
                        f"deux colonnes pour {spec.label}",
                    )
                )
            elif indexes:
                found[name] = indexes[0]
            elif name not in self.defaults and (
                spec.required or (spec.identity and name not in self.optional)
            ):
                accepted = ", ".join(f"« {n} »" for n in self.columns.get(name, ()))
                remedy = (
                    "si le fichier n'en a pas, le profil peut la déclarer dans « optional »"
                    if spec.identity
                    else "si le fichier n'en a pas, le profil peut lui donner une valeur dans "
                    "[defaults]"
                    if name != KEYS[self.source]
                    else "chaque ligne en a besoin"
                )
                problems.append(
                    Problem(
                        file,
                        1,
                        None,
                        None,
                        f"colonne obligatoire absente : {spec.label} (en-têtes acceptés : "
                        f"{accepted} ; {remedy})",
                        f"il manque la colonne {spec.label}",
                    )
                )
        return found, problems

    def ignored(self, header: list[str], found: dict[str, int]) -> list[int]:
        """The columns with a header that no field is read from."""
        used = set(found.values())
        return [i for i, h in enumerate(header) if i not in used and str(h or "").strip()]


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
        raise ProfileError(f"{path} : illisible ({os_error(error)})") from None
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{path} : TOML invalide ({error})") from None
    source = data.get("source")
    if source not in FIELDS:
        raise ProfileError(f"{path} : « source » doit valoir {' ou '.join(FIELDS)}")
    return _parse(data, str(path), default_profile(source))


_KNOWN_KEYS = {"source", "columns", "optional", "constants", "defaults", "status_from_centre"}


def _parse(data: dict, origin: str, base: Profile | None) -> Profile:
    source = data["source"]
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise ProfileError(
            f"{origin} : clé inconnue « {unknown[0]} » (clés : {', '.join(sorted(_KNOWN_KEYS))})"
        )
    columns = dict(base.columns) if base else {}
    for name, names in _table(data, "columns", origin).items():
        _known_field(source, name, origin)
        names = [names] if isinstance(names, str) else names
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ProfileError(f"{origin} : {name} doit être un en-tête ou une liste d'en-têtes")
        columns[name] = tuple(names)
    constants = _values(data, "constants", source, origin)
    defaults = _values(data, "defaults", source, origin)
    both = sorted(set(constants) & set(defaults))
    if both:
        raise ProfileError(f"{origin} : {both[0]} a une constante et une valeur par défaut")
    return Profile(
        source,
        columns,
        origin,
        _optional(data, source, origin),
        constants,
        defaults,
        _status_from_centre(data, source, origin),
    )


def _table(data: dict, key: str, origin: str) -> dict:
    given = data.get(key, {})
    if not isinstance(given, dict):
        raise ProfileError(f"{origin} : [{key}] doit être une table")
    return given


def _known_field(source: str, name: str, origin: str) -> Field:
    if name not in FIELDS[source]:
        known = ", ".join(FIELDS[source])
        raise ProfileError(f"{origin} : champ inconnu « {name} » (champs : {known})")
    return FIELDS[source][name]


def _optional(data: dict, source: str, origin: str) -> frozenset[str]:
    given = data.get("optional", [])
    if not isinstance(given, list) or not all(isinstance(n, str) for n in given):
        raise ProfileError(f"{origin} : « optional » doit être une liste de champs")
    for name in given:
        spec = _known_field(source, name, origin)
        if name == KEYS[source]:
            raise ProfileError(f"{origin} : {spec.label} ne peut pas manquer (« optional »)")
        if spec.required:
            raise ProfileError(
                f"{origin} : {spec.label} ne peut pas manquer, le contrat en a besoin ; donnez-lui "
                "plutôt une valeur dans [defaults]"
            )
    return frozenset(given)


def _values(data: dict, key: str, source: str, origin: str) -> dict[str, Any]:
    """[constants] or [defaults]: each value checked by its field, as a file's would be."""
    values = {}
    for name, raw in _table(data, key, origin).items():
        spec = _known_field(source, name, origin)
        if name == KEYS[source]:
            raise ProfileError(f"{origin} : [{key}] {name} : chaque ligne a le sien")
        try:
            values[name] = spec.parse(raw)
        except Invalid as error:
            raise ProfileError(f"{origin} : [{key}] {name} : « {raw} » — {error}") from None
    return values


def _status_from_centre(data: dict, source: str, origin: str) -> dict[str, str]:
    given = _table(data, "status_from_centre", origin)
    if given and source != "cma":
        raise ProfileError(f"{origin} : [status_from_centre] ne vaut que pour la CMA")
    found = {}
    for centre, raw in given.items():
        try:
            status = parse_status(raw)
        except Invalid as error:
            raise ProfileError(
                f"{origin} : [status_from_centre] « {centre} » : « {raw} » — {error}"
            ) from None
        # Found by a UAI as stored (upper case), or by a name folded, as headers are.
        found[centre.strip().upper()] = status
        found[fold(centre)] = status
    return found
