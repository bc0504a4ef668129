"""Failed log-ins lock the account they target from the address they come from, in one org only;
a very noisy address is slowed per org (429 + Retry-After); blocks end on time."""

import pytest
from django.db import connection

from accounts.models import AuditEvent
from orgdash.core.models import LoginThrottle
from tests.clock import Clock
from tests.conftest import PASSWORD

ATTACKER = "203.0.113.66"
WRONG = "wrong-password"
OWNER = "198.51.100.7"
PROXY = "10.0.0.2"


@pytest.fixture(autouse=True)
def _small_limits(settings):
    settings.ORGDASH_LOGIN_FAILURE_LIMIT = 3
    settings.ORGDASH_LOGIN_ADDRESS_FAILURE_LIMIT = 50
    settings.ORGDASH_LOGIN_COOLOFF_MINUTES = 15


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


def attempt(client, email, password=WRONG, address=ATTACKER, **headers):
    return client.post("/accounts/login/", {"email": email, "password": password}, REMOTE_ADDR=address, **headers)


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def lock_out(client, email, address=ATTACKER, **headers):
    for _ in range(2):
        assert attempt(client, email, address=address, **headers).status_code == 200
    response = attempt(client, email, address=address, **headers)
    assert response.status_code == 429
    return response


def test_failed_log_ins_lock_the_account_from_that_address(acme_client):
    response = lock_out(acme_client, "member@acme.test")
    assert response["Retry-After"] == str(15 * 60)
    page = response.content.decode()
    assert "Too many failed log-in attempts" in page
    assert "Try again in 15 minutes" in page
    assert 'href="/accounts/password/reset/"' in page
    # Locked: even the right password is refused, and no session is opened.
    response = attempt(acme_client, "member@acme.test", PASSWORD)
    assert response.status_code == 429
    assert not logged_in(acme_client)


def test_the_owner_logs_in_from_another_address_while_locked_from_the_guessing_one(acme_client):
    lock_out(acme_client, "member@acme.test")
    assert attempt(acme_client, "member@acme.test", PASSWORD).status_code == 429

    owner = type(acme_client)(HTTP_HOST=acme_client.defaults["HTTP_HOST"])
    assert attempt(owner, "member@acme.test", PASSWORD, address=OWNER).status_code == 302
    assert logged_in(owner)


def test_guessing_at_one_org_leaves_another_orgs_admin_free_from_the_same_address(acme_client, globex_client, settings):
    settings.ORGDASH_LOGIN_ADDRESS_FAILURE_LIMIT = 6
    # Every account of acme guessed from one address, until the address itself is slowed at acme.
    for email in ["admin@acme.test", "member@acme.test"]:
        lock_out(acme_client, email)
    response = attempt(acme_client, "viewer@acme.test", PASSWORD)
    assert response.status_code == 429
    assert "log-in from your address is paused" in response.content.decode()

    response = attempt(globex_client, "admin@globex.test", PASSWORD)
    assert response.status_code == 302
    assert logged_in(globex_client)


def test_a_lock_ends_on_time_however_long_the_guessing_goes_on(acme_client, clock):
    lock_out(acme_client, "member@acme.test")
    for minute in range(1, 15):
        clock.advance(minutes=1)
        response = attempt(acme_client, "member@acme.test")
        assert response.status_code == 429, minute
        assert response["Retry-After"] == str((15 - minute) * 60)  # counting down, never extended
    clock.advance(seconds=59)
    assert attempt(acme_client, "member@acme.test", PASSWORD).status_code == 429
    clock.advance(seconds=1)
    assert attempt(acme_client, "member@acme.test", PASSWORD).status_code == 302
    assert logged_in(acme_client)


def test_after_a_lock_the_count_starts_over(acme_client, clock):
    lock_out(acme_client, "member@acme.test")
    clock.advance(minutes=15)
    lock_out(acme_client, "member@acme.test")  # two more failures allowed, the third locks again


def test_failures_older_than_the_cooloff_are_forgotten(acme_client, clock):
    for _ in range(2):
        attempt(acme_client, "member@acme.test")
    clock.advance(minutes=16)
    for _ in range(2):
        assert attempt(acme_client, "member@acme.test").status_code == 200
    assert attempt(acme_client, "member@acme.test", PASSWORD).status_code == 302


