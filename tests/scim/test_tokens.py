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


PAGE = "/org/dashboard/settings/provisioning/"
SECRET = re.compile(rb'id="scim-new-token"[^>]*\svalue="([^"]+)"')


def admin_client() -> Client:
    admin = Client(HTTP_HOST=host_of("acme"))
    assert login(admin, "admin@acme.test").status_code == 302
    return admin


def shown_secret(response) -> str | None:
    found = SECRET.search(response.content)
    return found.group(1).decode() if found else None


def scim_tokens(org) -> list[tuple[int, bool]]:
    """(id, live) of each SCIM token the org has ever had, oldest first."""
    rows = in_org(org, lambda: list(ApiKey.objects.filter(kind=ApiKey.Kind.SCIM).order_by("id")))
    return [(row.pk, row.revoked_at is None) for row in rows]


def scim_token_audit(org) -> list[tuple[str, str]]:
    return in_org(
        org,
        lambda: list(
            AuditEvent.objects.filter(action__startswith="scim_token.")
            .order_by("id")
            .values_list("action", "actor_email")
        ),
    )


def create_on_page(admin: Client) -> str:
    """Makes the org's first token on the page and reads its secret off the page it leads to."""
    created = admin.post(PAGE)
    assert created.status_code == 302 and created["Location"] == PAGE
    return shown_secret(admin.get(PAGE))


def test_creating_a_token_redirects_and_the_next_page_shows_its_secret_once(acme):
    admin = admin_client()
    page = admin.get(PAGE)
    assert page.status_code == 200
    assert b"http://acme.localhost/scim/v2" in page.content and b"No token yet" in page.content
    assert shown_secret(page) is None and b'id="scim-rotate">Create token<' in page.content

    created = admin.post(PAGE)
    assert created.status_code == 302 and created["Location"] == PAGE
    assert "no-store" in created["Cache-Control"]
    assert SECRET.search(created.content) is None  # the secret never rides in the redirect itself
    [(_, live)] = scim_tokens(acme)
    assert live

    shown = admin.get(PAGE)
    assert shown.status_code == 200 and "no-store" in shown["Cache-Control"]
    secret = shown_secret(shown)
    assert secret and secret.startswith("odk_")
    assert b"shown only this once" in shown.content and b"previous token has stopped working" not in shown.content
    assert b'<label class="provisioning-label" for="scim-new-token">' in shown.content
    assert ScimClient("acme", secret).get("Users?count=1").status_code == 200

    again = admin.get(PAGE)
    assert secret.encode() not in again.content and shown_secret(again) is None  # shown once
    assert secret[:12].encode() in again.content and b"never used" not in again.content  # its prefix; used just now
    assert scim_token_audit(acme) == [("scim_token.create", "admin@acme.test")]


def test_reloading_the_page_creates_nothing_and_the_secret_keeps_working(acme):
    admin = admin_client()
    secret = create_on_page(admin)
    tokens = scim_tokens(acme)
    for _ in range(3):  # reloads, and back/forward to the page the post led to
        assert shown_secret(admin.get(PAGE)) is None
    assert scim_tokens(acme) == tokens and len(tokens) == 1
    assert ScimClient("acme", secret).get("Users?count=1").status_code == 200
    assert scim_token_audit(acme) == [("scim_token.create", "admin@acme.test")]


def test_rotating_without_confirmation_changes_nothing_and_leads_to_the_confirm_step(acme):
    admin = admin_client()
    secret = create_on_page(admin)
    tokens = scim_tokens(acme)
    page = admin.get(PAGE)
    assert b"Rotate token\xe2\x80\xa6" in page.content and b"stops working at once" in page.content

    for data in ({}, {"confirm": ""}, {"confirm": "yes"}):
        refused = admin.post(PAGE, data)
        assert refused.status_code == 302 and refused["Location"] == f"{PAGE}?confirm=rotate"
    assert scim_tokens(acme) == tokens
    assert ScimClient("acme", secret).get("Users?count=1").status_code == 200
    assert scim_token_audit(acme) == [("scim_token.create", "admin@acme.test")]

    # The confirm step: it names the consequence and posts the confirmation; showing it changes nothing.
    step = admin.get(f"{PAGE}?confirm=rotate")
    assert step.status_code == 200 and shown_secret(step) is None
    assert b"Rotate the SCIM token?" in step.content
    assert b"stops working at once" in step.content and b"identity provider is given the new token" in step.content
    assert b'<input type="hidden" name="confirm" value="rotate">' in step.content
    assert b'id="scim-rotate-cancel"' in step.content and f'href="{PAGE}"'.encode() in step.content
    assert scim_tokens(acme) == tokens


def test_confirmed_rotation_revokes_the_old_secret_and_shows_the_new_one_once(acme):
    admin = admin_client()
    old = create_on_page(admin)
    [(old_id, _)] = scim_tokens(acme)

    rotated = admin.post(PAGE, {"confirm": "rotate"})
    assert rotated.status_code == 302 and rotated["Location"] == PAGE
    assert ScimClient("acme", old).get("Users?count=1").status_code == 401
    response = ScimClient("acme", old).get("Users?count=1")
    assert response.json_body["status"] == "401"
    [(_, revoked), (new_id, live)] = scim_tokens(acme)
    assert not revoked and live and new_id != old_id

    shown = admin.get(PAGE)
    new = shown_secret(shown)
    assert new and new != old and b"The previous token has stopped working" in shown.content
    assert ScimClient("acme", new).get("Users?count=1").status_code == 200
    again = admin.get(PAGE)
    assert shown_secret(again) is None and new.encode() not in again.content
    assert scim_tokens(acme) == [(old_id, False), (new_id, True)]
    assert scim_token_audit(acme) == [
        ("scim_token.create", "admin@acme.test"),
        ("scim_token.rotate", "admin@acme.test"),
    ]


def test_a_new_secret_revoked_before_it_is_shown_is_not_offered(acme):
    """Two rotations racing (a double click, two admins): the page never offers a dead secret."""
    admin = admin_client()
    assert admin.post(PAGE).status_code == 302
    token_for(acme)  # another rotation lands before the redirect is followed
    page = admin.get(PAGE)
    assert shown_secret(page) is None and b'id="scim-superseded"' in page.content
    assert b'id="scim-superseded"' not in admin.get(PAGE).content


def test_provisioning_page_is_for_admins(acme):
    member = Client(HTTP_HOST=host_of("acme"))
    assert login(member, "member@acme.test").status_code == 302
    assert member.get("/org/dashboard/settings/provisioning/").status_code == 403
    assert member.post("/org/dashboard/settings/provisioning/").status_code == 403
    assert member.post("/org/dashboard/settings/provisioning/", {"confirm": "rotate"}).status_code == 403
    assert Client(HTTP_HOST=host_of("acme")).get("/org/dashboard/settings/provisioning/").status_code == 302
    assert in_org(acme, lambda: ApiKey.objects.filter(kind=ApiKey.Kind.SCIM).count()) == 0
