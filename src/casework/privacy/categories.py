"""The categories of personal data casework keeps, each with how long and from when.

One declaration, read by the purge (what is due), by the record of processing (`register`) and
by the README's table: a category's duration is a `[privacy]` setting, its starting moment is
fixed by what the data is for (a case's notes serve while the case runs; a mail's raw text only
until it has been read and filed).
"""

from __future__ import annotations

from dataclasses import dataclass

from casework.settings import PrivacySettings


@dataclass(frozen=True)
class Category:
    key: str  # the setting is `[privacy] <key>_months`
    label: str  # French, as the record of processing lists it
    holds: str  # French: what it is, in the words of the people concerned
    counted_from: str  # French: « à compter de … »
    at_the_end: str  # French: what the purge does then

    def months(self, settings: PrivacySettings) -> int:
        return int(getattr(settings, f"{self.key}_months"))


CATEGORIES: tuple[Category, ...] = (
    Category(
        "identity",
        "Identité et coordonnées",
        "nom, prénoms, date de naissance, téléphone, adresse électronique et postale, "
        "identifiants (numéro de contrat, identifiant Mission Locale), représentant légal",
        "à compter de la fin du dernier dossier de la personne",
        "anonymisées : les noms sont remplacés, la date de naissance réduite à l'année, les "
        "coordonnées et identifiants effacés",
    ),
    Category(
        "notes",
        "Notes et commentaires",
        "notes d'entretien, commentaires des bilans, description des besoins et réponses des "
        "partenaires dans les fiches de liaison, motifs de rupture, textes des alertes",
        "à compter de la fin du dossier",
        "effacés ; les codes (difficultés repérées, besoins, situations) restent attachés au "
        "dossier anonymisé pour l'évaluation",
    ),
    Category(
        "inbound",
        "Courriels reçus",
        "message brut, texte extrait, pièces jointes, expéditeur et objet",
        "à compter de leur réception",
        "effacés ; il reste la date de réception et ce que le courriel a enregistré",
    ),
    Category(
        "outbox",
        "Courriels envoyés",
        "destinataires, objet, contenu et valeurs ayant servi à l'écrire",
        "à compter de leur envoi",
        "effacés ; il reste le modèle utilisé, la date et l'état de l'envoi",
    ),
    Category(
        "intake",
        "Fichiers importés",
        "lignes des fichiers de la CMA et de la Mission Locale, lignes écartées",
        "à compter de l'import du fichier",
        "supprimées ; il reste le nom du fichier, sa date et ses comptes",
    ),
    Category(
        "audit",
        "Journal d'audit",
        "historique de chaque dossier : qui a fait quoi, quand",
        "à compter de la fin du dossier",
        "supprimé",
    ),
    Category(
        "access_log",
        "Journal des consultations",
        "qui a consulté quel dossier, quand et d'où",
        "à compter de chaque consultation",
        "supprimé",
    ),
)


def duration_fr(months: int) -> str:
    """36 → « 36 mois (3 ans) »; 18 → « 18 mois »; 0 → « aucune conservation »."""
    if months <= 0:
        return "aucune conservation"
    if months % 12 == 0:
        years = months // 12
        return f"{months} mois ({years} an{'s' if years > 1 else ''})"
    return f"{months} mois"
