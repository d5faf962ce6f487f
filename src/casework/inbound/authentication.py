"""Whether a message's sender is who its `From:` says, as far as we can prove it.

`From:` alone proves nothing: anyone can write any address there. A message is the sender's
when one of these holds:

- it came through the signed `reply+<token>@` address of one of our mails, and its `From:` is
  the address that very mail went to (the token is bound to that contact: it was only ever sent
  to them);
- our own mail server says so: its `Authentication-Results` header (RFC 8601, read with
  `authres`), recognised by its `authserv-id` (`[inbound] authserv_id`), shows DMARC pass for
  the `From:` domain, or an SPF or DKIM pass for a domain aligned with it. Only the topmost
  such header(s) count — the ones our server put on top of the message — never one further
  down, which the sender may have written; a message with several `From:` headers or several
  addresses in it is never authenticated.

`[inbound] sender_policy` says what counts: "require" (either proof; otherwise the quarantine),
"token-only" (the reply address only: a message matched by its In-Reply-To alone never acts)
or "off" (development: `From:` is believed, as before; the service warns at start). Pure: no
database, no network; the reasons are in French, for the quarantine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

import authres

from casework.settings import SENDER_POLICIES

# What our server's verdicts may say, by method: only "pass" proves anything.
_PASS = "pass"
_FEATURES = authres.all_features()
# A link in a text: a scheme, or "www.", or a domain followed by a path. Removed from what an
# unproven sender wrote before anyone is mailed it.
_LINKS = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.-]{1,15}://|www\.)\S+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/\S*"
)
LINK_REMOVED = "[lien retiré]"


@dataclass(frozen=True)
class Proof:
    """What is proven of a message's sender. `how`: "jeton" (the signed reply address bound to
    them), "DMARC", "SPF", "DKIM" (our server's verdict), or None; `counts`: whether it may act
    under the policy; `reason`: why not, in French."""

    how: str | None
    counts: bool
    reason: str | None = None

    @property
    def proven(self) -> bool:
        """A real proof, not the policy "off" believing `From:`."""
        return self.how is not None


class SenderCheck:
    """The policy and our server's name, read once; asked for each message."""

    def __init__(self, policy: str, authserv_id: str):
        if policy not in SENDER_POLICIES:
            raise ValueError(f"unknown sender policy {policy!r}")
        self.policy = policy
        self.authserv_id = authserv_id.strip().lower()

    def reply(self, message: Message | None, sender: str | None, bound: str | None) -> Proof:
        """A reply to one of our mails, from `sender` (its `From:`); `bound`: the contact the
        reply address it came through is bound to (None: matched by its references only)."""
        if sender and bound == sender and single_sender(message):
            return Proof("jeton", True)
        if bound is not None and sender != bound:
            why = f"l'adresse de réponse par laquelle il écrit a été envoyée à {bound}"
        else:
            why = "il ne répond pas par l'adresse de réponse signée qui lui a été envoyée"
        if self.policy == "token-only":
            return self._refused(sender, f"{why}, et seule celle-ci fait foi ici")
        return self.by_server(message, sender, why)

    def by_server(
        self, message: Message | None, sender: str | None, why: str | None = None
    ) -> Proof:
        """A message with no reply address bound to its sender (an alert, a reply matched by
        its references): our server's verdict for its `From:` domain."""
        how = server_verdict(message, self.authserv_id, sender)
        if how is not None:
            return Proof(how, True)
        unvouched = (
            "notre serveur de courriel ne l'authentifie pas (ni DMARC, ni SPF ou DKIM alignés "
            "sur son domaine)"
        )
        return self._refused(sender, f"{why}, et {unvouched}" if why else unvouched)

    def _refused(self, sender: str | None, why: str) -> Proof:
        if self.policy == "off":
            return Proof(None, True)  # development: From: is believed
        return Proof(None, False, f"expéditeur {sender or 'inconnu'} non authentifié : {why}")


def single_sender(message: Message | None) -> bool:
    """One `From:` header, holding one address: anything else is how forgeries hide."""
    if message is None:
        return False
    headers = message.get_all("From") or []
    if len(headers) != 1:
        return False
    return len([a for _n, a in getaddresses([str(headers[0])]) if a]) == 1


def server_verdict(message: Message | None, authserv_id: str, sender: str | None) -> str | None:
    """How our server authenticated `sender`'s domain ("DMARC", "DKIM", "SPF"), or None.

    Reads the `Authentication-Results` headers from the top: those of our server come first
    (a server adds its own above what it received). Only the first run of them with our
    `authserv_id` counts; one with our id below another server's, or below a gap, is the
    sender's writing. Headers that cannot be parsed count for nothing."""
    if not authserv_id or not sender or "@" not in sender or not single_sender(message):
        return None
    assert message is not None
    domain = sender.rsplit("@", 1)[1].strip().lower()
    verdicts: list[tuple[str, str, dict[str, str]]] = []
    for value in _topmost(message, authserv_id):
        try:
            header = _FEATURES.parse_value(_unfolded(value))
        except Exception:  # authres raises its own SyntaxError and others on bad input
            continue
        for result in header.results:
            properties = {f"{p.type}.{p.name}".lower(): str(p.value) for p in result.properties}
            verdicts.append((str(result.method).lower(), str(result.result).lower(), properties))
    for wanted in ("dmarc", "dkim", "spf"):
        for method, result, properties in verdicts:
            if method == wanted and result == _PASS and _aligned(method, properties, domain):
                return method.upper()
    return None


def _topmost(message: Message, authserv_id: str) -> list[str]:
    """The values of the topmost run of `Authentication-Results` headers bearing our id."""
    run: list[str] = []
    for name, value in message.items():
        if name.lower() != "authentication-results":
            if run:
                break  # the run ended: whatever comes lower was not written by our server
            continue
        if _authserv_id(str(value)) == authserv_id:
            run.append(str(value))
        elif run:
            break
    return run


def _authserv_id(value: str) -> str:
    """The authserv-id a header starts with (before any comment or version)."""
    head = _unfolded(value).split(";", 1)[0].strip()
    return head.split()[0].lower() if head else ""


def _unfolded(value: str) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", value).strip()


def _aligned(method: str, properties: dict[str, str], domain: str) -> bool:
    """The result is about the From: domain: DMARC's header.from is that domain; DKIM's
    signing domain (header.d, or header.i's) and SPF's envelope domain (smtp.mailfrom) are the
    same domain or a parent or child of it (relaxed alignment, without a public-suffix list:
    sibling subdomains are not taken)."""
    if method == "dmarc":
        return _bare(properties.get("header.from", "")) == domain
    if method == "dkim":
        signer = properties.get("header.d") or properties.get("header.i", "")
    else:
        signer = properties.get("smtp.mailfrom", "")
    signer = _bare(signer)
    return bool(signer) and (
        signer == domain or domain.endswith(f".{signer}") or signer.endswith(f".{domain}")
    )


def _bare(value: str) -> str:
    """A domain from "domain", "user@domain" or "@domain", lowercased, without a final dot."""
    return value.rsplit("@", 1)[-1].strip().strip('"').rstrip(".").lower()


def without_links(text: str) -> str:
    """`text` with its links replaced by « [lien retiré] »: what an unproven sender wrote is
    never passed on with links a counsellor could follow."""
    return _LINKS.sub(LINK_REMOVED, text)
