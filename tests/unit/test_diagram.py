"""The Mermaid diagram and the text summary show every state and transition."""

from __future__ import annotations

from casework.handlers import registry
from casework.resources import default_templates_dir, default_workflows_dir
from casework.states.catalog import load_workflows
from casework.states.diagram import mermaid, text_summary


def test_mermaid_has_every_state_and_edge() -> None:
    workflows = load_workflows(default_workflows_dir(), registry, default_templates_dir())
    definition = workflows.latest("case").definition
    diagram = mermaid(definition)
    assert diagram.startswith("stateDiagram-v2\n")
    assert "[*] --> identified" in diagram
    for state in definition.states.values():
        assert f"    {state.name} : {state.label}" in diagram
    assert "follow_up --> follow_up : next_cycle [cycles_remaining] ✉" in diagram
    assert "follow_up --> monitoring : next_cycle [not cycles_remaining]" in diagram
    assert "record_contact" in diagram  # internal transitions are listed in notes
    assert "⏱ next_cycle après 1 mois" in diagram
    assert "closed --> [*]" in diagram


def test_text_summary_lists_timers_guards_and_mails() -> None:
    workflows = load_workflows(default_workflows_dir(), registry, default_templates_dir())
    text = text_summary(workflows.latest("liaison").definition)
    assert "⏱ remind après 4 jour(s) ouvré(s) (ou partner.ack_days + 1)" in text
    assert "⏱ escalate après 6 jour(s) ouvré(s) (ou partner.ack_days + 3)" in text
    assert "si young_person_consents" in text
    assert "courriels escalation → responsable du partenaire, escalation → référent" in text


def test_text_summary_says_when_a_field_applies() -> None:
    workflows = load_workflows(default_workflows_dir(), registry, default_templates_dir())
    text = text_summary(workflows.latest("case").definition)
    assert "champs given_by*, guardian_agreed (si beneficiary.minor), data_checked" in text
