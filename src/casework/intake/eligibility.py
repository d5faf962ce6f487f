"""Who of a cohort becomes a case: a rule declared in the settings, per cohort.

```toml
[intake.eligibility]                 # every cohort's rule, unless a cohort has its own
files = "both"                       # "both": on the chamber's and the Mission Locale's lists
                                     # "cma": the chamber's alone (no cross-matching)
[intake.eligibility.2027]            # cohort 2027's: what it leaves out comes from above
files = "cma"
diplomas = ["CAP", "BP", "Bac pro"]  # kinds of diploma (by the diploma's name); [] or absent: any
levels = [3, 4]                      # today's levels (V, IV… accepted)
training_years = [1]                 # first year of the diploma's training
training_centres = ["0530914B"]      # by UAI or by name
statuses = ["apprenti"]              # apprenti, étudiant
campaign_start = "07-01"             # the signing window (month-day of the cohort's year, or a
campaign_end = "12-31"               # full date); absent: [intake] campaign_start, campaign_end
workflow = "pre_apprenticeship"      # the workflow its cases follow (default "case")
workflow_version = 1                 # pinned; absent: the latest version loaded when a case is made
```

A cohort's workflow is a programme: its cases are created in it (and its version) and stay in
it. Whether it exists is checked when the workflows are loaded (`casework.app.build_app`).

A window of two month-days whose end comes before its start runs across the new year: "09-01"
to "02-28" is, for cohort 2026, 1 September 2026 to 28 February 2027 (a season that signs
through the winter). Two full dates are taken as written; a full date and a month-day are not
compared (the month-day's year depends on the cohort).

The rule is checked when the settings are read (a diploma nobody knows, a level 9, two full
dates that end before they start stop every command with a French message). `judge` says, in
French, why a contract is not eligible; an eligible one gets no reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any

from casework.intake import levels
from casework.names import fold

LEAP = 2024  # a month-day is checked on a leap year: 02-29 is a date
_FULL_DATE = "2027-06-15"  # a bound this long is a full date; "07-01" is a month-day
FILES = {"both": "les deux fichiers", "cma": "le fichier de la CMA seul"}


class RuleError(ValueError):
    """A rule that cannot be used: (key, reason in French)."""

    def __init__(self, key: str, reason: str):
        self.key, self.reason = key, reason
        super().__init__(f"{key}: {reason}")


@dataclass(frozen=True)
class Rule:
    files: str = "both"
    diplomas: tuple[str, ...] = ()  # kinds, as `levels.KINDS` writes them
    levels: tuple[int, ...] = ()
    training_years: tuple[int, ...] = ()
    training_centres: tuple[str, ...] = ()  # UAI upper case, or names folded
    statuses: tuple[str, ...] = ()  # apprentice, student
    campaign_start: str = ""  # "" : [intake] campaign_start
    campaign_end: str = ""
    # The workflow (programme) the cohort's cases follow, and its version (None: the latest).
    workflow: str = "case"
    workflow_version: int | None = None

    @property
    def needs_both_files(self) -> bool:
        return self.files == "both"


@dataclass(frozen=True)
class Eligibility:
    """The rule of every cohort, and the cohorts' own."""

    default: Rule = field(default_factory=Rule)
    cohorts: Mapping[int, Rule] = field(default_factory=dict)

    def rule(self, cohort: int) -> Rule:
        return self.cohorts.get(cohort, self.default)

    def workflows(self) -> dict[str, tuple[str, int | None]]:
        """The workflow (name, version) each rule names, by where it is set."""
        named = {"intake.eligibility": (self.default.workflow, self.default.workflow_version)}
        for cohort, rule in sorted(self.cohorts.items()):
            named[f"intake.eligibility.{cohort}"] = (rule.workflow, rule.workflow_version)
        return named

    @classmethod
    def from_toml(cls, raw: object, key: str) -> Eligibility:
        if not isinstance(raw, dict):
            raise RuleError(key, "doit être une table [intake.eligibility]")
        own = {k: v for k, v in raw.items() if not k.isdigit()}
        default = _rule(Rule(), own, key)
        cohorts = {}
        for name, given in raw.items():
            if name.isdigit():
                if not isinstance(given, dict):
                    raise RuleError(f"{key}.{name}", "doit être une table")
                cohorts[int(name)] = _rule(default, given, f"{key}.{name}")
        return cls(default, cohorts)


