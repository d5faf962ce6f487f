"""The names of the workflow files that Python code relies on, and the check that they exist.

Most domain names are read from the definition (a digest line, a reply, a tagged trigger). What
code still names — a trigger it fires (`reassign`), a trigger it finds by its tag (`rupture`)
with the fields it passes, a state the demo's people look for — it declares once, beside
itself, with `requires(...)` at module level. `casework workflows check` (and every start)
then refuses a workflow file missing one of them, naming the file, the line and the code that
needs it: a rename in YAML cannot pass the check and break at run time.

The modules that declare are listed in `DECLARING_MODULES` and imported when the check runs
(`tests/unit/test_workflow_rules.py` makes sure no module calling `requires` is left out).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from casework.errors import Problem
from casework.states.definition import WorkflowDef

DECLARING_MODULES = (
    "casework.handover",
    "casework.intake.importer",
    "casework.intake.launch",
    "casework.notify.render",
    "casework.demo.people",
    "casework.demo.story",
    "casework.privacy.withdrawal",
)


@dataclass(frozen=True)
class Requirement:
    """Names one piece of code (`by`) needs in every workflow of an entity kind, or in the
    workflow of one name. Fields are {trigger or tag: {field: type}}."""

    by: str
    entity: str | None = None
    workflow: str | None = None
    triggers: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    tagged: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    states: tuple[str, ...] = ()
    state_tags: tuple[str, ...] = ()
    start: tuple[str, ...] = ()  # groups `start:` must give a trigger for
    # Only the workflow files shipped with casework (the demo runs on those; a deployment's own
    # files, or a version 2 of them, need not keep the demo's names).
    bundled_only: bool = False

    def applies_to(self, wf: WorkflowDef) -> bool:
        if self.bundled_only and not _bundled(wf):
            return False
        if self.workflow is not None:
            return wf.name == self.workflow
        return wf.entity == self.entity


REQUIREMENTS: list[Requirement] = []


def requires(
    entity: str | None = None,
    *,
    by: str,
    workflow: str | None = None,
    triggers: Iterable[str] | Mapping[str, Mapping[str, str]] = (),
    tagged: Iterable[str] | Mapping[str, Mapping[str, str]] = (),
    states: Iterable[str] = (),
    state_tags: Iterable[str] = (),
    start: Iterable[str] = (),
    bundled_only: bool = False,
) -> None:
    """Declare names `by` relies on: in every workflow of `entity`, or in `workflow`.

    `triggers` names triggers the code fires, `tagged` the tags it finds exactly one trigger
    by; either may map each to the fields the code passes ({"rupture_date": "date"}); `start`
    the groups whose starting trigger the file must name (`start:`)."""
    if (entity is None) == (workflow is None):
        raise ValueError("requires(): give an entity kind or a workflow name")
    REQUIREMENTS.append(
        Requirement(
            by=by,
            entity=entity,
            workflow=workflow,
            triggers=_with_fields(triggers),
            tagged=_with_fields(tagged),
            states=tuple(states),
            state_tags=tuple(state_tags),
            start=tuple(start),
            bundled_only=bundled_only,
        )
    )


def _bundled(wf: WorkflowDef) -> bool:
    from casework.resources import default_workflows_dir

    return Path(wf.file).resolve().parent == default_workflows_dir().resolve()


def _with_fields(
    names: Iterable[str] | Mapping[str, Mapping[str, str]],
) -> dict[str, Mapping[str, str]]:
    if isinstance(names, Mapping):
        return dict(names)
    return {name: {} for name in names}


def declared() -> list[Requirement]:
    """Every requirement, once the modules that declare them are imported."""
    for module in DECLARING_MODULES:
        importlib.import_module(module)
    return list(REQUIREMENTS)


def check_requirements(wf: WorkflowDef) -> list[Problem]:
    """What code needs and `wf` lacks, each at the workflow's line (said in French)."""
    problems: list[Problem] = []

    def problem(message: str, by: str) -> None:
        problems.append(Problem(wf.file, wf.line, f"{message} ({by} en dépend)"))

    for need in declared():
        if not need.applies_to(wf):
            continue
        for trigger, fields in need.triggers.items():
            if trigger not in wf.triggers:
                problem(f"il manque le déclencheur « {trigger} »", need.by)
            else:
                problems.extend(_fields(wf, trigger, fields, need.by))
        for tag, fields in need.tagged.items():
            found = wf.triggers_tagged(tag)
            if len(found) != 1:
                have = ", ".join(f"« {t} »" for t in found) or "aucun"
                problem(f"un seul déclencheur doit porter l'étiquette « {tag} » ({have})", need.by)
            else:
                problems.extend(_fields(wf, found[0], fields, need.by))
        for state in need.states:
            if state not in wf.states:
                problem(f"il manque l'état « {state} »", need.by)
        for tag in need.state_tags:
            if not wf.states_tagged(tag):
                problem(f"aucun état ne porte l'étiquette « {tag} »", need.by)
        for group in need.start:
            if group not in wf.start:
                where = wf.section_lines.get("start", wf.line)
                problems.append(
                    Problem(
                        wf.file,
                        where,
                        f"« start » doit nommer le déclencheur qui démarre les dossiers du groupe "
                        f"« {group} » ({need.by} en dépend)",
                    )
                )
    return problems


def _fields(wf: WorkflowDef, trigger: str, fields: Mapping[str, str], by: str) -> list[Problem]:
    """Each transition of `trigger` takes each field, of its type."""
    problems = []
    for t in wf.transitions:
        if t.trigger != trigger:
            continue
        have = {f.name: f.type for f in t.fields}
        for name, ftype in fields.items():
            if have.get(name) != ftype:
                problems.append(
                    Problem(
                        wf.file,
                        t.line,
                        f"« {trigger} » doit prendre le champ « {name} » ({ftype}) "
                        f"({by} en dépend)",
                    )
                )
    return problems
