"""API-key guessing is throttled per address (log-in guessing: tests/accounts/test_login_protection.py)."""

import pytest
from django.core.cache import cache

from tests.accounts.conftest import bearer, key_for


@pytest.fixture(autouse=True)
def _clean_counters():
    cache.delete_pattern("*api-key-failures*")
    yield
    cache.delete_pattern("*api-key-failures*")


def test_guessing_api_keys_is_refused_after_the_limit(acme_client, settings):
    settings.ORGDASH_API_KEY_FAILURE_LIMIT = 5
    for attempt in range(5):
        response = acme_client.get("/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer odk_guess{attempt}")
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid API key."}
    response = acme_client.get("/api/v1/users/", HTTP_AUTHORIZATION="Bearer odk_guess-again")
    assert response.status_code == 429
    assert "Too many invalid API keys" in response.json()["detail"]


def test_a_valid_key_is_let_in_from_an_address_past_the_limit(acme, acme_client, settings):
    settings.ORGDASH_API_KEY_FAILURE_LIMIT = 2
    secret = key_for(acme, "admin@acme.test")
    guesses = [acme_client.get("/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer odk_guess{n}") for n in range(3)]
    assert [response.status_code for response in guesses] == [401, 401, 429]
    # A key carries 256 random bits: the limit stops guessing, not a key's owner behind the same address.
    assert acme_client.get("/api/v1/users/", **bearer(secret)).status_code == 200
    assert acme_client.get("/api/v1/users/", HTTP_AUTHORIZATION="Bearer odk_guess-again").status_code == 429
