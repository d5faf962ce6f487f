"""The record of processing (article 30 of the GDPR), written from the settings in force.

What the software knows it says itself: the categories of data and their retention (from
`[privacy]`), who sees what (the roles of `casework.accounts.scope`), the security measures as
configured (password rule, sessions, links, mail transport, logs). What only the organisation
knows (who the controller is, its DPO, the legal basis) comes from `[privacy]` too; left empty,
it is printed as « à compléter » and listed at the end, never invented.
"""

from __future__ import annotations

from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.engine import make_url

from casework.clock import PARIS
from casework.evaluation.format import long_date
from casework.privacy.retention import CATEGORIES, policy
from casework.settings import Settings


def duration_fr(months: int) -> str:
    """36 → « 36 mois (3 ans) »; 18 → « 18 mois »; 0 → « aucune conservation »."""
    if months <= 0:
        return "aucune conservation"
    if months % 12 == 0:
        years = months // 12
        return f"{months} mois ({years} an{'s' if years > 1 else ''})"
    return f"{months} mois"


def _to_fill(key: str) -> str:
    return f"*à compléter (réglage `[privacy] {key}`)*"


def measures(settings: Settings) -> list[str]:
    """The security measures as configured, in French."""
    web, mail, inbound = settings.web, settings.mail, settings.inbound
    transport = {
        "none": "sans chiffrement jusqu'au relais (réseau local de confiance uniquement)",
        "starttls": "chiffrés jusqu'au relais (STARTTLS)",
        "tls": "chiffrés jusqu'au relais (TLS)",
    }.get(mail.smtp_security, mail.smtp_security)
    senders = {
        "require": "l'expéditeur d'un courriel reçu doit être prouvé (adresse de réponse "
        "signée, ou authentification SPF/DKIM/DMARC constatée par notre serveur), sinon le "
        "courriel est mis de côté pour vérification",
        "token-only": "l'expéditeur d'un courriel reçu doit être prouvé par l'adresse de "
        "réponse signée qui lui a été envoyée, sinon le courriel est mis de côté",
        "off": "l'expéditeur d'un courriel reçu n'est pas vérifié (réglage de développement)",
    }.get(inbound.sender_policy, inbound.sender_policy)
    return [
        "Accès nominatifs ; mots de passe conservés sous forme d'empreinte Argon2id, d'au moins "
        f"{web.min_password_length} caractères ; après {web.failures_per_account} échecs de "
        f"connexion, le compte est bloqué {web.login_window_minutes} minutes.",
        f"Sessions fermées après {web.session_idle_minutes} minutes d'inactivité et au plus "
        f"{web.session_max_hours} heures après la connexion ; protection contre la falsification "
        "de requêtes (CSRF) sur chaque formulaire.",
        "Cloisonnement par rôle : chacun ne voit que les dossiers de son périmètre ; un "
        "évaluateur ne voit aucun nom.",
        "Liens d'action des courriels signés, utilisables une seule fois, valables "
        f"{mail.link_max_age_days} jours au plus, révocables.",
        "Journal d'audit en ajout seul (la base refuse toute modification, hormis l'effacement "
        "des textes par la purge) ; journal des "
        "consultations : chaque lecture d'un dossier, par les pages ou la ligne de commande, "
        "dit qui, quoi, quand.",
        "Export pour les évaluateurs pseudonymisé (HMAC-SHA256 avec une clé gardée hors de la "
        "base), sans nom, coordonnées ni texte libre.",
        f"Courriels sortants {transport}.",
        f"Courriels entrants : {senders}.",
        "Journaux applicatifs sans données personnelles (les enregistrements y sont désignés "
        "par leur numéro)."
        if not settings.logging.personal_data
        else "Journaux applicatifs : les données personnelles y sont écrites (réglage de "
        "débogage `[logging] personal_data`, à désactiver).",
    ]


def warnings(settings: Settings) -> list[str]:
    """What the controller should fill in or change, in French."""
    found = [
        f"Le réglage `[privacy] {key}` est vide."
        for key in ("controller", "dpo_contact", "legal_basis")
        if not getattr(settings.privacy, key).strip()
    ]
    if settings.mail.smtp_security == "none":
        found.append(
            "Les courriels partent sans chiffrement vers le relais (`[mail] smtp_security`)."
        )
    if settings.inbound.sender_policy == "off":
        found.append(
            "L'expéditeur des courriels reçus n'est pas vérifié (`[inbound] sender_policy`)."
        )
    if settings.logging.personal_data:
        found.append("Les journaux applicatifs contiennent des données personnelles.")
    if not settings.evaluation.pseudonym_key:
        found.append(
            "Aucune clé de pseudonymisation (`[evaluation] pseudonym_key`) : l'export pour les "
            "évaluateurs est impossible."
        )
    if settings.web.secure_cookies == "never":
        found.append(
            "Le cookie de session n'est jamais marqué « Secure » (`[web] secure_cookies`)."
        )
    return found


def render_register(settings: Settings, now: datetime, source: str) -> str:
    """The record of processing as Markdown, in French."""
    privacy = settings.privacy
    env = Environment(
        loader=FileSystemLoader(settings.paths.templates),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Markdown, for people: nothing here is HTML
    )
    local = now.astimezone(PARIS)
    return env.get_template("privacy/register.md.j2").render(
        made=f"{long_date(local.date())} à {local:%H:%M}",
        version=_version(),
        source=source,
        controller=privacy.controller.strip() or _to_fill("controller"),
        dpo=privacy.dpo_contact.strip() or _to_fill("dpo_contact"),
        legal_basis=privacy.legal_basis.strip() or _to_fill("legal_basis"),
        categories=[
            {
                "label": c.label,
                "holds": c.holds,
                "duration": duration_fr(c.months(privacy)),
                "counted_from": c.counted_from,
                "at_the_end": c.at_the_end,
            }
            for c in CATEGORIES
        ],
        database=_database(settings.database.url),
        smtp_host=settings.mail.smtp_host,
        measures=measures(settings),
        warnings=warnings(settings),
        policy=[
            (label, _codes(table), "ligne entière" if columns == "*" else _codes(columns), action)
            for label, table, columns, action, _counted_from in policy()
        ],
    )


def _codes(names: str) -> str:
    """ "a, b" → "`a`, `b`": tables and columns as the code names them, in the annex."""
    return ", ".join(f"`{name}`" for name in names.split(", "))


def _database(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"fichier SQLite {Path(parsed.database or '').name}"
    return f"PostgreSQL sur {parsed.host or 'ce serveur'}"  # never the password


def _version() -> str:
    try:
        return version("casework")
    except PackageNotFoundError:
        return "(version de développement)"
