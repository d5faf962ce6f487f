"""Property-based tests of what a stranger controls in a link or a reply address: whatever the
token, the parser either accepts it or raises a LinkError (a French page, a 4xx); it never
crashes and never hangs. Resolving reads a real database, on both backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from casework.actors import Actor
from casework.app import App
from casework.notify.links import LinkError, LinkRequest, LinkSigner
from casework.web.links import LinkPages
from tests.factories import NEW_KEY, add_case, add_user

# Moderate runs, and a deadline generous enough for a loaded machine: it is there to catch a
# parser that goes quadratic, not to time anything.
FUZZ = settings(
    max_examples=150,
    deadline=timedelta(seconds=5),
    # The database is read only: the same one serves every example.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TOKEN_CHARS = st.characters(codec="ascii", exclude_characters="\x00")
# JSON values a signed payload could hold (what a leaked key, or our own bug, could put there).
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=7) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=20,
)


@pytest.fixture
def signer(app: App) -> LinkSigner:
    return LinkSigner.from_settings(app.settings.mail)


@pytest.fixture
def real_token(app: App, signer: LinkSigner) -> str:
    """A link that works, for the mutations to start from."""
    add_user(app)
    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    request = LinkRequest("case", case_id, case_id, "decline", 2, "x@ml.example", "person")
    with app.db.transaction() as conn:
        (token,) = signer.create(conn, [request], app.clock.now())
    return token


def resolves_or_refuses(app: App, signer: LinkSigner, token: str) -> Any:
    """The link, or None when a LinkError refused the token; anything else propagates."""
    refused: LinkError | None = None
    try:
        with app.db.read() as conn:
            return signer.resolve(conn, token, app.clock.now())
    except LinkError as error:
        refused = error
    assert 400 <= refused.status < 500
    assert refused.title
    assert refused.message
    return None


@FUZZ
@given(token=st.text(max_size=300) | st.text(TOKEN_CHARS, max_size=300))
def test_any_string_resolves_to_a_link_error(app: App, signer: LinkSigner, token: str) -> None:
    assert resolves_or_refuses(app, signer, token) is None


@FUZZ
@given(raw=st.binary(max_size=300))
def test_any_bytes_resolve_to_a_link_error(app: App, signer: LinkSigner, raw: bytes) -> None:
    # What a URL path can carry once percent-decoded: any bytes, read as Latin-1 or UTF-8.
    for token in (raw.decode("latin-1"), raw.decode("utf-8", "replace")):
        assert resolves_or_refuses(app, signer, token) is None


@FUZZ
@given(claims=JSON)
def test_any_payload_signed_with_our_key_resolves_to_a_link_error(
    app: App, signer: LinkSigner, claims: object
) -> None:
    token = signer.serializer.dumps(claims)
    assert resolves_or_refuses(app, signer, token) is None


@FUZZ
@given(data=st.data())
def test_a_real_token_mutated_resolves_to_a_link_error(
    app: App, signer: LinkSigner, real_token: str, data: st.DataObject
) -> None:
    at = data.draw(st.integers(0, len(real_token)), label="at")
    cut = data.draw(st.integers(0, 5), label="cut")
    added = data.draw(st.text(TOKEN_CHARS, max_size=5), label="added")
    token = real_token[:at] + added + real_token[at + cut :]
    assume(token != real_token)
    assert resolves_or_refuses(app, signer, token) is None


@FUZZ
@given(token=st.text(min_size=1, max_size=200))
def test_any_link_path_gets_a_french_page_not_a_crash(
    app: App, signer: LinkSigner, token: str
) -> None:
    # A "/" or a dot segment makes another URL (the router's plain 404), not a token.
    assume("/" not in token and token.strip("."))
    client = TestClient(Starlette(routes=LinkPages(app, signer).routes()))
    for method in ("GET", "POST"):
        page = client.request(method, f"/l/{quote(token, safe='')}")
        assert page.status_code in {400, 403, 404, 405}, page.text
        assert page.headers["content-type"].startswith("text/html")


def test_the_real_token_itself_resolves(app: App, signer: LinkSigner, real_token: str) -> None:
    assert resolves_or_refuses(app, signer, real_token) is not None


# -- the serializer and reply addresses: no database -----------------------------------------------

KEYS = [NEW_KEY]


@settings(max_examples=300, deadline=timedelta(seconds=5))
@given(token=st.text(max_size=300))
def test_the_serializer_refuses_any_string_with_a_bad_signature(token: str) -> None:
    from itsdangerous import BadSignature

    serializer = LinkSigner(KEYS, timedelta(days=30)).serializer
    with pytest.raises(BadSignature):
        serializer.loads(token)


@settings(max_examples=300, deadline=timedelta(seconds=5))
@given(token=st.text(max_size=200) | st.from_regex(r"\A[0-9\u0660-\u0669²]{1,5000}-[a-z2-7é]*\Z"))
def test_any_reply_token_is_a_mail_id_or_none(token: str) -> None:
    signer = LinkSigner(KEYS, timedelta(days=30))
    found = signer.check_reply_token(token)
    assert found is None or (isinstance(found, int) and signer.reply_token(found) == token.lower())


@settings(max_examples=100, deadline=timedelta(seconds=5))
@given(mail_id=st.integers(0, 2**63 - 1), noise=st.text(max_size=3))
def test_reply_tokens_round_trip_and_noise_breaks_them(mail_id: int, noise: str) -> None:
    signer = LinkSigner(KEYS, timedelta(days=30))
    token = signer.reply_token(mail_id)
    assert signer.check_reply_token(token) == mail_id
    assert signer.check_reply_token(f" {token.upper()} ") == mail_id
    changed = token + noise
    assume(changed.strip().lower() != token)
    assert signer.check_reply_token(changed) is None
