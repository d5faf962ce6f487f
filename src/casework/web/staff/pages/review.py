"""`/rapprochement`: the cross-matching review queue (`casework intake review`), for managers
and administrators; others get 403.

GET shows the pairs to review, likeliest first, ten a page (`?page=`), each explained field by
field (`casework.web.staff.review_view`): both files' values side by side, how well each field
agrees and how much it weighed, and the probability. Every view is in the access log: it names
young people. `?seuil=` (a percentage) shows how many pairs are at or above it, and a button
to accept them all.

POST, with the page's CSRF value, through the functions of the command line
(`intake.matching`), each recording who decided and when as `casework intake decide` does:
- `decision=oui|non` on one pair (`contrat`, and the `jeune` it was shown with): `decide`;
  then the queue again (303), the next pair first. A pair decided meanwhile, or replaced by a
  new cross-matching, is refused (409, the fresh queue, nothing written).
- `action=seuil` with `seuil` and the `nombre` the person was shown: `accept_above`, in one
  transaction; refused (409, the count again) when there are not that many any more.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from casework.accounts.scope import INTAKE_STAFF
from casework.actors import Actor
from casework.intake import matching
from casework.models.tables import DECISIONS
from casework.web.forms import PAGE_HEADERS
from casework.web.staff.page import Page, PageContext, page_number
from casework.web.staff.review_view import pair_view

log = logging.getLogger("casework.staff")
PATH = "/rapprochement"
PER_PAGE = 10
_PERCENT = re.compile(r"^\s*(\d{1,3})(?:[,.](\d{1,2}))?\s*%?\s*$")
DECIDED_MEANWHILE = (
    "Cette paire n'est plus à examiner : une autre personne l'a décidée, ou un nouveau "
    "rapprochement l'a remplacée. Rien n'a été enregistré ; voici les paires à jour."
)
COUNT_CHANGED = (
    "Le nombre de paires au-dessus de ce seuil a changé entre-temps (une décision ou un nouveau "
    "rapprochement). Rien n'a été enregistré : vérifiez le nouveau nombre, puis confirmez."
)
CONFIRM_AGAIN = "Confirmez le nombre de paires à accepter. Rien n'a été enregistré."
BAD_THRESHOLD = "Indiquez un pourcentage entre 1 et 100, par exemple 90 ou 92,5."


def review_page(ctx: PageContext) -> Response:
    if ctx.request.method == "POST":
        return _post(ctx)
    query = ctx.request.query_params
    return _show(ctx, ctx.page_number(), threshold=query.get("seuil"))


def _show(
    ctx: PageContext,
    page: int,
    status: int = 200,
    threshold: str | None = None,
    refusal: str | None = None,
) -> Response:
    pairs = matching.waiting(ctx.app, PER_PAGE + 1, (page - 1) * PER_PAGE)
    wanted, error = _threshold(threshold) if threshold else (None, None)
    with ctx.app.db.read() as conn:
        waiting = matching.above(conn, 0.0)
        above = matching.above(conn, wanted) if wanted is not None else None
        notice = _notice(ctx, conn)
    ctx.record_view()
    return ctx.render(
        "review.html.j2",
        422 if error and status == 200 else status,
        pairs=[pair_view(*p) for p in pairs[:PER_PAGE]],
        page=page,
        more=len(pairs) > PER_PAGE,
        waiting=waiting,
        threshold=threshold or "",
        threshold_error=error,
        above=above,
        notice=notice,
        refusal=refusal,
    )


def _notice(ctx: PageContext, conn: Any) -> str | None:
    """After a POST went through: what was recorded. `?fait=decision&contrat=…`: the person's
    own latest decision on that contract, read again from the database (never the address's
    words); `?fait=seuil&nombre=N`: a count, digits only."""
    query = ctx.request.query_params
    done = query.get("fait")
    if done == "seuil":
        count = _number(query.get("nombre", ""))
        if count is None:
            return None
        return (
            "Une paire acceptée : même personne."
            if count == 1
            else (f"{count} paires acceptées : même personne.")
        )
    if done != "decision":
        return None
    key = query.get("contrat", "")[:60]
    found = conn.execute(
        select(DECISIONS.c.same)
        .where(DECISIONS.c.cma_key == key, DECISIONS.c.decided_by == str(_actor(ctx)))
        .order_by(DECISIONS.c.decided_at.desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    return f"Contrat {key} : {'même personne' if found.same else 'personnes différentes'}."


# -- acting --------------------------------------------------------------------------------------


def _post(ctx: PageContext) -> Response:
    form = ctx.form
    assert form is not None  # the core reads a POST's form before calling the page
    page = page_number(str(form.get("page", "1")))
    if form.get("action") == "seuil":
        return _accept_above(ctx, str(form.get("seuil", "")), str(form.get("nombre", "")), page)
    verdict = str(form.get("decision", ""))
    key, young = str(form.get("contrat", ""))[:60], str(form.get("jeune", ""))[:60]
    if verdict not in ("oui", "non") or not key or not young:
        return _show(ctx, page, 400, refusal="Choisissez « même personne » ou « personnes "
                     "différentes » pour une paire. Rien n'a été enregistré.")  # fmt: skip
    try:
        matching.decide(ctx.app, key, verdict == "oui", _actor(ctx), reviewing=young)
    except matching.ReviewError as error:
        log.info("review by %s refused: %s", ctx.user.login, error)
        return _show(ctx, page, 409, refusal=DECIDED_MEANWHILE)
    return _back(page, fait="decision", contrat=key)


def _accept_above(ctx: PageContext, given: str, shown: str, page: int) -> Response:
    wanted, _why = _threshold(given)
    if wanted is None:  # _show says why, beside the field
        return _show(ctx, page, 422, threshold=given)
    expected = _number(shown)
    if expected is None:  # the count shown is what the person agreed to: no count, no consent
        return _show(ctx, page, 400, threshold=given, refusal=CONFIRM_AGAIN)
    try:
        count = matching.accept_above(ctx.app, wanted, _actor(ctx), expected=expected)
    except matching.ReviewError as error:
        log.info("review by %s refused: %s", ctx.user.login, error)
        return _show(ctx, page, 409, threshold=given, refusal=COUNT_CHANGED)
    return _back(1, fait="seuil", nombre=str(count))


def _back(page: int, **said: str) -> Response:
    target = f"{PATH}?{urlencode({'page': page, **said})}#resultat"
    return RedirectResponse(target, status_code=303, headers=PAGE_HEADERS)


def _actor(ctx: PageContext) -> Actor:
    return Actor.person(ctx.user.login)


def _threshold(given: str) -> tuple[float | None, str | None]:
    """A percentage as people type it ("90", "92,5", "95 %") as a probability; else the
    reason, in French."""
    found = _PERCENT.match(given or "")
    if found is None:
        return None, BAD_THRESHOLD
    value = float(f"{found.group(1)}.{found.group(2) or 0}")
    if not 1 <= value <= 100:
        return None, BAD_THRESHOLD
    return value / 100, None


def _number(given: str) -> int | None:
    """A count as a form or the address gives it; None for anything else."""
    return int(given) if given.isascii() and given.isdigit() and len(given) < 9 else None


PAGES = [
    Page(PATH, "Rapprochement", review_page, roles=INTAKE_STAFF, methods=("GET", "POST"), order=40)
]