def _rule(base: Rule, given: dict[str, Any], key: str) -> Rule:
    known = {f.name for f in fields(Rule)}
    for name in given:
        if name not in known:
            raise RuleError(f"{key}.{name}", f"clé inconnue (clés : {', '.join(sorted(known))})")
    changes: dict[str, Any] = {}
    for name, value in given.items():
        where = f"{key}.{name}"
        if name == "files":
            if value not in FILES:
                raise RuleError(where, "« both » (les deux fichiers) ou « cma » (celui de la CMA)")
            changes[name] = value
        elif name == "workflow":
            if not isinstance(value, str) or not value.strip():
                raise RuleError(where, "le nom d'un workflow (fichier workflows/*.yaml)")
            changes[name] = value.strip()
        elif name == "workflow_version":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise RuleError(where, "un numéro de version entier (1, 2…)")
            changes[name] = value
        elif name in ("campaign_start", "campaign_end"):
            _window_bound(value, LEAP, where)  # checked on a leap year; read per cohort
            changes[name] = value
        else:
            changes[name] = tuple(_item(name, v, where) for v in _listed(value, where))
    if "workflow" in changes and "workflow_version" not in changes:
        changes["workflow_version"] = None  # another workflow: not the version of the one above
    rule = replace(base, **changes)
    bounds = (rule.campaign_start, rule.campaign_end)
    # Two month-days always make a window (it may wrap the year end); a date and a month-day
    # are never compared: only two full dates can end before they start.
    dates = all(len(b) == len(_FULL_DATE) for b in bounds)
    if dates and _window_bound(bounds[0], LEAP, key) > _window_bound(bounds[1], LEAP, key):
        raise RuleError(key, "la fenêtre de signature finit avant de commencer")
    return rule


