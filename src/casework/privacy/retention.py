"""How long each category of personal data is kept, and which rows are due for the purge.

`POLICY` is the decision, written once, column by column: what is anonymised (the row stays,
its personal values go), emptied or deleted, and from which moment the category's duration
(`[privacy]` settings) counts. The record of processing prints it; `casework.privacy.anonymise`
does it; `casework.privacy.purge` runs it by chunks.

Why anonymise rather than delete for people, cases, mails: the evaluation counts cases, their
groups, states, dates and coded values (needs, difficulties, assessments), and mails and alerts
are referred to by other rows (alerts → inbound mails, inbound mails → our outbox): a row kept
without its personal values leaves no reference dangling and every figure unchanged. What
nothing counts and nothing refers to (imported rows, rejected rows, the cross-matching's
proposals, the access log) is deleted.

Birth date: the year is kept (`birth_year`), and the age at each contract's start is written on
the contract (`age_at_start`) before the date goes: the report's age bands and the export's age
column need the completed years at the start, which a year alone cannot give (someone born in
December is a year younger in September than someone born in January). An age band would lose
the export's exact age.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, not_, or_, select

from casework.clock import ensure_utc, to_local
from casework.handover import is_open
from casework.models.outbox import MailStatus
from casework.models.tables import (
    ACCESS_LOG,
    CASES,
    FILES,
    INBOUND,
    LINKS,
    OUTBOX,
    PEOPLE,
    PROPOSALS,
    RECORDS,
    REJECTS,
)
from casework.settings import PrivacySettings
from casework.states.catalog import WorkflowSet
from casework.timers.calendar import add_months

# What a name becomes; a first name becomes empty (`display_name` then reads
# "PERSONNE ANONYMISÉE").
ANONYMOUS_NAME = "Personne anonymisée"
# What a required free text becomes (a liaison sheet's description).
TEXT_REMOVED = "Texte supprimé (durée de conservation atteinte)"
# A contract's registration number is required and unique: "anonymise-<contract id>".
ANONYMOUS_NUMBER = "anonymise-"


@dataclass(frozen=True)
class Category:
    """A category of personal data, as the purge counts it and the record of processing and
    `casework privacy purge` name it (French texts)."""

    code: str  # the settings' prefix: `identity` for `identity_months`
    label: str
    holds: str  # what it is, in the words of the people concerned
    counted_from: str
    at_the_end: str  # what the purge does then, in a sentence (`POLICY` says it column by column)

    def months(self, settings: PrivacySettings) -> int:
        return int(getattr(settings, f"{self.code}_months"))


IDENTITY = Category(
    "identity",
    "Identité et coordonnées de la personne suivie et de son représentant légal",
    "nom, prénoms, date de naissance, téléphone, adresse électronique et postale, "
    "identifiants (numéro de contrat, identifiant Mission Locale), employeur",
    "la fin du dernier dossier de la personne (tous ses dossiers terminés)",
    "anonymisées : les noms sont remplacés, la date de naissance réduite à l'année (l'âge au "
    "début de chaque contrat est gardé), les coordonnées et identifiants effacés ; le "
    "département reste",
)
NOTES = Category(
    "notes",
    "Textes libres du suivi (notes, commentaires, descriptions, retours, motifs)",
    "notes d'entretien, commentaires des bilans, description des besoins et retours des "
    "partenaires dans les fiches de liaison, motifs de rupture, textes saisis dans l'historique",
    "la fin du dossier",
    "effacés ; les codes (difficultés repérées, besoins, situations) restent attachés au "
    "dossier pour l'évaluation",
)
INBOUND_MAIL = Category(
    "inbound",
    "Courriels reçus et leurs pièces jointes",
    "message brut, texte extrait, pièces jointes, expéditeur et objet",
    "la réception du courriel",
    "vidés ; restent la date de réception, la nature du courriel et ce qu'il a enregistré",
)
OUTBOX_MAIL = Category(
    "outbox",
    "Courriels envoyés (destinataires, objet, contenu) et liens d'action",
    "destinataires, objet, contenu et valeurs ayant servi à l'écrire ; destinataire de chaque "
    "lien d'action",
    "l'envoi du courriel (ou, s'il n'est jamais parti, sa création) ; l'expiration du lien",
    "vidés ; restent le modèle utilisé, les dates et l'état de l'envoi",
)
INTAKE = Category(
    "intake",
    "Lignes des fichiers importés (CMA, Mission Locale), lignes rejetées, rapprochements proposés",
    "lignes des fichiers de la chambre de métiers et de la Mission Locale, lignes écartées, "
    "paires proposées au rapprochement",
    "l'import du fichier",
    "supprimées ; restent le nom du fichier, sa date, ses comptes et les décisions prises",
)
AUDIT = Category(
    "audit",
    "Détail des événements du journal d'un dossier",
    "valeurs saisies à chaque étape du dossier",
    "la fin du dossier",
    "vidé ; l'événement, ses états, sa date et son auteur restent (l'évaluation les compte)",
)
ACCESS = Category(
    "access_log",
    "Journal des consultations des dossiers",
    "qui a consulté quel dossier, quand et d'où",
    "chaque consultation",
    "supprimé",
)
CATEGORIES = (IDENTITY, NOTES, INBOUND_MAIL, OUTBOX_MAIL, INTAKE, AUDIT, ACCESS)


@dataclass(frozen=True)
class Rule:
    """One line of the policy: in `table`, `columns` get `action` once `category` is due."""

    category: Category
    table: str
    columns: tuple[str, ...]
    action: str  # in French

    def as_tuple(self) -> tuple[str, str, str, str, str]:
        """(category, table, columns, action, counted from), for the record of processing."""
        return (
            self.category.label,
            self.table,
            ", ".join(self.columns),
            self.action,
            self.category.counted_from,
        )


_ANONYMISED = "anonymisé : « Personne anonymisée », prénoms vides"
POLICY: tuple[Rule, ...] = (
    Rule(IDENTITY, "beneficiaries", ("birth_name", "first_names", "name_key"), _ANONYMISED),
    Rule(
        IDENTITY,
        "beneficiaries",
        ("birth_date",),
        "supprimée ; l'année de naissance est gardée, et l'âge au début de chaque contrat",
    ),
    Rule(
        IDENTITY,
        "beneficiaries",
        ("phone", "email", "address_line", "postcode", "commune", "ml_id"),
        "supprimés (le département est gardé)",
    ),
    Rule(
        IDENTITY,
        "beneficiaries",
        ("guardian_name", "guardian_phone", "guardian_email"),
        "supprimés",
    ),
    Rule(
        IDENTITY,
        "contracts",
        ("cma_number",),
        "remplacé par « anonymise-<n° du contrat> »",
    ),
    Rule(IDENTITY, "contracts", ("employer_name", "employer_siret"), "supprimés"),
    Rule(
        IDENTITY,
        "intake_records, match_proposals, match_decisions",
        ("key", "cma_key", "ml_key"),
        "lignes de la personne supprimées",
    ),
    Rule(NOTES, "contact_logs", ("notes",), "supprimé (canal, durée, difficultés gardés)"),
    Rule(NOTES, "assessments", ("comments",), "supprimé (situation, diplôme, satisfaction)"),
    Rule(NOTES, "liaison_sheets", ("description",), f"remplacé par « {TEXT_REMOVED} »"),
    Rule(NOTES, "liaison_sheets", ("feedback",), "supprimé (besoin, dates gardés)"),
    Rule(NOTES, "contracts", ("rupture_reason",), "supprimé (date et initiative gardées)"),
    Rule(NOTES, "action_links", ("revoke_reason",), "supprimé"),
    Rule(
        NOTES,
        "events",
        ("data",),
        "textes libres retirés (notes, motifs, descriptions, retours, messages)",
    ),
    Rule(
        INBOUND_MAIL,
        "inbound_mails",
        ("raw", "text", "subject", "sender", "reason"),
        "vidés (date, nature, statut, dossier gardés)",
    ),
    Rule(INBOUND_MAIL, "inbound_attachments", ("*",), "supprimées"),
    Rule(INBOUND_MAIL, "alerts", ("sender",), "vidé"),
    Rule(
        OUTBOX_MAIL,
        "outbox",
        ("recipients", "context", "subject", "message", "last_error"),
        "vidés (modèle, statut, dates gardés ; jamais un courriel encore en attente)",
    ),
    Rule(OUTBOX_MAIL, "action_links", ("recipient",), "vidé (lien expiré)"),
    Rule(INTAKE, "intake_records", ("*",), "supprimées"),
    Rule(INTAKE, "intake_rejects", ("*",), "supprimées"),
    Rule(INTAKE, "match_proposals", ("*",), "supprimées (les décisions sont gardées)"),
    Rule(
        AUDIT,
        "events",
        ("data",),
        "vidé (l'événement, ses états, sa date et son auteur restent : l'évaluation les compte)",
    ),
    Rule(ACCESS, "access_log", ("*",), "supprimées"),
)


def policy() -> list[tuple[str, str, str, str, str]]:
    """The policy as rows (category, table, columns, action, counted from), in French."""
    return [rule.as_tuple() for rule in POLICY]


def cutoff(now: datetime, months: int) -> datetime:
    """`months` before `now`, by the calendar of Paris: what ended or happened at or before it
    is due."""
    local = to_local(now)
    day = add_months(local.date(), -months)
    return ensure_utc(
        datetime.combine(day, time(local.hour, local.minute, local.second), local.tzinfo)
    )


def ended(workflows: WorkflowSet) -> ColumnElement[bool]:
    """A case in a final state of its workflow."""
    return not_(is_open(workflows))


# What is due, category by category: a select of the keys of the rows due, in key order. Each
# excludes what is done already (a second purge finds nothing).


def people_due(workflows: WorkflowSet, before: datetime) -> Select[Any]:
    """People whose every case has ended, the last at or before `before`, not yet anonymised."""
    other = CASES.alias("other")
    unfinished = and_(
        other.c.beneficiary_id == PEOPLE.c.id,
        or_(not_(_ended_alias(workflows, other)), other.c.state_since > before),
    )
    return (
        select(PEOPLE.c.id)
        .where(
            PEOPLE.c.anonymised_at.is_(None),
            exists().where(CASES.c.beneficiary_id == PEOPLE.c.id),
            not_(exists().where(unfinished)),
        )
        .order_by(PEOPLE.c.id)
    )


def _ended_alias(workflows: WorkflowSet, alias: Any) -> ColumnElement[bool]:
    """`ended` on an alias of the cases table (the expression is re-pointed at it)."""
    from sqlalchemy.sql.util import ClauseAdapter

    return ClauseAdapter(alias).traverse(ended(workflows))  # type: ignore[no-any-return]


def cases_due(workflows: WorkflowSet, before: datetime, marker: str) -> Select[Any]:
    """Ended cases, at or before `before`, whose `marker` (notes_purged_at…) is not set."""
    return (
        select(CASES.c.id)
        .where(ended(workflows), CASES.c.state_since <= before, CASES.c[marker].is_(None))
        .order_by(CASES.c.id)
    )


def inbound_due(before: datetime) -> Select[Any]:
    return (
        select(INBOUND.c.id)
        .where(INBOUND.c.received_at <= before, INBOUND.c.purged_at.is_(None))
        .order_by(INBOUND.c.id)
    )


def outbox_due(before: datetime) -> Select[Any]:
    """Mails sent (or failed, bounced) long enough ago; never one still queued."""
    return (
        select(OUTBOX.c.id)
        .where(
            OUTBOX.c.status != MailStatus.QUEUED.value,
            func.coalesce(OUTBOX.c.sent_at, OUTBOX.c.created_at) <= before,
            OUTBOX.c.purged_at.is_(None),
        )
        .order_by(OUTBOX.c.id)
    )


def links_due(before: datetime) -> Select[Any]:
    return (
        select(LINKS.c.id)
        .where(LINKS.c.expires_at <= before, LINKS.c.recipient != "")
        .order_by(LINKS.c.id)
    )


def records_due(before: datetime) -> Select[Any]:
    """Imported rows whose file (the last that wrote them) was imported at or before."""
    return (
        select(RECORDS.c.id)
        .join(FILES, FILES.c.id == RECORDS.c.file_id)
        .where(FILES.c.imported_at <= before)
        .order_by(RECORDS.c.id)
    )


def rejects_due(before: datetime) -> Select[Any]:
    return (
        select(REJECTS.c.id)
        .join(FILES, FILES.c.id == REJECTS.c.file_id)
        .where(FILES.c.imported_at <= before)
        .order_by(REJECTS.c.id)
    )


def proposals_due(before: datetime) -> Select[Any]:
    return select(PROPOSALS.c.id).where(PROPOSALS.c.created_at <= before).order_by(PROPOSALS.c.id)


def access_due(before: datetime) -> Select[Any]:
    return select(ACCESS_LOG.c.id).where(ACCESS_LOG.c.at <= before).order_by(ACCESS_LOG.c.id)