def test_a_successful_log_in_before_the_limit_resets_the_count(acme_client):
    for _ in range(2):
        attempt(acme_client, "member@acme.test")
    assert attempt(acme_client, "member@acme.test", PASSWORD).status_code == 302
    acme_client.logout()
    for _ in range(2):
        assert attempt(acme_client, "member@acme.test").status_code == 200
    assert attempt(acme_client, "member@acme.test", PASSWORD).status_code == 302


def test_a_noisy_address_is_slowed_per_org_with_retry_after(acme_client, globex_client, settings, clock):
    settings.ORGDASH_LOGIN_ADDRESS_FAILURE_LIMIT = 5
    for n in range(4):
        assert attempt(acme_client, f"nobody{n}@example.com").status_code == 200
    response = attempt(acme_client, "nobody4@example.com")
    assert response.status_code == 429
    assert response["Retry-After"] == str(15 * 60)
    assert "log-in from your address is paused" in response.content.decode()

    # Every account, the right password too, from that address at acme...
    clock.advance(minutes=5)
    response = attempt(acme_client, "admin@acme.test", PASSWORD)
    assert response.status_code == 429
    assert response["Retry-After"] == str(10 * 60)
    # ... but not from another address, nor at another org.
    other = type(acme_client)(HTTP_HOST=acme_client.defaults["HTTP_HOST"])
    assert attempt(other, "admin@acme.test", PASSWORD, address=OWNER).status_code == 302
    assert attempt(globex_client, "admin@globex.test", PASSWORD).status_code == 302

    clock.advance(minutes=10)
    assert attempt(acme_client, "admin@acme.test", PASSWORD).status_code == 302


def test_a_lock_is_audited_in_the_org_with_the_client_address(acme_client, acme):
    lock_out(acme_client, "member@acme.test")
    connection.set_tenant(acme)
    row = AuditEvent.objects.get(action="login.locked")
    assert (row.actor_email, row.target_repr, row.ip_address) == ("policy", "member@acme.test", ATTACKER)


def test_behind_one_trusted_proxy_the_client_address_is_locked_and_audited(acme_client, acme, settings):
    settings.ORGDASH_TRUSTED_PROXY_COUNT = 1
    # The client forges an entry; the trusted proxy appends the address it really saw.
    forwarded = {"HTTP_X_FORWARDED_FOR": f"192.0.2.1, {ATTACKER}"}
    lock_out(acme_client, "member@acme.test", address=PROXY, **forwarded)

    rows = LoginThrottle.objects.filter(schema_name="acme", account__in=["", "member@acme.test"])
    assert set(rows.values_list("address", flat=True)) == {ATTACKER}
    connection.set_tenant(acme)
    assert AuditEvent.objects.get(action="login.locked").ip_address == ATTACKER
    connection.set_schema_to_public()
    # The owner comes through the same proxy from elsewhere: not locked.
    owner = type(acme_client)(HTTP_HOST=acme_client.defaults["HTTP_HOST"])
    response = attempt(owner, "member@acme.test", PASSWORD, address=PROXY, HTTP_X_FORWARDED_FOR=OWNER)
    assert response.status_code == 302


def test_without_a_trusted_proxy_a_forged_x_forwarded_for_is_ignored(acme_client):
    # A new forged address on each attempt does not escape the lock: the peer's address counts.
    for n in range(2):
        assert attempt(acme_client, "member@acme.test", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code == 200
    assert attempt(acme_client, "member@acme.test", HTTP_X_FORWARDED_FOR="192.0.2.9").status_code == 429
    assert attempt(acme_client, "member@acme.test", PASSWORD, HTTP_X_FORWARDED_FOR=OWNER).status_code == 429
    rows = LoginThrottle.objects.filter(schema_name="acme", account__in=["", "member@acme.test"])
    assert set(rows.values_list("address", flat=True)) == {ATTACKER}


def test_django_admin_log_in_is_protected_too(public_client):
    for _ in range(2):
        response = public_client.post(
            "/admin/login/", {"username": "support@orgdash.test", "password": "wrong"}, REMOTE_ADDR=ATTACKER
        )
        assert response.status_code == 200
    response = public_client.post(
        "/admin/login/", {"username": "support@orgdash.test", "password": "wrong"}, REMOTE_ADDR=ATTACKER
    )
    assert response.status_code == 429
    assert "/accounts/password/reset/" not in response.content.decode()  # no org, no reset page
    response = public_client.post(
        "/admin/login/", {"username": "support@orgdash.test", "password": PASSWORD}, REMOTE_ADDR=OWNER
    )
    assert response.status_code == 302
