"""One root error; definition errors apart from runtime refusals; errors carry their facts.

Messages are composed in French only at the edge (CLI, web) from the facts kept here, through
`french()`; `str()` stays English for logs and developers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class CaseworkError(Exception):
    """Root of every error casework raises on purpose."""

    def french(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a workflow definition, with where it is."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class WorkflowDefinitionError(CaseworkError):
    """A workflow file cannot be loaded; lists every problem found, each with file and line."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def file(self) -> str:
        return self.problems[0].file

    @property
    def line(self) -> int:
        return self.problems[0].line

    def french(self) -> str:
        n = len(self.problems)
        head = f"{n} problème(s) dans la définition des workflows :"
        return "\n".join([head, *(f"  {p}" for p in self.problems)])


class UnknownWorkflow(CaseworkError):
    """No workflow by that name (and version); with `kind`, none for that kind of row."""

    def __init__(self, name: str, version: int | None = None, kind: str | None = None):
        self.name, self.version, self.kind = name, version, kind
        super().__init__(f"unknown {kind or ''} workflow {name!r} version {version}")

    def french(self) -> str:
        shown = self.name if self.version is None else f"{self.name} (version {self.version})"
        if self.kind is not None:
            what = {"case": "des dossiers", "liaison": "des fiches de liaison"}.get(self.kind)
            return f"Aucun workflow {shown} pour {what or self.kind}."
        return f"Workflow inconnu : {shown}."


class EntityNotFound(CaseworkError):
    def __init__(self, kind: str, entity_id: int):
        self.kind, self.entity_id = kind, entity_id
        super().__init__(f"{kind} {entity_id} not found")

    def french(self) -> str:
        what = {"case": "Dossier", "liaison": "Fiche de liaison"}.get(self.kind, self.kind)
        return f"{what} {self.entity_id} introuvable."


_ACTOR_FR = {
    "person": "une personne",
    "partner": "un partenaire",
    "timer": "un minuteur",
    "import": "un import",
    "system": "le système",
}


class TransitionRefused(CaseworkError):
    """The trigger is not allowed from the entity's state, not for this actor, or a guard said no.

    `entity` ("case", "liaison") and `entity_id` name what was refused; `case_id` is the case it
    belongs to (the case itself, or a sheet's case; None when the refusal did not say).
    `reason` is one of "state", "actor", "guards", "stale" (a timer's row has entered a state
    again since the timer was set); `detail` is the guard's own French explanation when it gave
    one.
    """

    def __init__(
        self,
        entity: str,
        entity_id: int,
        trigger: str,
        state: str,
        allowed: Sequence[str],
        reason: str = "state",
        detail: str | None = None,
        actor_kind: str | None = None,
        state_label: str | None = None,
        case_id: int | None = None,
    ):
        self.entity, self.entity_id, self.trigger, self.state = entity, entity_id, trigger, state
        self.case_id = case_id if case_id is not None or entity != "case" else entity_id
        self.allowed = tuple(sorted(allowed))
        self.reason, self.detail, self.actor_kind = reason, detail, actor_kind
        # What people call the state (the workflow's label): messages name it, not its code.
        self.state_label = state_label or state
        explained = {
            "state": "not allowed from this state",
            "actor": f"not for a {actor_kind}",
            "guards": f"guards said no{': ' + detail if detail else ''}",
            "stale": "the row has entered a state again since",
        }[reason]
        super().__init__(
            f"{entity} {entity_id}: trigger {trigger!r} refused in state {state!r} ({explained}); "
            f"allowed: {', '.join(self.allowed) or 'none'}"
        )

    def french(self) -> str:
        what = {"case": "dossier", "liaison": "fiche de liaison"}.get(self.entity, self.entity)
        where = f"{what} {self.entity_id}, état « {self.state_label} »"
        if self.reason == "guards":
            why = self.detail or "les conditions ne sont pas remplies"
            return f"L'action « {self.trigger} » est refusée ({where}) : {why}."
        if self.reason == "stale":
            return (
                f"L'action « {self.trigger} » n'a plus lieu d'être : "
                f"{'la' if self.entity == 'liaison' else 'le'} {what} a changé d'état depuis."
            )
        if self.reason == "actor":
            who = _ACTOR_FR.get(self.actor_kind or "", self.actor_kind)
            return f"L'action « {self.trigger} » ne peut pas être faite par {who} ({where})."
        allowed = ", ".join(self.allowed) or "aucune"
        return (
            f"L'action « {self.trigger} » n'est pas possible depuis cet état ({where}). "
            f"Actions possibles : {allowed}."
        )


class VersionConflict(CaseworkError):
    """Someone else changed the entity since it was read; nothing was written."""

    def __init__(self, kind: str, entity_id: int, expected: int, actual: int | None):
        self.kind, self.entity_id, self.expected, self.actual = kind, entity_id, expected, actual
        super().__init__(
            f"{kind} {entity_id}: version conflict (expected {expected}, found {actual})"
        )

    def french(self) -> str:
        return (
            f"Le dossier {self.entity_id} a été modifié entre-temps (version attendue "
            f"{self.expected}, version actuelle {self.actual}). Rien n'a été enregistré : "
            "rechargez et recommencez."
        )


class InvalidTransitionData(CaseworkError):
    """A value given with a transition does not fit the field the workflow declares."""

    def __init__(
        self,
        trigger: str,
        field: str,
        value: object,
        reason: str,
        choices: Sequence[tuple[str, str]] = (),
    ):
        self.trigger, self.field, self.value, self.reason = trigger, field, value, reason
        # For a value not among a field's choices: (code, label) of each. `reason` names the
        # labels (what a form shows); `french()`, for the command line, the codes to type.
        self.choices = tuple(choices)
        # Not the value: logs and tracebacks keep no personal data (a note about a young person).
        super().__init__(f"{trigger}: field {field!r} refused: {reason}")

    def french(self) -> str:
        from casework.text_limits import shown  # a value may be 100,000 characters, or hold NULs

        value = f"« {shown(self.value)} »" if isinstance(self.value, str) else self.value
        reason = self.reason
        if self.choices:
            typed = ", ".join(
                code if code == label else f"{code} ({label})" for code, label in self.choices
            )
            reason = reason.split("valeurs possibles : ")[0] + f"valeurs possibles : {typed}"
        return f"Action « {self.trigger} », champ « {self.field} » = {value} : {reason}"


def error_kind(error: BaseException) -> str:
    """The kind of an error, never its text: a database error's text may quote the values it
    refused (names, addresses), which must not reach logs, pages or stored reasons."""
    original = getattr(error, "orig", None)
    return type(original if original is not None else error).__name__


def describe_error(error: BaseException) -> str:
    """An error as it may be logged and shown on /health: a database error by its kind only,
    another with its text, cut short."""
    from sqlalchemy.exc import DBAPIError, StatementError

    if isinstance(error, DBAPIError | StatementError):
        return f"base de données : {error_kind(error)}"
    return f"{type(error).__name__}: {str(error)[:200]}"
