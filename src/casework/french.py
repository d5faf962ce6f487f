"""French as people read it, where a template or a message joins words it does not know in
advance: elision before a name or a noun ("d'Anaïs", "d'accusé de réception", not "de Anaïs"),
and a kind of place not said twice ("CFA de la CMA", not "CFA CFA de la CMA").

`faults` finds the classic mistakes in a text people will read; the tests run it over every
mail, page and command output they render.
"""

from __future__ import annotations

import errno
import re
import unicodedata

from casework.names import fold

# Particles that lose their vowel before a vowel sound: "de" → "d'", "que" → "qu'"...
_ELIDED = {"de": "d'", "que": "qu'", "le": "l'", "la": "l'", "ne": "n'", "je": "j'", "se": "s'"}
_VOWELS = "aeiou"


def starts_with_vowel_sound(word: str) -> bool:
    """Whether French elides before `word`: a vowel, a mute h (first names: Hélène, Hugo,
    Henri — casework only joins particles to names and nouns it controls), or a y before a
    consonant (Yves, not Yanis)."""
    letters = [c for c in unicodedata.normalize("NFD", word.strip().lower()) if c.isalpha()]
    if not letters:
        return False
    first = letters[0]
    if first in _VOWELS or first == "h":
        return True
    return first == "y" and len(letters) > 1 and letters[1] not in _VOWELS


def elide(particle: str, following: str | None) -> str:
    """The particle as it is written before `following`, with its space or apostrophe:
    elide("de", "Anaïs") == "d'", elide("de", "Léa") == "de "."""
    if particle in _ELIDED and following and starts_with_vowel_sound(following):
        return _ELIDED[particle]
    return particle + " "


def with_kind(name: str, kind: str) -> str:
    """`name` preceded by `kind` unless it already says it: with_kind("CFA de Laval", "CFA")
    == "CFA de Laval", with_kind("Campus des métiers", "CFA") == "CFA Campus des métiers"."""
    if name.strip().casefold().startswith(kind.casefold() + " "):
        return name.strip()
    return f"{kind} {name.strip()}"


# What the system says of a file a person named: its own words (`strerror`) are English.
_OS_ERRORS = {
    errno.ENOENT: "fichier introuvable",
    errno.EACCES: "accès refusé",
    errno.EPERM: "accès refusé",
    errno.EISDIR: "c'est un dossier",
    errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
    errno.EEXIST: "un fichier de ce nom existe déjà",
    errno.ENAMETOOLONG: "nom trop long",
    errno.ELOOP: "trop de liens symboliques",
    errno.ENOSPC: "disque plein",
    errno.EROFS: "disque en lecture seule",
    errno.EIO: "erreur de lecture ou d'écriture sur le disque",
}


def os_error(error: OSError, writing: bool = False) -> str:
    """Why a file could not be opened, read or written, in French for the common causes (the
    system's own words otherwise). Writing, a missing path is a missing folder."""
    if writing and error.errno == errno.ENOENT:
        return "dossier introuvable"
    return _OS_ERRORS.get(error.errno or 0) or error.strerror or str(error)


def decimal(value: float, digits: int = 1, signed: bool = False) -> str:
    """A number as French writes it: "7,6", "+7,6" (`signed`), "-0,3"."""
    return f"{value:{'+' if signed else ''}.{digits}f}".replace(".", ",")


def name_and_kind(name: str, kind: str) -> str:
    """« name (kind) », unless the name already says its kind: "ADLJ 53 (logement des
    jeunes)", but "CFA du bâtiment de la Mayenne" (not "… (CFA)") and "Mission Locale de la
    Mayenne". Compared folded, as whole words, anywhere in the name."""
    if f" {fold(kind)} " in f" {fold(name)} ":
        return name
    return f"{name} ({kind})"


# -- what a proofreader looks for -----------------------------------------------------------------

_NOT_ELIDED = re.compile(
    r"\b(?:de|que|le|la|ne|je|se) (?=[aeiouhâàéèêëîïôûü])", re.IGNORECASE | re.UNICODE
)
# Words before which "de", "le"... are right with no elision: h aspiré, and tokens of code.
_NOT_ELIDED_FINE = re.compile(
    r"\b(?:de|le|la) (?:haut|hasard|handicap|hausse|honte|héros|hors|https?:|http)", re.IGNORECASE
)
_DOUBLED = re.compile(r"\b(\w{2,})[ \t\u00a0]+\1\b", re.IGNORECASE | re.UNICODE)  # on one line
_PYTHON = ("['", "[]", "{'", "None", "True", "False")


def faults(text: str) -> list[str]:
    """The classic faults of a French text put together by code: a particle not elided before
    a vowel ("de accusé"), "un(e)" (casework's nouns have one gender each: "un accusé"), a
    word said twice ("CFA CFA"), and Python showing through (None, True, a list's "['")."""
    found = []
    for match in _NOT_ELIDED.finditer(text):
        if not _NOT_ELIDED_FINE.match(text, match.start()):
            found.append(f"pas d'élision : « {text[match.start() : match.end() + 12]} »")
    if "un(e)" in text:
        found.append("« un(e) »")
    for match in _DOUBLED.finditer(text):
        if not match.group(1).isdigit() and match.group(1).lower() not in ("nous", "vous"):
            found.append(f"mot répété : « {match.group(0)} »")
    found += [f"Python : « {token} »" for token in _PYTHON if token in text]
    return found
