"""Pictures and summaries of a workflow: Mermaid for docs, plain text for the terminal."""

from __future__ import annotations

from collections import defaultdict

from casework.states.definition import FieldDef, TimerDef, TransitionDef, WorkflowDef


def _edge_label(t: TransitionDef) -> str:
    conditions = [*t.guards, *(f"not {u}" for u in t.unless)]
    label = t.trigger + (f" [{', '.join(conditions)}]" if conditions else "")
    return label + (" ✉" if t.mails else "")


# How `workflows show` says the codes of the YAML that are not names (units, actors, recipients,
# what a late timer does): in French, like the rest of the screen.
UNITS = {
    "minutes": "minute(s)",
    "hours": "heure(s)",
    "days": "jour(s)",
    "working_days": "jour(s) ouvré(s)",
    "months": "mois",
}
ACTORS = {
    "person": "personne",
    "partner": "partenaire",
    "timer": "minuteur",
    "import": "import",
    "system": "système",
}
RECIPIENTS = {
    "counsellor": "référent",
    "partner": "partenaire",
    "partner_manager": "responsable du partenaire",
    "beneficiary": "jeune",
    "guardian": "représentant légal",
}
MISFIRE = {"fire": "déclenché quand même", "skip": "sauté"}


def _delay(timer: TimerDef) -> str:
    start = f"{timer.anchor} + " if timer.anchor else ""
    delay = timer.delay
    unit = UNITS.get(delay.unit, delay.unit)
    instead = ""
    if delay.instead is not None:
        instead = f" (ou {delay.instead}" + (f" + {delay.plus})" if delay.plus else ")")
    return f"{start}{delay.amount} {unit}{instead}"


def _field(f: FieldDef) -> str:
    """A field as `workflows show` lists it: * if required, and when it applies."""
    return f.name + ("*" if f.required else "") + (f" (si {f.when})" if f.when else "")


def mermaid(wf: WorkflowDef) -> str:
    """A `stateDiagram-v2` to paste into Markdown. ✉ marks transitions that send mail."""
    lines = ["stateDiagram-v2", f"    %% {wf.label} ({wf.name} v{wf.version})"]
    for state in wf.states.values():
        lines.append(f"    {state.name} : {state.label}")
    lines.append(f"    [*] --> {wf.initial}")
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    internal: dict[str, list[str]] = defaultdict(list)
    for t in wf.transitions:
        for source in t.sources:
            if t.internal:
                internal[source].append(_edge_label(t))
            else:
                edges[(source, t.destination_from(source))].append(_edge_label(t))
    for (source, dest), labels in edges.items():
        lines.append(f"    {source} --> {dest} : {' / '.join(dict.fromkeys(labels))}")
    for state in wf.states.values():
        notes = [*dict.fromkeys(internal[state.name])]
        notes += [f"⏱ {t.trigger} après {_delay(t)}" for t in state.timers]
        if notes:
            lines.append(f"    note right of {state.name}")
            lines.extend(f"        {n}" for n in notes)
            lines.append("    end note")
        if state.final:
            lines.append(f"    {state.name} --> [*]")
    return "\n".join(lines) + "\n"


def text_summary(wf: WorkflowDef) -> str:
    """What `casework workflows show` prints: states with timers, then transitions."""
    out = [f"{wf.label} — {wf.name} v{wf.version} ({wf.file})", f"État initial : {wf.initial}"]
    if wf.parameters:
        params = ", ".join(f"{k} = {v}" for k, v in wf.parameters.items())
        out.append(f"Paramètres : {params}")
    out.append("")
    out.append("États :")
    for s in wf.states.values():
        flags = " (final)" if s.final else ""
        tags = f" [étiquettes : {', '.join(sorted(s.tags))}]" if s.tags else ""
        out.append(f"  {s.name}{flags}{tags} — {s.label}")
        for timer in s.timers:
            out.append(
                f"      ⏱ {timer.trigger} après {_delay(timer)} "
                f"(en retard : {MISFIRE.get(timer.misfire, timer.misfire)})"
            )
    out.append("")
    out.append("Transitions :")
    for t in wf.transitions:
        dest = "(interne)" if t.internal else t.dest
        out.append(f"  {t.trigger}: {', '.join(t.sources)} → {dest}")
        details = []
        if t.guards or t.unless:
            details.append("si " + ", ".join([*t.guards, *(f"non {u}" for u in t.unless)]))
        if t.handlers:
            details.append("puis " + ", ".join(t.handlers))
        if t.mails:
            details.append(
                "courriels "
                + ", ".join(
                    f"{m.template} → {RECIPIENTS.get(m.recipient, m.recipient)}" for m in t.mails
                )
            )
        details.append("par " + ", ".join(sorted(ACTORS.get(b, b) for b in t.by)))
        if t.fields:
            details.append("champs " + ", ".join(_field(f) for f in t.fields))
        out.extend(f"      {d}" for d in details)
    return "\n".join(out) + "\n"
