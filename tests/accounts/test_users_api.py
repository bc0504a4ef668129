"""Users endpoints: role changes, deactivation and reactivation, who may call them, and isolation."""

import pytest
from django.db import connection
from django.test import Client

from accounts.models import AuditEvent, Membership, Role
from tests.accounts.conftest import bearer, key_for
from tests.conftest import host_of, login
from tests.factories import make_member, make_pending_invite, make_user

ADMIN_ENDPOINTS = [
    ("get", "/api/v1/users/"),
    ("get", "/api/v1/users/counts/"),
    ("get", "/api/v1/users/export.csv"),
    ("get", "/api/v1/users/{id}/"),
    ("patch", "/api/v1/users/{id}/"),
    ("post", "/api/v1/users/{id}/deactivate/"),
    ("post", "/api/v1/users/{id}/reactivate/"),
    ("post", "/api/v1/invites/"),
    ("post", "/api/v1/invites/{invite}/resend/"),
    ("delete", "/api/v1/invites/{invite}/"),
]


def _call(client, method, url, **extra):
    body = {"role": "viewer"} if method == "patch" else {"emails": ["x@example.test"]} if "invites/" in url else {}
    return getattr(client, method)(url, body, content_type="application/json", **extra)


@pytest.fixture
def targets(in_acme):
    target = make_member()
    invite = make_pending_invite()
    connection.set_schema_to_public()
    return {"id": target.pk, "invite": invite.pk}


def _assert_untouched(acme, targets):
    connection.set_tenant(acme)
    target = Membership.objects.get(pk=targets["id"])
    assert target.role == Role.MEMBER and target.state == Membership.State.JOINED
    assert Membership.objects.filter(pk=targets["invite"], state=Membership.State.INVITED).exists()
    assert not Membership.objects.filter(email="x@example.test").exists()


@pytest.mark.parametrize(("method", "url"), ADMIN_ENDPOINTS)
def test_anonymous_gets_401(acme_client, acme, targets, method, url):
    response = _call(acme_client, method, url.format(**targets))
    assert response.status_code == 401
    assert response.json()["detail"] and response["WWW-Authenticate"] == "Bearer"
    _assert_untouched(acme, targets)


@pytest.mark.parametrize(("method", "url"), ADMIN_ENDPOINTS)
@pytest.mark.parametrize("email", ["member@acme.test", "viewer@acme.test"])
def test_members_and_viewers_get_403(acme_client, acme, targets, method, url, email):
    assert login(acme_client, email).status_code == 302
    assert _call(acme_client, method, url.format(**targets)).status_code == 403
    # ... and with their own API key too.
    assert (
        _call(
            Client(HTTP_HOST=host_of("acme")), method, url.format(**targets), **bearer(key_for(acme, email))
        ).status_code
        == 403
    )
    _assert_untouched(acme, targets)


@pytest.mark.parametrize(("method", "url"), ADMIN_ENDPOINTS)
def test_other_orgs_admin_session_and_key_are_refused(globex_client, acme, globex, targets, method, url):
    acme_client = Client(HTTP_HOST=host_of("acme"))
    # globex's admin, logged in at globex, carries that session cookie to acme: not logged in there.
    assert login(globex_client, "admin@globex.test").status_code == 302
    acme_client.cookies = globex_client.cookies
    assert _call(acme_client, method, url.format(**targets)).status_code == 401
    # globex's admin key presented at acme's host.
    response = _call(
        Client(HTTP_HOST=host_of("acme")), method, url.format(**targets), **bearer(key_for(globex, "admin@globex.test"))
    )
    assert response.status_code == 401
    _assert_untouched(acme, targets)


@pytest.mark.parametrize(("method", "url"), ADMIN_ENDPOINTS)
def test_service_key_is_refused(acme, targets, method, url):
    response = _call(Client(HTTP_HOST=host_of("acme")), method, url.format(**targets), **bearer(key_for(acme, None)))
    assert response.status_code == 403
    _assert_untouched(acme, targets)


def test_admin_key_works_and_ids_of_another_org_are_404(acme, globex):
    client = Client(HTTP_HOST=host_of("acme"), **bearer(key_for(acme, "admin@acme.test")))
    assert client.get("/api/v1/users/").status_code == 200
    connection.set_tenant(acme)
    acme_max = Membership.objects.order_by("-pk").values_list("pk", flat=True).first()
    connection.set_tenant(globex)
    # Enough invites that globex holds ids acme has never used.
    Membership.objects.bulk_create(
        Membership(email=f"g{i}@globex.test", state=Membership.State.INVITED) for i in range(acme_max + 3)
    )
    foreign = Membership.objects.order_by("-pk").values_list("pk", flat=True).first()
    connection.set_schema_to_public()
    assert foreign > acme_max
    for method, url in ADMIN_ENDPOINTS:
        if "{" in url:
            response = _call(client, method, url.format(id=foreign, invite=foreign))
            assert response.status_code == 404, url
            assert response.json()["detail"]
            if "users/{id}/" in url:  # the person's endpoints say who is missing, alike
                assert response.json()["detail"] == "No such user in this organization.", url
    assert client.get("/api/v1/users/abc/").status_code == 404
    connection.set_tenant(globex)
    assert Membership.objects.filter(pk=foreign, state=Membership.State.INVITED).exists()


def test_support_staff_may_use_the_users_api(acme_client):
    assert login(acme_client, "support@orgdash.test").status_code == 302
    assert acme_client.get("/api/v1/users/").status_code == 200


