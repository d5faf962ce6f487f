"""French labels for the closed vocabularies, for what people read (mails, pages)."""

from __future__ import annotations

NEED_CATEGORY = {
    "housing": "logement",
    "money": "argent et budget",
    "health": "santé",
    "mobility": "mobilité et transport",
    "family": "situation familiale",
    "employer_conflict": "relations avec l'employeur",
    "motivation": "motivation",
    "training": "difficultés en formation",
    "legal": "droits et démarches juridiques",
    "other": "autre",
}
CONTACT_CHANNEL = {
    "phone": "téléphone",
    "sms": "SMS",
    "email": "courriel",
    "visit": "visite",
    "meeting": "rendez-vous",
    "other": "autre",
}
RUPTURE_INITIATIVE = {
    "apprentice": "à l'initiative de l'apprenti(e)",
    "employer": "à l'initiative de l'employeur",
    "mutual": "d'un commun accord",
    "other": "autre",
}
POSITIVE_EXIT = {
    "new_contract_same_trade": "nouveau contrat dans le même métier",
    "other_orientation": "autre orientation",
    "training": "formation",
    "job": "emploi",
}
MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]
SITUATION = {
    "same_employer": "en contrat chez le même employeur",
    "other_employer": "en contrat chez un autre employeur",
    "training_without_contract": "en formation sans contrat",
    "employed": "en emploi",
    "unemployed": "sans emploi ni formation",
    "unknown": "situation inconnue",
}
DIPLOMA_OUTCOME = {
    "obtained": "diplôme obtenu",
    "not_obtained": "diplôme non obtenu",
    "pending": "résultat en attente",
}
ASSESSMENT_MOMENT = {"one_year": "bilan à un an", "contract_end": "bilan de fin de contrat"}
# How a case ended after a rupture (`cases.exit_kind`): a positive exit, or not.
EXIT_KIND = {
    **POSITIVE_EXIT,
    "without_solution": "sortie sans solution",
    "lost_contact": "perdu de vue",
}
LEARNER_STATUS = {"apprentice": "apprenti(e)", "student": "étudiant(e) du supérieur"}
GIVEN_BY = {"apprentice": "l'apprenti(e)", "guardian": "le représentant légal", "both": "les deux"}
GROUP = {"test": "test", "control": "témoin"}
ASSIGNMENT_METHOD = {
    "parity": "parité du jour de naissance",
    "lottery": "tirage au sort",
    "evaluator": "table de l'évaluateur",
    "manual": "à la main",
}
MAIL_STATUS = {
    "queued": "en attente",
    "sent": "envoyé",
    "failed": "en échec",
    "bounced": "revenu en erreur",
    "undeliverable": "sans destinataire",
    "cancelled": "annulé",
}
# Whom a mail goes to (`outbox.recipient_role`), before its addresses are known.
MAIL_RECIPIENT = {
    "counsellor": "le référent",
    "partner": "le partenaire",
    "partner_manager": "le responsable du partenaire",
    "beneficiary": "le jeune",
    "guardian": "le représentant légal",
}
# Mail taken in: what became of it (`inbound_mails.status`), what it was (`kind`), and what a
# partner's reply recorded on its sheet.
INBOUND_STATUS = {
    "recorded": "enregistré",
    "ignored": "ignoré (réponse automatique)",
    "quarantined": "en quarantaine",
    "rejected": "écarté",
}
INBOUND_KIND = {
    "answer": "écrit par une personne",
    "auto_reply": "réponse automatique",
    "bounce": "avis de non-distribution",
    "unreadable": "illisible",
}
PARTNER_KIND = {
    "mission_locale": "Mission Locale",
    "housing": "logement des jeunes",
    "training_centre": "CFA",
    "social_services": "service social",
    "other": "autre",
}
CONTACT_ROLE = {"contact": "contact", "manager": "responsable"}
BY_VOCABULARY = {
    "need_category": NEED_CATEGORY,
    "contact_channel": CONTACT_CHANNEL,
    "rupture_initiative": RUPTURE_INITIATIVE,
    "positive_exit": POSITIVE_EXIT,
    "situation": SITUATION,
    "diploma_outcome": DIPLOMA_OUTCOME,
}


def labels_for(choices: tuple[str, ...] | list[str]) -> dict[str, str]:
    """The labels of a field's choices: those of the vocabulary that holds them all (a value
    such as "training" or "other" is in several, with different labels); else the codes."""
    for labels in (*BY_VOCABULARY.values(), GIVEN_BY):
        if set(choices) <= set(labels):
            return {c: labels[c] for c in choices}
    return {c: c for c in choices}


def choice_label(value: str) -> str:
    """The French label of a vocabulary value, whichever vocabulary it comes from."""
    for labels in (*BY_VOCABULARY.values(), GIVEN_BY):
        if value in labels:
            return labels[value]
    return value


# What a user does (`casework users …`); the command line names them counsellor, manager,
# evaluator and admin.
ROLE = {
    "counsellor": "conseiller(ère)",
    "manager": "responsable d'équipe",
    "evaluator": "évaluateur(trice)",
    "administrator": "administrateur(trice)",
}
