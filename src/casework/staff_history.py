"""A user's history as people read it (`casework users show`, the staff pages' user page): one
line per event of `entity = "user"` (`casework.staff`, `accounts.passwords`), in French, never
a code. The callers escape what they print."""

from __future__ import annotations

from typing import Any

from casework.labels import ROLE
from casework.territory import shown_territory

FIELDS = {"name": "nom", "email": "adresse", "role": "rôle", "territory": "territoire"}
# How a password was set (`set_password`'s "how").
PASSWORD_HOW = {
    "reset": "par le lien reçu par courriel",
    "set-password": "depuis la ligne de commande",
}


def count(n: int, one: str, many: str) -> str:
    return f"{n} {many if n > 1 else one}"


def links_said(n: int) -> str:
    if n == 0:
        return "aucun lien encore valable à révoquer"
    return count(n, "lien révoqué", "liens révoqués")


def happened(event: Any) -> str:
    """One line of a user's history."""
    data = event.data or {}
    if event.trigger == "add":
        role = ROLE.get(data.get("role", ""), data.get("role", ""))
        return f"ajouté(e) : {role}, territoire {shown_territory(data.get('territory', []))}"
    if event.trigger == "update":
        return "modifié(e) : " + ", ".join(FIELDS.get(f, f) for f in data.get("fields", []))
    if event.trigger == "deactivate":
        moved = data.get("cases") or 0
        cases = f" ; {count(moved, 'dossier confié', 'dossiers confiés')} à « {data.get('to')} »"
        links = links_said(data.get("links") or 0)
        return f"désactivé(e) : {data.get('reason')}{cases if moved else ''} ; {links}"
    if event.trigger == "reactivate":
        reason = data.get("reason")
        return "réactivé(e)" + (f" : {reason}" if reason else "")
    if event.trigger == "set_password":
        how = PASSWORD_HOW.get(data.get("how", ""))
        return "mot de passe enregistré" + (f" {how}" if how else "")
    if event.trigger == "reset_mail":
        return "lien pour choisir un mot de passe envoyé par courriel"
    return str(event.trigger)
