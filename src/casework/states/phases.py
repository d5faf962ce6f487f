"""The phases of the counsellor's work a case workflow declares (`phases:`), read and checked.

```yaml
phases:
  consent: {label: Consentement, states: [consent_asked, consent_reminded]}
```

A contact is stored with the phase of the state its case was in (`log_contact`), so that time
per phase is a GROUP BY. The mapping is data, in the file, like the digest's lines: a state
renamed in the file and not in its phase fails `casework workflows check` at that line, and a
state in two phases is refused (its contacts would count twice or arbitrarily once).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from casework.errors import Problem
from casework.states.definition import PhaseDef, WorkflowDef
from casework.states.yaml_lines import LDict

if TYPE_CHECKING:
    from casework.states.reader import _Reader

_PHASE_KEYS = {"label", "states"}


def read_phases(reader: _Reader, top: LDict) -> dict[str, PhaseDef]:
    if "phases" not in top:
        return {}
    node = reader.mapping(top["phases"], top.line_of("phases"), "'phases'")
    found = {}
    for name, line, body, what in reader.named_mappings(
        node, _PHASE_KEYS, lambda name: f"the phase {name!r}"
    ):
        label = reader.string(body, "label", what, required=True)
        states = reader.names(body, "states", what)
        if not states:
            reader.problem(line, f"{what} needs 'states'")
        elif label is not None:
            found[name] = PhaseDef(name, label, states, line)
    return found


def check_phases(wf: WorkflowDef) -> Iterable[Problem]:
    """Phases are a case workflow's; each names states that exist, each state in one phase."""
    if wf.phases and wf.entity != "case":
        line = wf.section_lines.get("phases", wf.line)
        yield Problem(wf.file, line, "« phases » ne vaut que pour un workflow de dossiers")
        return
    seen: dict[str, str] = {}
    for phase in wf.phases.values():
        for state in phase.states:
            if state not in wf.states:
                yield Problem(
                    wf.file, phase.line, f"phase « {phase.name} » : l'état « {state} » n'existe pas"
                )
            elif state in seen:
                yield Problem(
                    wf.file,
                    phase.line,
                    f"phase « {phase.name} » : l'état « {state} » est déjà dans la phase "
                    f"« {seen[state]} »",
                )
            else:
                seen[state] = phase.name
