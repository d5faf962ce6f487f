"""What a person wrote in a reply, without the message they quoted or their signature.

Guarantees: nothing the person wrote is lost — text above the quote (top-posting), under it
(bottom-posting) and between quoted lines (inline answers) is kept, and if stripping would
leave nothing, the whole text is kept; a forwarded message (a forward marker before any quote)
is kept whole. Only lines of the input come out (right-trimmed), in their order, in one pass
whatever the input. The raw message is always stored: this is what people are shown.

What starts a quote, in English, French, German, Spanish, Italian, Dutch, Portuguese, Polish,
Czech and the Scandinavian languages (the partners' clients: Outlook, Gmail, Apple Mail,
Thunderbird, phones):
- an *attribution* ("On … wrote:", "Le … a écrit :", "Am … schrieb …:", "El … escribió:"…),
  folded over up to three lines by the client. Followed by ">" lines, only those are the
  quote and what comes under them is the person's again; followed by anything else, all the
  rest is the quote;
- an Outlook header block ("De : … / Envoyé : …", "Von: … / Gesendet: …", "Van: … / Verzonden:
  …"…), an "-----Original Message-----" separator in any of those languages, a line of
  underscores: all the rest is the quote.
Signatures end what the person wrote: the "-- " delimiter and the phones' "Sent from my …".
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Words an attribution starts with, and the verbs it ends with (before the name and ":").
_LEADS = r"(?:On|Le|Am|Op|El|Il|Em|No|W dniu|Dnia|Den|På|Dne|Kun|Quoting)"
_VERBS = (
    r"(?:wrote|sent|a écrit|schrieb|schreef|geschreven|escribió|escribio|ha scritto|scrisse|"
    r"escreveu|napisał(?:\(a\)|a)?|napsal(?:\(a\)|a)?|skrev|kirjoitti|írta|написал(?:а)?)"
)
_ATTRIBUTION = re.compile(rf"^.*?\b{_VERBS}(?:\s[^:]{{0,160}})?\s?:$", re.I)
_STARTS_WITH_LEAD = re.compile(rf"^{_LEADS}\s", re.I)
_LEAD_INSIDE = re.compile(rf"\s{_LEADS}\s")  # capitalised: "le", "on", "den" are words too
# What tells an attribution from a sentence ending in "wrote:": an address, a time, a date.
_EVIDENCE = re.compile(r"@|\d{1,2}[:.h]\d{2}|\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}")
# Gmail's older form: "2014-10-17 11:28 GMT+03:00 Postmaster <postmaster@…>:".
_DATED_ADDRESS = re.compile(r"^\d{4}[/-]\d{1,2}[/-]\d{1,2}\s.*<[^<>\s]+@[^<>\s]+>:?$")
_ATTRIBUTION_MAX = 400  # characters of an attribution, folded lines joined

_ORIGINAL = (
    r"Original Message|Reply Message|Message d['’]origine|Ursprüngliche Nachricht|"
    r"Antwort Nachricht|Oorspronkelijk bericht|Messaggio originale|Mensaje original|"
    r"Mensagem original|Oprindelig meddelelse|Ursprungligt meddelande|Opprinnelig melding|"
    r"Alkuperäinen viesti|Wiadomość oryginalna|Oryginalna wiadomość|Původní zpráva"
)
_FORWARDED = (
    r"Forwarded message|Message transféré|Weitergeleitete Nachricht|Doorgestuurd bericht|"
    r"Messaggio inoltrato|Mensaje reenviado|Mensagem encaminhada|Videresendt meddelelse|"
    r"Vidarebefordrat meddelande|Videresendt melding|Przekazana wiadomość|Přeposlaná zpráva"
)
_SEPARATORS = [
    re.compile(rf"^\s*-{{2,}}\s*(?:{_ORIGINAL})\s*-{{2,}}\s*$", re.I),
    re.compile(r"^\s*_{10,}\s*$"),
]
_FORWARD_MARKS = [
    re.compile(rf"^\s*-{{2,}}\s*(?:{_FORWARDED})\s*-{{2,}}\s*$", re.I),
    re.compile(
        r"^\s*(?:Begin forwarded message|Début du message réexpédité|"
        r"Anfang der weitergeleiteten Nachricht|Inicio del mensaje reenviado)\s?:\s*$",
        re.I,
    ),
]
# Outlook's header block: a "From" field, then another field within the next lines — so that
# "De : ma part, c'est d'accord" in the text itself is not one.
_HEADER_FIRST = re.compile(
    r"^\s*\*?(?:From|De|Von|Van|Da|Od|Fra|Från|Lähettäjä|Feladó)\s?:\*?\s.+$", re.I
)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(?:Sent|Envoyé|Gesendet|Verzonden|Inviato|Data|Date|Datum|Enviado|Enviada|"
    r"Wysłano|Sendt|Skickat|Lähetetty|Odesláno|To|À|A|An|Aan|Para|Do|Til|Till|Komu|Subject|"
    r"Objet|Betreff|Onderwerp|Oggetto|Ogg|Asunto|Assunto|Temat|Emne|Ämne|Aihe|Předmět|Cc)\s?:",
    re.I,
)
_SIGNATURES = [
    re.compile(r"^-- ?$"),  # the standard "-- " delimiter
    re.compile(
        r"^\s*(?:Sent from my|Envoyé de mon|Envoyé depuis mon|Von meinem|Enviado desde mi|"
        r"Enviado do meu|Inviato da|Verzonden vanaf mijn|Verstuurd vanaf mijn|Wysłane z|"
        r"Skickat från min|Sendt fra min|Lähetetty|Odesláno z)\b.{1,40}$",
        re.I,
    ),
    re.compile(r"^\s*(?:Obtenir|Get|Télécharger) Outlook (?:pour|for) .{1,40}$", re.I),
]
# A line of a quote that the client wrapped without its ">" (Android's Gmail): it carries on
# a long quoted line with a lower-case word, and the quote carries on right under it.
_WRAPPED_QUOTE = 60
_MARKS = re.compile(r"[ \t]*(?:>[ \t]*)*")  # a line's quote marks (always matches)
_RULE = re.compile(r"^\s*[-_=*—–]{3,}\s*$")  # a separator line left at the end


def strip_quotes(text: str) -> str:
    """The new text of a reply (see the module's guarantees); blank lines at the ends trimmed."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    kept = _kept(lines)
    if not any(line.strip() for line in kept):
        kept = lines  # nothing left: the person's text is all there is
    return _trimmed(kept)


def _kept(lines: list[str]) -> list[str]:
    kept: list[str] = []
    gap = False  # something was removed since the last line kept
    at = 0
    quoted = _quoting(lines)
    while at < len(lines):
        line = lines[at]
        if any(p.match(line) for p in _FORWARD_MARKS) and not gap:
            return lines  # a forwarded message, before any quote: kept whole
        if _quote_starts(lines, at):
            return kept
        span = _attribution(lines, at)
        if span:
            kept = kept[: len(kept) - span + 1]  # folded lines above it were kept: take back
            after = at + 1
            while after < len(lines) and not lines[after].strip():
                after += 1
            if after < len(lines) and quoted(lines[after]):
                at, gap = after, True  # a ">" quote: what follows it is the person's again
                continue
            return kept  # the original follows unmarked: all the rest is the quote
        if quoted(line) or _wrapped(lines, at):
            at, gap = at + 1, True
            continue
        if any(p.match(line) for p in _SIGNATURES):
            return kept
        if line.strip() or not (gap and kept and not kept[-1].strip()):
            kept.append(line)
        if line.strip():
            gap = False
        at += 1
    return kept


def _quoting(lines: list[str]) -> Callable[[str], bool]:
    """What tells a quoted line: ">" — unless no line is quoted once and ">" only ever comes
    several at a time (">>> see this <<<"): a deeper quote never comes without its outer one,
    so that is the writer's decoration, kept."""
    depths = {_depth(line) for line in lines} - {0}
    if depths and min(depths) > 1:
        return lambda _line: False
    return lambda line: line.lstrip().startswith(">")


def _depth(line: str) -> int:
    marks = _MARKS.match(line)
    return marks.group(0).count(">") if marks else 0


def _quote_starts(lines: list[str], at: int) -> bool:
    """A separator, or an Outlook header block, starts at this line."""
    line = lines[at]
    if any(p.match(line) for p in _SEPARATORS):
        return True
    return bool(_HEADER_FIRST.match(line)) and any(
        _HEADER_NEXT.match(following) for following in lines[at + 1 : at + 4]
    )


def _attribution(lines: list[str], at: int) -> int:
    """How many lines (1 to 3, ending at `at`) an attribution takes, or 0 if none ends here.
    The shortest that is one, taken a line further up only while it lacks its start (a lead
    word, or a date) and that line has one: a line of the person's text is never taken."""
    end = lines[at].strip()
    dashed = end.endswith("-")  # "-----On … wrote-----"
    if not (end.rstrip(" -").endswith(":") or dashed or _DATED_ADDRESS.match(end)):
        return 0
    found = 0
    for span in (1, 2, 3):
        first = at - span + 1
        if first < 0 or not lines[first].strip():
            break
        head = lines[first].strip()
        leads = bool(_STARTS_WITH_LEAD.match(head))
        if span > 1 and not (leads or head[:1].isdigit()):
            if found:
                break  # what is above is the person's text
            continue
        if found and _complete(lines[at - found + 1].strip()):
            break
        joined = re.sub(r"<\s+", "<", " ".join(lines[i].strip() for i in range(first, at + 1)))
        joined = joined.strip("- ")
        if dashed and not joined.endswith(":"):
            joined += ":"
        if len(joined) <= _ATTRIBUTION_MAX and _is_attribution(joined):
            found = span
    return found


def _complete(head: str) -> bool:
    """An attribution starting so has its start: a lead word, or a date (not an address)."""
    return bool(_STARTS_WITH_LEAD.match(head)) or (
        head[:1].isdigit() and "@" not in head.split(maxsplit=1)[0]
    )


def _is_attribution(joined: str) -> bool:
    if _DATED_ADDRESS.match(joined):
        return True
    if not _ATTRIBUTION.match(joined):
        return False
    if _STARTS_WITH_LEAD.match(joined):
        return True  # "Le … a écrit :", dated in words or not
    # Without its lead word, it needs an address, a time or a date to be told from a sentence;
    # and text before a lead word inside the line ("reply On … wrote:") is the person's: such
    # a line is kept whole rather than lose it.
    return bool(_EVIDENCE.search(joined)) and not _LEAD_INSIDE.search(joined)


def _wrapped(lines: list[str], at: int) -> bool:
    line = lines[at].strip()
    if not line[:1].islower() or at == 0 or at + 1 >= len(lines):
        return False
    above, below = lines[at - 1].lstrip(), lines[at + 1].lstrip()
    return above.startswith(">") and len(above) >= _WRAPPED_QUOTE and below.startswith(">")


def _trimmed(kept: list[str]) -> str:
    first = next((i for i, line in enumerate(kept) if line.strip()), len(kept))
    last = len(kept)
    while last > first and (not kept[last - 1].strip() or _RULE.match(kept[last - 1])):
        last -= 1
    return "\n".join(kept[first:last])