def test_change_role(admin_client, in_acme):
    target = make_member()
    response = admin_client.patch(f"/api/v1/users/{target.pk}/", {"role": "admin"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["role"] == "admin"
    target.refresh_from_db()
    assert target.role == Role.ADMIN
    event = AuditEvent.objects.get(action="membership.change_role", target_membership=target)
    assert event.actor_email == "admin@acme.test" and event.ip_address == "127.0.0.1"
    assert event.data == {"old": "member", "new": "admin"}
    # Same role again: no change, no second audit row.
    admin_client.patch(f"/api/v1/users/{target.pk}/", {"role": "admin"}, content_type="application/json")
    assert AuditEvent.objects.filter(action="membership.change_role", target_membership=target).count() == 1
    bad = admin_client.patch(f"/api/v1/users/{target.pk}/", {"role": "god"}, content_type="application/json")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["role"]


def test_pending_invite_role_can_change(admin_client, in_acme):
    invite = make_pending_invite()
    response = admin_client.patch(f"/api/v1/users/{invite.pk}/", {"role": "viewer"}, content_type="application/json")
    assert response.status_code == 200 and response.json()["role"] == "viewer"


def test_last_admin_cannot_be_demoted_or_deactivated(admin_client, in_acme):
    admin = Membership.objects.get(email="admin@acme.test")
    demote = admin_client.patch(f"/api/v1/users/{admin.pk}/", {"role": "member"}, content_type="application/json")
    assert demote.status_code == 409 and "at least one active admin" in demote.json()["detail"]
    deactivate = admin_client.post(f"/api/v1/users/{admin.pk}/deactivate/")
    assert deactivate.status_code == 409
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN and admin.state == Membership.State.JOINED
    # A deactivated admin does not count: with a second admin deactivated, the first is still the last.
    other = make_member(role=Role.ADMIN, state=Membership.State.DEACTIVATED)
    assert admin_client.post(f"/api/v1/users/{admin.pk}/deactivate/").status_code == 409
    # Once another active admin exists, it works.
    admin_client.post(f"/api/v1/users/{other.pk}/reactivate/")
    response = admin_client.patch(f"/api/v1/users/{admin.pk}/", {"role": "member"}, content_type="application/json")
    assert response.status_code == 200


def test_deactivate_and_reactivate_are_idempotent_and_audited(admin_client, in_acme):
    target = make_member()
    first = admin_client.post(f"/api/v1/users/{target.pk}/deactivate/")
    assert first.status_code == 200
    body = first.json()
    assert body["status"] == "deactivated" and body["status_label"] == "Deactivated"
    assert body["deactivated_at"].endswith("Z")
    again = admin_client.post(f"/api/v1/users/{target.pk}/deactivate/")
    assert again.status_code == 200 and again.json()["deactivated_at"] == body["deactivated_at"]
    assert AuditEvent.objects.filter(action="membership.deactivate", target_membership=target).count() == 1
    target.refresh_from_db()
    assert target.deactivated_by.email == "admin@acme.test"
    back = admin_client.post(f"/api/v1/users/{target.pk}/reactivate/")
    assert back.status_code == 200 and back.json()["status"] == "active" and back.json()["deactivated_at"] is None
    assert admin_client.post(f"/api/v1/users/{target.pk}/reactivate/").status_code == 200
    assert AuditEvent.objects.filter(action="membership.reactivate", target_membership=target).count() == 1


def test_reactivated_long_idle_member_is_inactive(admin_client, in_acme):
    from datetime import UTC, datetime

    target = make_member(created_at=datetime(2020, 1, 1, tzinfo=UTC), state=Membership.State.DEACTIVATED)
    assert admin_client.post(f"/api/v1/users/{target.pk}/reactivate/").json()["status"] == "inactive"


def test_deactivating_a_pending_invite_is_a_conflict(admin_client, in_acme):
    invite = make_pending_invite()
    assert admin_client.post(f"/api/v1/users/{invite.pk}/deactivate/").status_code == 409
    assert admin_client.post(f"/api/v1/users/{invite.pk}/reactivate/").status_code == 409


def test_deactivation_ends_sessions_and_keys_at_once_and_reactivation_restores(admin_client, acme, globex):
    connection.set_tenant(acme)
    user = make_user(email="both@example.test")
    membership = make_member(user=user)
    connection.set_tenant(globex)
    make_member(user=user)
    connection.set_schema_to_public()
    key = key_for(acme, "both@example.test")
    session = Client(HTTP_HOST=host_of("acme"))
    assert login(session, "both@example.test").status_code == 302
    globex_session = Client(HTTP_HOST=host_of("globex"))
    assert login(globex_session, "both@example.test").status_code == 302
    keyed = Client(HTTP_HOST=host_of("acme"), **bearer(key))
    assert session.get("/api/v1/api-keys/").status_code == 200
    assert keyed.get("/api/v1/api-keys/").status_code == 200

    assert admin_client.post(f"/api/v1/users/{membership.pk}/deactivate/").status_code == 200
    # The very next request of the existing session and of the key is refused.
    assert session.get("/api/v1/api-keys/").status_code == 401
    assert session.get("/org/dashboard/").status_code == 302
    refused = keyed.get("/api/v1/api-keys/")
    assert refused.status_code == 401 and "deactivated" in refused.json()["detail"]
    # Logging in again is refused with a clear message.
    page = login(Client(HTTP_HOST=host_of("acme")), "both@example.test")
    assert page.status_code == 200 and b"deactivated" in page.content
    # Other orgs are untouched.
    assert globex_session.get("/api/v1/api-keys/").status_code == 200

    assert admin_client.post(f"/api/v1/users/{membership.pk}/reactivate/").status_code == 200
    assert keyed.get("/api/v1/api-keys/").status_code == 200
    assert login(session, "both@example.test").status_code == 302
    assert session.get("/api/v1/api-keys/").status_code == 200