def _listed(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise RuleError(where, "doit être une liste ([] : tous)")
    return value


def _item(name: str, value: Any, where: str) -> Any:
    if name == "diplomas":
        kind = levels.kind_named(str(value))
        if kind is None:
            known = ", ".join(levels.KINDS)
            raise RuleError(where, f"diplôme « {value} » inconnu (connus : {known})")
        return kind
    if name == "levels":
        found = levels.level(str(value))
        if found is None or isinstance(value, bool):
            raise RuleError(where, f"niveau « {value} » inconnu (3 à 7, ou V à I)")
        return found
    if name == "training_years":
        year = levels.training_year(str(value))
        if year is None or isinstance(value, bool):
            raise RuleError(where, f"année « {value} » illisible (1 à {levels.MAX_TRAINING_YEAR})")
        return year
    if name == "statuses":
        status = levels.status(str(value))
        if status is None:
            raise RuleError(where, f"statut « {value} » inconnu (apprenti ou étudiant)")
        return status
    text = str(value).strip()  # a training centre: its UAI, or its name
    if not text:
        raise RuleError(where, "un CFA vide")
    return text.upper() if _is_uai(text) else fold(text)


def _is_uai(text: str) -> bool:
    return len(text) == 8 and text[:7].isascii() and text[:7].isdigit() and text[7].isalpha()


def _window_bound(value: object, cohort: int, where: str) -> date:
    text = str(value)
    if text == "02-29" and cohort % 4:  # a leap day, in a year without one: the day before
        text = "02-28"
    try:
        return date.fromisoformat(text if len(text) == len(_FULL_DATE) else f"{cohort}-{text}")
    except ValueError:
        raise RuleError(where, f"« {text} » n'est pas une date (mois-jour « 07-01 », ou "
                        "« 2027-06-15 »)") from None  # fmt: skip


def window(rule: Rule, cohort: int, start: str, end: str) -> tuple[date, date]:
    """The cohort's signing window: the rule's, else `[intake]`'s (`start`, `end`); two
    month-days whose end comes first wrap into the next year."""
    start, end = rule.campaign_start or start, rule.campaign_end or end
    first = _window_bound(start, cohort, "campaign_start")
    last = _window_bound(end, cohort, "campaign_end")
    month_days = len(start) < len(_FULL_DATE) and len(end) < len(_FULL_DATE)
    if month_days and last < first:
        last = _window_bound(end, cohort + 1, "campaign_end")
    return first, last


def _fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _among(shown: list[str], feminine: bool = False) -> str:
    """ "retenus : CAP, BP", "retenue : 1re"."""
    word = "retenue" if feminine else "retenu"
    return f"{word}{'s' if len(shown) > 1 else ''} : {', '.join(shown)}"


def judge(data: Mapping[str, Any], rule: Rule, season: tuple[date, date]) -> list[str]:
    """Why the chamber's row `data` (values as stored: dates ISO) is not eligible under
    `rule`, in French; nothing if it is."""
    reasons = []
    start = date.fromisoformat(data["start_date"])
    if not season[0] <= start <= season[1]:
        reasons.append(
            f"contrat commencé le {_fr(start)}, hors de la fenêtre de signature "
            f"(du {_fr(season[0])} au {_fr(season[1])})"
        )
    named = data.get("diploma")
    found = levels.diploma(named) if named else None
    if rule.diplomas:
        kinds = _among(list(rule.diplomas))
        if found is None:
            said = f"diplôme « {named} » non reconnu" if named else "diplôme non renseigné"
            reasons.append(f"{said} ({kinds})")
        elif found[0] not in rule.diplomas:
            reasons.append(f"diplôme {found[0]} ({kinds})")
    if rule.levels:
        level = data.get("diploma_level") or (found[1] if found else None)
        shown = _among([str(v) for v in rule.levels])
        if level is None:
            reasons.append(f"niveau non renseigné ({shown})")
        elif level not in rule.levels:
            reasons.append(f"niveau {level} ({shown})")
    if rule.training_years:
        year = data.get("training_year")
        shown = _among([levels.ordinal(y) for y in rule.training_years], feminine=True)
        if year is None:
            reasons.append(f"année de formation non renseignée ({shown})")
        elif year not in rule.training_years:
            reasons.append(f"{levels.ordinal(year)} année de formation ({shown})")
    if rule.training_centres:
        uai, name = data.get("training_centre_uai"), data.get("training_centre_name")
        if not (uai in rule.training_centres or fold(name or "") in rule.training_centres):
            said = name or uai
            reasons.append(f"CFA « {said} » hors des CFA retenus" if said else "CFA non renseigné")
    if rule.statuses:
        status = data.get("learner_status")
        shown = _among([levels.STATUSES[s] for s in rule.statuses])
        if status is None:
            reasons.append(f"statut non renseigné ({shown})")
        elif status not in rule.statuses:
            reasons.append(f"statut {levels.STATUSES[status]} ({shown})")
    return reasons


def describe(rule: Rule, season: tuple[date, date]) -> str:
    """The rule in French, as `intake assign --dry-run` states it."""
    said = [
        "sur les deux fichiers (CMA et Mission Locale)"
        if rule.needs_both_files
        else "sur le fichier de la CMA seul",
        f"contrat commencé du {_fr(season[0])} au {_fr(season[1])}",
    ]
    if rule.diplomas:
        said.append(f"diplômes : {', '.join(rule.diplomas)}")
    if rule.levels:
        said.append(f"niveaux : {', '.join(map(str, rule.levels))}")
    if rule.training_years:
        said.append(f"année de formation : {', '.join(map(levels.ordinal, rule.training_years))}")
    if rule.training_centres:
        said.append(f"CFA : {', '.join(rule.training_centres)}")
    if rule.statuses:
        said.append(f"statut : {', '.join(levels.STATUSES[s] for s in rule.statuses)}")
    return " ; ".join(said)
