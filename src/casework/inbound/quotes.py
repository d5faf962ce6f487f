"""What a person wrote in a reply, without the quoted message below it or their signature.

Partners answer from Outlook (often in French), Gmail, Apple Mail, Thunderbird, phones. Each
client marks the start of the quoted message its own way; the first such mark ends what the
person wrote. The raw message is always kept: this is only what people are shown.
"""

from __future__ import annotations

import re

# A line that starts the quoted original, in French or English. Checked line by line, top down.
_QUOTE_STARTS = [
    # Outlook's separators.
    re.compile(
        r"^\s*-{2,}\s*(Original Message|Message d'origine|Message d’origine)\s*-{2,}\s*$", re.I
    ),
    re.compile(r"^\s*_{10,}\s*$"),
    # Gmail, Apple Mail, Thunderbird: "Le 12 oct. 2026 à 10:02, Plateforme <…> a écrit :",
    # "On Mon, Oct 12, 2026 at 10:02 AM Plateforme <…> wrote:".
    re.compile(r"^\s*Le .{4,200}a écrit\s?:\s*$", re.IGNORECASE),
    re.compile(r"^\s*On .{4,200}wrote\s?:\s*$", re.IGNORECASE),
    # Thunderbird's older form and forwarded messages.
    re.compile(r"^\s*-{2,}\s*(Message transféré|Forwarded message)\s*-{2,}\s*$", re.IGNORECASE),
]
# Outlook: "De : Plateforme <…>" then "Envoyé : …" (French), "From: …" then "Sent: …": a
# header block, so "De : ma part, c'est d'accord" in the text itself is not one.
_HEADER_FROM = re.compile(r"^\s*\*?(De|From)\s?:\*?\s.+$", re.IGNORECASE)
_HEADER_NEXT = re.compile(r"^\s*\*?(Envoyé|Sent|Date|À|A|To|Objet|Subject)\s?:", re.IGNORECASE)
# Where "Le … a écrit :" is folded over two lines by the client.
_WROTE_SPLIT = re.compile(r"^\s*(Le|On) .{4,200}$", re.IGNORECASE)
_WROTE_END = re.compile(r"^.{0,200}(a écrit|wrote)\s?:\s*$", re.IGNORECASE)
_SIGNATURE_STARTS = [
    re.compile(r"^-- ?$"),  # the standard "-- " delimiter
    re.compile(r"^\s*(Envoyé|Sent) (de|from) (mon|my) .{1,40}$", re.IGNORECASE),
    re.compile(r"^\s*(Obtenir|Get) Outlook (pour|for) .{1,40}$", re.IGNORECASE),
]


def strip_quotes(text: str) -> str:
    """The new text of a reply: everything above the first quote mark, quoted (">") lines and
    the signature removed, blank lines at the ends trimmed."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if any(p.match(line) for p in _QUOTE_STARTS):
            break
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _WROTE_SPLIT.match(line) and _WROTE_END.match(following):
            break
        if _HEADER_FROM.match(line) and any(
            _HEADER_NEXT.match(next_line) for next_line in lines[index + 1 : index + 4]
        ):
            break
        if line.lstrip().startswith(">"):
            continue
        if any(p.match(line) for p in _SIGNATURE_STARTS):
            break
        kept.append(line.rstrip())
    first = next((i for i, line in enumerate(kept) if line.strip()), len(kept))
    while len(kept) > first and not kept[-1].strip():
        kept.pop()
    return "\n".join(kept[first:])  # (popping from the front was quadratic in blank lines)
