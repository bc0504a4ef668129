"""Password guessing and API-key guessing are throttled per account and address."""

import pytest
from django.core.cache import cache

from tests.conftest import PASSWORD, login


@pytest.fixture(autouse=True)
def _clean_counters():
    cache.delete_pattern("*api-key-failures*")
    yield
    cache.delete_pattern("*api-key-failures*")


def test_repeated_failed_logins_lock_the_account_out(acme_client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert login(acme_client, "member@acme.test", "wrong-password").status_code == 200
    assert login(acme_client, "member@acme.test", "wrong-password").status_code == 429
    # Locked out: even the right password is refused until the cool-off ends.
    response = login(acme_client, "member@acme.test", PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed log-in attempts" in response.content
    assert "_auth_user_id" not in acme_client.session


def test_successful_login_before_the_limit_resets_the_count(acme_client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        login(acme_client, "member@acme.test", "wrong-password")
    assert login(acme_client, "member@acme.test", PASSWORD).status_code == 302
    acme_client.logout()
    for _ in range(2):
        login(acme_client, "member@acme.test", "wrong-password")
    assert login(acme_client, "member@acme.test", PASSWORD).status_code == 302


def test_guessing_api_keys_is_refused_after_the_limit(acme_client, settings):
    settings.ORGDASH_API_KEY_FAILURE_LIMIT = 5
    for attempt in range(5):
        response = acme_client.get("/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer odk_guess{attempt}")
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid API key."}
    response = acme_client.get("/api/v1/users/", HTTP_AUTHORIZATION="Bearer odk_guess-again")
    assert response.status_code == 429
    assert "Too many invalid API keys" in response.json()["detail"]
