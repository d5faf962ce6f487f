"""Click's own words in French: "Utilisation :", "Affiche cette aide et quitte.", "Option
manquante"… Click marks them for gettext but ships no French catalog; `install()` gives its
modules this one (a message not in it stays as Click says it)."""

from __future__ import annotations

import click.core
import click.decorators
import click.exceptions
import click.formatting
import click.parser
import click.types

FRENCH = {
    "Usage:": "Utilisation :",
    # Click writes a heading with a colon after it: the space French puts before it.
    "Options": "Options ",
    "Commands": "Commandes ",
    "Positional arguments": "Arguments ",
    "Show this message and exit.": "Affiche cette aide et quitte.",
    "Show the version and exit.": "Affiche la version et quitte.",
    "Error: {message}": "Erreur : {message}",
    "Try '{command} {option}' for help.": "Aide : {command} {option}",
    "Missing argument": "Argument manquant",
    "Missing option": "Option manquante",
    "Missing parameter": "Paramètre manquant",
    "Missing {param_type}": "Manquant : {param_type}",
    "Missing command.": "Commande manquante.",
    "No such command {name!r}.": "Commande inconnue : « {name} ».",
    "No such option {name!r}.": "Option inconnue : « {name} ».",
    "Option {name!r} does not take a value.": "L'option {name} ne prend pas de valeur.",
    "Invalid value for {param_hint}: {message}": "Valeur refusée pour {param_hint} : {message}",
    "Invalid value: {message}": "Valeur refusée : {message}",
    "{value!r} is not a valid {number_type}.": "« {value} » n'est pas un nombre entier.",
    "{value} is not in the range {range}.": "{value} est hors de l'intervalle {range}.",
    "{value!r} is not a valid boolean. Recognized values: {states}": (
        "« {value} » n'est ni oui ni non (valeurs comprises : {states})."
    ),
    "{name} {filename!r} does not exist.": "{name} « {filename} » introuvable.",
    "{name} {filename!r} is a directory.": "{name} « {filename} » est un dossier.",
    "{name} {filename!r} is a file.": "{name} « {filename} » est un fichier.",
    "{name} {filename!r} is not readable.": "{name} « {filename} » illisible.",
    "{name} {filename!r} is not writable.": "{name} « {filename} » : écriture impossible.",
    "Could not open file {filename!r}: {message}": "Impossible d'ouvrir « {filename} » : {message}",
    "file": "fichier",
    "directory": "dossier",
    "path": "chemin",
    "Aborted!": "Interrompu.",
    "default: {default}": "défaut : {default}",
    "env var: {var}": "variable d'environnement : {var}",
    "required": "obligatoire",
    "Choose from:\n\t{choices}": "Choisir parmi :\n\t{choices}",
}
# Singular, plural.
FRENCH_PLURAL = {
    "Got unexpected extra argument ({args})": (
        "Argument en trop ({args})",
        "Arguments en trop ({args})",
    ),
    "Option {name!r} requires an argument.": (
        "L'option {name} attend une valeur.",
        "L'option {name} attend {nargs} valeurs.",
    ),
    "{value!r} is not {choice}.": (
        "« {value} » n'est pas {choice}.",
        "« {value} » n'est pas une des valeurs possibles : {choices}.",
    ),
    "Did you mean {possibility}?": (
        "Vouliez-vous dire {possibility} ?",
        "(Vouliez-vous dire : {possibilities} ?)",
    ),
    "{value!r} does not match the format {format}.": (
        "« {value} » n'a pas le format {format}.",
        "« {value} » n'a aucun des formats {formats}.",
    ),
}


def gettext(message: str) -> str:
    return FRENCH.get(message, message)


def ngettext(singular: str, plural: str, n: int) -> str:
    found = FRENCH_PLURAL.get(singular)
    if found is None:
        return singular if n == 1 else plural
    return found[0] if n == 1 else found[1]


# What `--help` shows for an option's value when it names no metavar of its own.
TYPE_NAMES = {
    click.types.StringParamType: "texte",
    click.types.IntParamType: "entier",
    click.types.IntRange: "entier",
    click.types.FloatParamType: "nombre",
    click.types.FloatRange: "nombre",
    click.types.BoolParamType: "oui/non",
    click.types.DateTime: "date",
}


# What the usage line calls an argument (Click spells the parameter's name: CASE_ID, PATH).
ARGUMENT_NAMES = {
    "case_id": "DOSSIER",
    "sheet_id": "FICHE",
    "inbound_id": "COURRIEL",
    "alert_id": "ALERTE",
    "trigger": "ACTION",
    "path": "FICHIER",
    "login": "IDENTIFIANT",
    "cohort": "COHORTE",
    "contract": "CONTRAT",
    "folder": "RÉPERTOIRE",
    "name": "NOM",
}
_argument_metavar = click.core.Argument.make_metavar
_group_usage = click.Group.collect_usage_pieces


def _french_argument_metavar(self: click.Argument, ctx: click.Context) -> str:
    if self.metavar is not None or self.name not in ARGUMENT_NAMES:
        return _argument_metavar(self, ctx)
    if self.type.get_metavar(param=self, ctx=ctx):  # a choice shows its values: {cma|ml}
        return _argument_metavar(self, ctx)
    name = ARGUMENT_NAMES[self.name]
    return (name if self.required else f"[{name}]") + ("..." if self.nargs != 1 else "")


def _french_group_usage(self: click.Group, ctx: click.Context) -> list[str]:
    """ "COMMAND [ARGS]..." is a literal in Click, not in its catalog."""
    return [
        piece.replace("COMMAND", "COMMANDE").replace("ARGS", "ARGUMENTS")
        for piece in _group_usage(self, ctx)
    ]


def install() -> None:
    """Give Click's modules the French catalog (they look `_` and `ngettext` up at each call)."""
    for kind, name in TYPE_NAMES.items():
        kind.name = name
    click.core.Argument.make_metavar = _french_argument_metavar  # type: ignore[method-assign]
    click.Group.collect_usage_pieces = _french_group_usage  # type: ignore[method-assign]
    for module in (
        click.core,
        click.decorators,
        click.exceptions,
        click.formatting,
        click.parser,
        click.types,
    ):
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]
