"""API keys: own keys over the API (shown once, hashed, revocable), the command, host binding."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import ApiKey, AuditEvent, Membership
from accounts.selectors import live_api_key
from accounts.services import api_key_create
from orgdash.core.keys import hash_api_key
from tests.accounts.conftest import bearer, key_for
from tests.conftest import host_of, login


@pytest.fixture
def member_client(acme_client):
    assert login(acme_client, "member@acme.test").status_code == 302
    return acme_client


def test_member_creates_lists_uses_and_revokes_own_key(member_client, acme):
    created = member_client.post("/api/v1/api-keys/", {"label": "laptop"}, content_type="application/json")
    assert created.status_code == 201
    body = created.json()
    secret = body["key"]
    assert secret.startswith(body["prefix"]) and body["label"] == "laptop"
    listed = member_client.get("/api/v1/api-keys/").json()
    assert [k["id"] for k in listed] == [body["id"]]
    assert "key" not in listed[0]  # the secret is never shown again
    connection.set_tenant(acme)
    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in stored.key_hash
    assert AuditEvent.objects.filter(action="api_key.create", target_repr="member@acme.test").exists()
    keyed = Client(HTTP_HOST=host_of("acme"), **bearer(secret))
    assert keyed.get("/api/v1/api-keys/").status_code == 200
    assert keyed.get("/api/v1/users/").status_code == 403  # a member's key is a member
    assert member_client.delete(f"/api/v1/api-keys/{body['id']}/").status_code == 204
    assert keyed.get("/api/v1/api-keys/").status_code == 401
    assert member_client.delete(f"/api/v1/api-keys/{body['id']}/").status_code == 404
    assert member_client.get("/api/v1/api-keys/").json() == []


def test_keys_of_others_are_invisible_and_cannot_be_revoked(member_client, acme):
    other_secret = key_for(acme, "viewer@acme.test")
    connection.set_tenant(acme)
    other = ApiKey.objects.get(key_hash=hashlib.sha256(other_secret.encode()).hexdigest())
    connection.set_schema_to_public()
    assert member_client.get("/api/v1/api-keys/").json() == []
    assert member_client.delete(f"/api/v1/api-keys/{other.pk}/").status_code == 404
    assert Client(HTTP_HOST=host_of("acme"), **bearer(other_secret)).get("/api/v1/api-keys/").status_code == 200


def test_api_key_endpoints_refuse_anonymous_staff_without_membership_and_service_keys(acme_client, acme):
    assert acme_client.get("/api/v1/api-keys/").status_code == 401
    assert acme_client.post("/api/v1/api-keys/", {}, content_type="application/json").status_code == 401
    service = Client(HTTP_HOST=host_of("acme"), **bearer(key_for(acme, None)))
    assert service.get("/api/v1/api-keys/").status_code == 403
    assert login(acme_client, "support@orgdash.test").status_code == 302
    assert acme_client.get("/api/v1/api-keys/").status_code == 403
    too_long = acme_client.post("/api/v1/api-keys/", {"label": "x" * 101}, content_type="application/json")
    assert too_long.status_code == 403, "permission is checked before the body is read"


def test_label_validation(member_client):
    response = member_client.post("/api/v1/api-keys/", {"label": "x" * 101}, content_type="application/json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["label"]


def test_a_key_works_only_on_its_own_orgs_host(acme, globex, public_client):
    secret = key_for(acme, "admin@acme.test")
    assert Client(HTTP_HOST=host_of("acme"), **bearer(secret)).get("/api/v1/users/").status_code == 200
    assert Client(HTTP_HOST=host_of("globex"), **bearer(secret)).get("/api/v1/users/").status_code == 401
    garbage = Client(HTTP_HOST=host_of("acme"), HTTP_AUTHORIZATION="Bearer odk_not-a-key")
    assert garbage.get("/api/v1/users/").status_code == 401


def test_create_api_key_command_prints_a_working_key(acme):
    out = StringIO()
    call_command("create_api_key", "--org", "acme", "--email", "ADMIN@acme.test", stdout=out)
    secret = out.getvalue().strip()
    assert secret.startswith("odk_")
    connection.set_schema_to_public()
    assert Client(HTTP_HOST=host_of("acme"), **bearer(secret)).get("/api/v1/users/").status_code == 200


def test_create_api_key_command_service_key(acme):
    out = StringIO()
    call_command("create_api_key", "--org", "acme", "--service", "--label", "ingest", stdout=out)
    secret = out.getvalue().strip()
    connection.set_tenant(acme)
    key = ApiKey.objects.get(key_hash=hashlib.sha256(secret.encode()).hexdigest())
    assert key.kind == ApiKey.Kind.SERVICE and key.membership is None and key.label == "ingest"
    connection.set_schema_to_public()
    assert Client(HTTP_HOST=host_of("acme"), **bearer(secret)).get("/api/v1/users/").status_code == 403


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "nope", "--email", "admin@acme.test"], "No organization"),
        (["--org", "acme", "--email", "stranger@example.test"], "not a member"),
        (["--org", "acme", "--email", "admin@globex.test"], "not a member"),
    ],
)
def test_create_api_key_command_errors(acme, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_api_key", *args, stdout=StringIO())


def test_key_lookup_loads_the_membership_and_user_and_skips_revoked_keys(in_acme, django_assert_num_queries):
    member = Membership.objects.select_related("user").get(email="member@acme.test")
    personal, personal_secret = api_key_create(membership=member, label="script")
    service, service_secret = api_key_create(membership=None, label="ingest")

    with django_assert_num_queries(1):
        found = live_api_key(key_hash=hash_api_key(personal_secret))
        assert found == personal and found.membership == member and found.membership.user == member.user
        assert found.membership.state == member.state and found.membership.user.email == "member@acme.test"
    found = live_api_key(key_hash=hash_api_key(service_secret))
    assert found == service and found.kind == ApiKey.Kind.SERVICE and found.membership is None

    ApiKey.objects.filter(pk=personal.pk).update(revoked_at=timezone.now())
    assert live_api_key(key_hash=hash_api_key(personal_secret)) is None
    assert live_api_key(key_hash=hash_api_key("no such key")) is None


def test_the_prepared_key_lookup_answers_for_the_org_of_each_request(acme, globex):
    """The lookup is a prepared statement of the connection; requests of two orgs alternate on
    that one connection (another search_path each time), and each key still works on its own
    org's host only, and stops working the moment it is revoked."""
    acme_secret, globex_secret = key_for(acme, "admin@acme.test"), key_for(globex, "admin@globex.test")
    on_acme, on_globex = Client(HTTP_HOST=host_of("acme")), Client(HTTP_HOST=host_of("globex"))
    for _ in range(8):  # past the fifth run, where PostgreSQL may switch to a generic plan
        assert on_acme.get("/api/v1/users/", **bearer(acme_secret)).status_code == 200
        assert on_globex.get("/api/v1/users/", **bearer(globex_secret)).status_code == 200
        assert on_globex.get("/api/v1/users/", **bearer(acme_secret)).status_code == 401
        assert on_acme.get("/api/v1/users/", **bearer(globex_secret)).status_code == 401
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%key_hash%%'")
        assert cursor.fetchone()[0] == 1
    with CaptureQueriesContext(connection) as queries:  # logged with its parameter, as any statement is
        on_acme.get("/api/v1/users/", **bearer(acme_secret))
    assert any(f"'{hash_api_key(acme_secret)}'" in query["sql"] for query in queries.captured_queries)

    connection.set_tenant(acme)
    ApiKey.objects.filter(key_hash=hash_api_key(acme_secret)).update(revoked_at=timezone.now())
    connection.set_schema_to_public()
    assert on_acme.get("/api/v1/users/", **bearer(acme_secret)).status_code == 401
    assert on_globex.get("/api/v1/users/", **bearer(globex_secret)).status_code == 200
