"""The rights' document in French: which columns of each held table a person reads, under which
label, and the words for coded values. Columns left out here are technical (tokens' hashes,
versions, leases); they are in the JSON copy all the same.
"""

from __future__ import annotations

from collections.abc import Mapping

from casework import labels

# Columns shown, in this order, by table; ids head each record ("n° 12"), never a column.
COLUMNS: Mapping[str, Mapping[str, str]] = {
    "beneficiaries": {
        "birth_name": "Nom de naissance",
        "first_names": "Prénoms",
        "birth_date": "Date de naissance",
        "sex": "Sexe",
        "phone": "Téléphone",
        "email": "Courriel",
        "address_line": "Adresse",
        "postcode": "Code postal",
        "commune": "Commune",
        "departement": "Département",
        "ml_id": "Identifiant Mission Locale",
        "guardian_name": "Représentant légal",
        "guardian_phone": "Téléphone du représentant légal",
        "guardian_email": "Courriel du représentant légal",
        "created_at": "Enregistrement",
        "updated_at": "Dernière mise à jour",
    },
    "contracts": {
        "cma_number": "Numéro d'enregistrement (CMA)",
        "employer_name": "Employeur",
        "employer_siret": "SIRET de l'employeur",
        "employer_trade": "Métier",
        "training_centre_name": "CFA",
        "training_centre_uai": "UAI du CFA",
        "diploma": "Diplôme préparé",
        "diploma_level": "Niveau",
        "training_year": "Année de formation",
        "learner_status": "Statut",
        "start_date": "Début du contrat",
        "planned_end_date": "Fin prévue",
        "trial_end_date": "Fin de la période d'essai",
        "rupture_date": "Date de rupture",
        "rupture_reason": "Motif de la rupture",
        "rupture_initiative": "Initiative de la rupture",
    },
    "cases": {
        "cohort": "Cohorte",
        "group": "Groupe",
        "assignment_method": "Méthode de répartition",
        "state": "Étape",
        "state_since": "Depuis le",
        "cycle": "Cycle de suivi",
        "exit_kind": "Sortie",
        "referent": "Référent",
        "created_at": "Ouverture",
    },
    "contact_logs": {
        "at": "Date",
        "channel": "Canal",
        "duration_min": "Durée (minutes)",
        "difficulties": "Difficultés repérées",
        "notes": "Notes",
        "author": "Par",
    },
    "assessments": {
        "moment": "Moment du bilan",
        "situation": "Situation",
        "diploma": "Diplôme",
        "satisfaction": "Satisfaction (1 à 5)",
        "comments": "Commentaires",
        "author": "Par",
        "recorded_at": "Enregistrement",
    },
    "liaison_sheets": {
        "partner_id": "Partenaire",
        "need_category": "Besoin",
        "description": "Description",
        "state": "Étape",
        "consent": "Accord du jeune",
        "consent_at": "Accord donné le",
        "sent_at": "Envoi",
        "acknowledged_at": "Accusé de réception",
        "feedback_at": "Retour du partenaire le",
        "feedback": "Retour du partenaire",
        "closed_at": "Clôture",
    },
    "alerts": {
        "partner_id": "Partenaire",
        "sender": "Expéditeur",
        "created_at": "Reçue le",
        "identified_by": "Rattachée par",
        "seen_at": "Lue le",
        "seen_by": "Lue par",
    },
    "inbound_mails": {
        "received_at": "Reçu le",
        "sender": "Expéditeur",
        "subject": "Objet",
        "text": "Texte",
        "kind": "Nature",
        "status": "Suite donnée",
        "reason": "Motif",
    },
    "inbound_attachments": {
        "inbound_id": "Courriel reçu n°",
        "filename": "Nom du fichier",
        "content_type": "Type",
        "size": "Taille (octets)",
    },
    "outbox": {
        "created_at": "Écrit le",
        "sent_at": "Envoyé le",
        "recipient_role": "Destinataire",
        "recipients": "Adresses",
        "subject": "Objet",
        "status": "État",
    },
    "action_links": {
        "recipient": "Envoyé à",
        "trigger": "Action permise",
        "created_at": "Créé le",
        "expires_at": "Valable jusqu'au",
        "used_at": "Utilisé le",
        "revoked_at": "Révoqué le",
        "revoke_reason": "Motif de la révocation",
    },
    "timers": {
        "trigger": "Action prévue",
        "due_at": "Prévue le",
        "status": "État",
        "closed_at": "Terminée le",
    },
    "access_log": {
        "at": "Date",
        "user_login": "Par",
        "page": "Page ou commande",
        "case_id": "Dossier n°",
    },
    "intake_records": {
        "source": "Fichier",
        "key": "Clé",
        "data": "Données",
        "created_at": "Première importation",
        "updated_at": "Dernière importation",
    },
    "intake_rejects": {"line": "Ligne", "cells": "Cases", "reasons": "Raisons"},
    "match_proposals": {
        "cma_key": "Contrat (CMA)",
        "ml_key": "Identifiant Mission Locale",
        "probability": "Probabilité",
        "band": "Avis",
        "explanation": "Explication",
        "created_at": "Date",
    },
    "match_decisions": {
        "cma_key": "Contrat (CMA)",
        "ml_key": "Identifiant Mission Locale",
        "same": "Même personne",
        "decided_by": "Décidé par",
        "decided_at": "Date",
    },
}
TIMER_STATUS = {
    "pending": "à venir",
    "fired": "exécutée",
    "discarded": "écartée",
    "cancelled": "annulée",
    "failed": "en échec",
}
# Coded values' words, by column name (the same code means the same thing in every table).
VALUES: Mapping[str, Mapping[str, str]] = {
    "sex": {"F": "féminin", "M": "masculin"},
    "learner_status": labels.LEARNER_STATUS,
    "rupture_initiative": labels.RUPTURE_INITIATIVE,
    "group": labels.GROUP,
    "assignment_method": labels.ASSIGNMENT_METHOD,
    "exit_kind": labels.EXIT_KIND,
    "channel": labels.CONTACT_CHANNEL,
    "difficulties": labels.NEED_CATEGORY,
    "need_category": labels.NEED_CATEGORY,
    "moment": labels.ASSESSMENT_MOMENT,
    "situation": labels.SITUATION,
    "diploma": labels.DIPLOMA_OUTCOME,
    "kind": labels.INBOUND_KIND,
    "recipient_role": labels.MAIL_RECIPIENT,
    "source": {"cma": "Chambre de Métiers (CMA)", "ml": "Mission Locale"},
    "band": {"match": "même personne", "review": "à vérifier"},
    "identified_by": {"automatic": "automatiquement"},
}
# Values of the same name that mean another thing in one table.
TABLE_VALUES: Mapping[tuple[str, str], Mapping[str, str]] = {
    ("outbox", "status"): labels.MAIL_STATUS,
    ("inbound_mails", "status"): labels.INBOUND_STATUS,
    ("timers", "status"): TIMER_STATUS,
    ("contracts", "diploma"): {},  # the diploma's name, as the file gave it
}
# What the person's own requests are called (`privacy.requests.Request`), and their details.
REQUESTS = {
    "rights_export": "Copie des données remise",
    "rectification": "Rectification des données",
    "erasure": "Effacement des données",
    "consent_withdrawal": "Retrait du consentement",
}
REQUEST_DETAILS = {"fields": "champs", "reason": "motif", "files": "fichiers", "cases": "dossiers"}
