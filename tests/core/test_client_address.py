"""The client address: REMOTE_ADDR, or X-Forwarded-For only as far as trusted proxies vouch for it."""

import pytest
from django.db import connection
from django.test import RequestFactory

from accounts.models import AuditEvent, Membership
from orgdash.core.client_address import client_ip
from tests.conftest import PASSWORD
from tests.security.conftest import forget_cache_keys


def request_from(remote="10.0.0.2", forwarded=None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


@pytest.mark.parametrize(
    ("proxies", "remote", "forwarded", "expected"),
    [
        # No trusted proxy: the header is the client's to write, so it is ignored.
        (0, "203.0.113.5", None, "203.0.113.5"),
        (0, "203.0.113.5", "198.51.100.1", "203.0.113.5"),
        # One proxy: the entry it appended (the rightmost); anything left of it was forged.
        (1, "10.0.0.2", "203.0.113.5", "203.0.113.5"),
        (1, "10.0.0.2", "192.0.2.1, 203.0.113.5", "203.0.113.5"),
        (1, "10.0.0.2", "192.0.2.1,203.0.113.5 ", "203.0.113.5"),
        # Two proxies: the outer one's entry, second from the right.
        (2, "10.0.0.3", "192.0.2.1, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        # Fewer entries than proxies, no header, or garbage where the address should be: the peer.
        (2, "10.0.0.3", "203.0.113.5", "10.0.0.3"),
        (1, "10.0.0.2", None, "10.0.0.2"),
        (1, "10.0.0.2", "", "10.0.0.2"),
        (1, "10.0.0.2", "192.0.2.1, not-an-address", "10.0.0.2"),
        # Forms some proxies write: a port, IPv6 in brackets; IPv6 is canonicalised.
        (1, "10.0.0.2", "203.0.113.5:51234", "203.0.113.5"),
        (1, "10.0.0.2", "[2001:DB8::1]:443", "2001:db8::1"),
        (1, "10.0.0.2", "2001:db8:0:0::1", "2001:db8::1"),
    ],
)
def test_client_ip(settings, proxies, remote, forwarded, expected):
    settings.ORGDASH_TRUSTED_PROXY_COUNT = proxies
    assert client_ip(request_from(remote, forwarded)) == expected


def test_no_address_at_all_is_none(settings):
    assert client_ip(request_from(remote="")) is None


# --- the same address everywhere: audit rows and the API-key throttle -------------------------

CLIENT, OTHER_CLIENT, PROXY = "203.0.113.5", "198.51.100.8", "10.0.0.2"


@pytest.fixture
def _clean_api_key_counters():
    forget_cache_keys("api-key-failures")
    yield
    forget_cache_keys("api-key-failures")


def test_behind_a_trusted_proxy_audit_rows_record_the_client(acme_client, acme, settings):
    settings.ORGDASH_TRUSTED_PROXY_COUNT = 1
    through_proxy = {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"192.0.2.1, {CLIENT}"}
    assert acme_client.post("/accounts/login/", {"email": "admin@acme.test", "password": PASSWORD}).status_code == 302
    connection.set_tenant(acme)
    member = Membership.objects.get(email="viewer@acme.test")
    connection.set_schema_to_public()
    response = acme_client.post(f"/api/v1/users/{member.pk}/deactivate/", **through_proxy)
    assert response.status_code == 200
    connection.set_tenant(acme)
    assert AuditEvent.objects.get(action="membership.deactivate", target_membership=member).ip_address == CLIENT


def test_without_a_trusted_proxy_audit_rows_ignore_x_forwarded_for(acme_client, acme):
    assert acme_client.post("/accounts/login/", {"email": "admin@acme.test", "password": PASSWORD}).status_code == 302
    connection.set_tenant(acme)
    member = Membership.objects.get(email="viewer@acme.test")
    connection.set_schema_to_public()
    response = acme_client.post(
        f"/api/v1/users/{member.pk}/deactivate/", REMOTE_ADDR=CLIENT, HTTP_X_FORWARDED_FOR="192.0.2.1"
    )
    assert response.status_code == 200
    connection.set_tenant(acme)
    assert AuditEvent.objects.get(action="membership.deactivate", target_membership=member).ip_address == CLIENT


@pytest.mark.usefixtures("_clean_api_key_counters")
def test_behind_a_trusted_proxy_api_key_guessing_is_counted_per_client(acme_client, settings):
    settings.ORGDASH_TRUSTED_PROXY_COUNT = 1
    settings.ORGDASH_API_KEY_FAILURE_LIMIT = 3

    def guess(client_address):
        return acme_client.get(
            "/api/v1/users/",
            HTTP_AUTHORIZATION="Bearer odk_guess",
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=client_address,
        )

    assert [guess(CLIENT).status_code for _ in range(4)] == [401, 401, 401, 429]
    # Another client behind the same proxy is not the guesser.
    assert guess(OTHER_CLIENT).status_code == 401
