"""What a transition recorded, as people read it: labels in the workflow's order, once each."""

from __future__ import annotations

from casework import wording
from casework.handlers import registry
from casework.resources import default_templates_dir, default_workflows_dir
from casework.states.catalog import load_workflows

CASE = load_workflows(default_workflows_dir(), registry, default_templates_dir()).latest("case")


def test_a_referral_says_its_fields_once_in_the_order_the_workflow_declares() -> None:
    data = {"consent": True, "description": "Cherche", "need_category": "housing", "partner_id": 3}
    assert wording.recorded(CASE.definition, "refer", data) == (
        "Partenaire : n° 3 ; Besoin : logement ; Description du besoin : Cherche ; "
        "Le jeune est d'accord : oui"
    )
    # Partners by their names when the caller read them; one not read by its number.
    data = {"partner_id": 3, "proposed": [2, 3, 9], "rank": 2}
    assert wording.recorded(
        CASE.definition, "refer", data, {2: "CFA du bâtiment", 3: "ADLJ 53"}
    ) == (
        "Partenaire : ADLJ 53 ; partenaires proposés : CFA du bâtiment, ADLJ 53, n° 9 ; "
        "rang du partenaire choisi : 2"
    )


def test_values_by_their_labels_dates_in_french_lists_joined() -> None:
    contact = {"difficulties": ["housing", "money"], "channel": "sms", "duration_min": 5}
    assert wording.recorded(CASE.definition, "record_contact", contact) == (
        "Canal : SMS ; Durée (minutes) : 5 ; Difficultés repérées : logement, argent et budget"
    )
    created = {"group": "control", "cohort": 2026, "assignment_method": "lottery", "draw": 2}
    assert wording.recorded(CASE.definition, None, created) == (
        "cohorte : 2026 ; groupe : témoin ; méthode : tirage au sort ; répartition n° 2"
    )
    rupture = {"rupture_date": "2026-10-03", "initiative": "mutual"}
    assert wording.recorded(CASE.definition, "rupture", rupture) == (
        "Date de rupture : 03/10/2026 ; Initiative de la rupture : d'un commun accord"
    )


def test_actions_states_and_actors_by_what_people_call_them() -> None:
    definition = CASE.definition
    assert wording.action(definition, "remind_consent") == "Relancer pour le consentement"
    assert wording.action(definition, "partner_alert") == "Alerte d'un partenaire"
    assert wording.action(definition, None) == "Création"
    assert wording.state(definition, "consent_reminded") == "Consentement à recueillir (relancé)"
    assert wording.actor("timer", "timer") == "minuteur"
    assert wording.actor("partner", "a@b.example") == "partenaire a@b.example"
    assert wording.actor("person", "claire") == "claire"


def test_an_empty_list_is_a_dash_whatever_the_noun() -> None:
    contact = {"channel": "phone", "duration_min": 5, "difficulties": []}
    assert wording.recorded(CASE.definition, "record_contact", contact).endswith(
        "Difficultés repérées : —"
    )
