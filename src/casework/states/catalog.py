"""The set of loaded workflows: every definition by (name, version), each with its machine.

`load_workflows` reads `workflows/*.yaml`, validates everything and refuses to load if anything
is wrong, listing every problem with file and line.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from casework.errors import Problem, UnknownWorkflow, WorkflowDefinitionError
from casework.handlers.registry import Registry
from casework.models.base import (
    ContactChannel,
    DiplomaOutcome,
    ExitKind,
    NeedCategory,
    RuptureInitiative,
    Situation,
    enum_values,
)
from casework.states.definition import WorkflowDef
from casework.states.machine import WorkflowMachine
from casework.states.reader import read_workflow
from casework.states.validation import validate

# Closed lists a field can take its choices from (`vocabulary:` in YAML).
VOCABULARIES: Mapping[str, tuple[str, ...]] = {
    "need_category": tuple(enum_values(NeedCategory)),
    "contact_channel": tuple(enum_values(ContactChannel)),
    "rupture_initiative": tuple(enum_values(RuptureInitiative)),
    "positive_exit": (
        ExitKind.NEW_CONTRACT_SAME_TRADE.value,
        ExitKind.OTHER_ORIENTATION.value,
        ExitKind.TRAINING.value,
        ExitKind.JOB.value,
    ),
    "situation": tuple(enum_values(Situation)),
    "diploma_outcome": tuple(enum_values(DiplomaOutcome)),
}


@dataclass(frozen=True)
class WorkflowSet:
    machines: Mapping[tuple[str, int], WorkflowMachine]

    def machine(self, name: str, version: int) -> WorkflowMachine:
        try:
            return self.machines[(name, version)]
        except KeyError:
            raise UnknownWorkflow(name, version) from None

    def definition(self, name: str, version: int) -> WorkflowDef:
        return self.machine(name, version).definition

    def find(self, name: str, version: int) -> WorkflowDef | None:
        """A row's own definition, or None if its workflow is no longer loaded (what people
        read then shows codes rather than failing)."""
        machine = self.machines.get((name, version))
        return machine.definition if machine is not None else None

    def versions(self, name: str) -> list[WorkflowDef]:
        """Every loaded version of a workflow, newest first."""
        found = sorted(v for (n, v) in self.machines if n == name)
        return [self.machines[(name, v)].definition for v in reversed(found)]

    def latest(self, name: str) -> WorkflowMachine:
        versions = [v for (n, v) in self.machines if n == name]
        if not versions:
            raise UnknownWorkflow(name)
        return self.machines[(name, max(versions))]

    def starting(self, name: str, version: int | None, kind: str) -> WorkflowMachine:
        """The workflow new rows of `kind` are created in: `name` at `version` (None: the
        latest loaded). Rows keep the version they were created in (see `machine`)."""
        machine = self.latest(name) if version is None else self.machine(name, version)
        if machine.definition.entity != kind:
            raise UnknownWorkflow(name, version, kind)
        return machine

    def __iter__(self) -> Iterator[WorkflowDef]:
        for key in sorted(self.machines):
            yield self.machines[key].definition


def check_workflows(
    directory: Path, registry: Registry, templates_dir: Path
) -> tuple[list[WorkflowDef], list[Problem]]:
    """Read and validate every `*.yaml` in `directory`; returns definitions and problems."""
    definitions: list[WorkflowDef] = []
    problems: list[Problem] = []
    files = sorted(directory.glob("*.yaml"))
    if not files:
        problems.append(Problem(str(directory), 0, "no workflow file (*.yaml) here"))
    seen: dict[tuple[str, int], WorkflowDef] = {}
    for path in files:
        definition, found = read_workflow(path, VOCABULARIES)
        problems.extend(found)
        if definition is None:
            continue
        if definition.key in seen:
            other = seen[definition.key]
            problems.append(
                Problem(
                    definition.file,
                    definition.line,
                    f"workflow {definition.name!r} version {definition.version} is already "
                    f"defined in {other.file}",
                )
            )
            continue
        seen[definition.key] = definition
        if not found:  # names only make sense to check once the structure is sound
            problems.extend(validate(definition, registry, templates_dir))
        definitions.append(definition)
    return definitions, problems


def load_workflows(directory: Path, registry: Registry, templates_dir: Path) -> WorkflowSet:
    definitions, problems = check_workflows(directory, registry, templates_dir)
    if problems:
        raise WorkflowDefinitionError(problems)
    return WorkflowSet({d.key: WorkflowMachine(d, registry) for d in definitions})
