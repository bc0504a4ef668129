"""The SCIM token: made by the command or the Provisioning page, shown once, rotated, and good for
/scim/v2/ only; nothing else opens /scim/v2/."""

import io
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from accounts.models import ApiKey, AuditEvent
from tests.accounts.conftest import bearer, key_for
from tests.conftest import host_of, login
from tests.scim.conftest import ScimClient, new_user, token_for

pytestmark = pytest.mark.django_db


def in_org(org, query):
    connection.set_tenant(org)
    try:
        return query()
    finally:
        connection.set_schema_to_public()


def test_create_api_key_scim_prints_a_token_and_rotating_ends_the_previous_one(acme):
    first, second = io.StringIO(), io.StringIO()
    call_command("create_api_key", "--org", "acme", "--scim", stdout=first)
    old = first.getvalue().strip()
    assert ScimClient("acme", old).get("Users?count=1").status_code == 200
    call_command("create_api_key", "--org", "acme", "--scim", stdout=second)
    new = second.getvalue().strip()
    assert new != old
    assert ScimClient("acme", old).get("Users?count=1").status_code == 401
    assert ScimClient("acme", new).get("Users?count=1").status_code == 200
    live = in_org(acme, lambda: ApiKey.objects.filter(kind=ApiKey.Kind.SCIM, revoked_at=None).count())
    assert live == 1
    secrets_stored = in_org(acme, lambda: list(ApiKey.objects.values_list("key_hash", flat=True)))
    assert new not in secrets_stored  # only the hash is kept


def test_the_scim_token_is_refused_outside_scim(acme):
    token = token_for(acme)
    client = Client(HTTP_HOST=host_of("acme"))
    for path in ("/api/v1/users/", "/api/v1/api-keys/", "/api/v1/users/counts/"):
        response = client.get(path, **bearer(token))
        assert response.status_code == 401, path
        assert "SCIM" in response.json()["detail"]
    assert client.get("/org/dashboard/", **bearer(token)).status_code == 302  # pages need a session


def test_keys_and_sessions_are_refused_on_scim(acme):
    for key in (key_for(acme, "admin@acme.test"), key_for(acme, None)):
        response = ScimClient("acme", key).get("Users")
        assert response.status_code == 401 and response.json_body["status"] == "401"
    admin = Client(HTTP_HOST=host_of("acme"))
    assert login(admin, "admin@acme.test").status_code == 302
    response = admin.get("/scim/v2/Users")
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"
    assert ScimClient("acme", None).get("ServiceProviderConfig").status_code == 401


def test_an_orgs_token_sees_nothing_of_another_org(acme, globex):
    globex_scim = ScimClient("globex", token_for(globex))
    acme_scim = ScimClient("acme", token_for(acme))
    acme_user = acme_scim.post("Users", new_user("acme.only@example.com")).json_body
    # globex's token on acme's host is invalid there; on its own host it lists globex only.
    assert ScimClient("acme", globex_scim.token).get("Users").status_code == 401
    listed = globex_scim.get("Users?count=500").json_body
    assert {r["userName"] for r in listed["Resources"]} == {"admin@globex.test"}
    assert globex_scim.get(f"Users/{acme_user['id']}").status_code in (404,)
    assert globex_scim.get(f"Users/{acme_user['id']}").json_body.get("userName") is None
    assert b"acme" not in globex_scim.get("Users?filter=userName%20eq%20%22acme.only@example.com%22").content


def test_provisioning_page_creates_shows_once_and_rotates(acme):
    admin = Client(HTTP_HOST=host_of("acme"))
    assert login(admin, "admin@acme.test").status_code == 302
    page = admin.get("/org/dashboard/settings/provisioning/")
    assert page.status_code == 200
    assert b"http://acme.localhost/scim/v2" in page.content and b"No token yet" in page.content
    created = admin.post("/org/dashboard/settings/provisioning/")
    assert created.status_code == 200 and created["Cache-Control"] == "no-store"
    assert b"previous token has stopped working" not in created.content
    secret = re.search(rb'id="scim-new-token" type="text" readonly value="([^"]+)"', created.content).group(1).decode()
    assert ScimClient("acme", secret).get("Users?count=1").status_code == 200
    again = admin.get("/org/dashboard/settings/provisioning/")
    assert secret.encode() not in again.content and b"never used" not in again.content  # shown once; used just now
    assert secret[:12].encode() in again.content  # its prefix identifies it
    rotated = admin.post("/org/dashboard/settings/provisioning/")
    assert b"The previous token has stopped working" in rotated.content
    assert ScimClient("acme", secret).get("Users?count=1").status_code == 401
    actions = in_org(
        acme,
        lambda: list(AuditEvent.objects.filter(action__startswith="scim_token.").values_list("action", "actor_email")),
    )
    assert ("scim_token.create", "admin@acme.test") in actions and ("scim_token.rotate", "admin@acme.test") in actions


def test_provisioning_page_is_for_admins(acme):
    member = Client(HTTP_HOST=host_of("acme"))
    assert login(member, "member@acme.test").status_code == 302
    assert member.get("/org/dashboard/settings/provisioning/").status_code == 403
    assert member.post("/org/dashboard/settings/provisioning/").status_code == 403
    assert Client(HTTP_HOST=host_of("acme")).get("/org/dashboard/settings/provisioning/").status_code == 302
    assert in_org(acme, lambda: ApiKey.objects.filter(kind=ApiKey.Kind.SCIM).count()) == 0
