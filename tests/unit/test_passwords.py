"""The password rule and the Argon2 hashes (casework.accounts.passwords)."""

from __future__ import annotations

import pytest

from casework.accounts.passwords import (
    PasswordRefused,
    check_new_password,
    hash_password,
    verify,
)


def refusal(password: str) -> str:
    with pytest.raises(PasswordRefused) as refused:
        check_new_password(password, login="claire", name="Claire Martin", min_length=12)
    return refused.value.french()


def test_the_rule_refuses_short_repetitive_common_and_personal_passwords() -> None:
    assert refusal("court") == "Mot de passe refusé : il faut au moins 12 caractères."
    assert refusal("x" * 201) == "Mot de passe refusé : il ne peut dépasser 200 caractères."
    assert "5 caractères différents" in refusal("abababababab")
    for common in ("motdepasse2024", "Mot de passe 123", "AZERTYUIOP12", "123456789012"):
        assert "les plus répandus" in refusal(common), common
    for personal in ("claire-est-la-2024", "Martin et les autres"):
        assert "ni l'identifiant ni le nom" in refusal(personal), personal
    check_new_password(
        "une longue phrase de passe", login="claire", name="Claire Martin", min_length=12
    )


def test_hashes_are_argon2id_and_verify_only_the_right_password() -> None:
    stored = hash_password("une longue phrase de passe")
    assert stored.startswith("$argon2id$")
    assert verify(stored, "une longue phrase de passe") == (True, False)
    assert verify(stored, "une autre phrase de passe") == (False, False)
    # No password yet, a corrupt hash, an oversized attempt: refused, never an exception.
    assert verify(None, "une longue phrase de passe") == (False, False)
    assert verify("not a hash", "x") == (False, False)
    assert verify(stored, "x" * 100_000) == (False, False)


def test_a_hash_made_with_weaker_parameters_is_to_be_made_again() -> None:
    from argon2 import PasswordHasher

    old = PasswordHasher(time_cost=1, memory_cost=8192).hash("une longue phrase de passe")
    assert verify(old, "une longue phrase de passe") == (True, True)
