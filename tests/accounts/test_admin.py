"""Django admin for support staff: an org's members and invites from the public host, with actions
going through the services; which orgs a user belongs to; tenant models on org hosts."""

import re

import pytest
from django.core import mail
from django.db import connection

from accounts import services
from accounts.models import AuditEvent, Invite, Membership
from tests.conftest import PASSWORD, login
from tests.factories import make_member, make_user


@pytest.fixture
def staff_public(public_client):
    public_client.post("/admin/login/", {"username": "support@orgdash.test", "password": PASSWORD})
    return public_client


def _members_url(org):
    return f"/admin/core/organization/{org.pk}/members/"


def test_org_change_page_links_to_members(staff_public, acme):
    page = staff_public.get(f"/admin/core/organization/{acme.pk}/change/")
    assert page.status_code == 200
    assert _members_url(acme).encode() in page.content


def test_members_page_lists_and_searches_by_email(staff_public, acme, in_acme):
    services.invite_create(emails=["support-visible@example.test"])
    connection.set_schema_to_public()
    page = staff_public.get(_members_url(acme))
    assert page.status_code == 200
    for email in (b"admin@acme.test", b"member@acme.test", b"support-visible@example.test"):
        assert email in page.content
    assert b"Invite pending" in page.content and b"admin@globex.test" not in page.content
    searched = staff_public.get(_members_url(acme), {"q": "support-vis"})
    assert b"support-visible@example.test" in searched.content and b"member@acme.test" not in searched.content


def test_resend_invite_action_uses_the_service(
    staff_public, acme, in_acme, eager_tasks, django_capture_on_commit_callbacks
):
    result = services.invite_create(emails=["staff-resend@example.test"])
    membership = result.invited[0]
    old_hash = Invite.objects.get(membership=membership).token_hash
    connection.set_schema_to_public()
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_public.post(_members_url(acme), {"action": "resend", "membership": membership.pk})
    assert response.status_code == 302
    connection.set_tenant(acme)
    assert Invite.objects.get(membership=membership).token_hash != old_hash
    event = AuditEvent.objects.get(action="invite.resend", target_membership=membership)
    assert event.actor_email == "support@orgdash.test" and event.ip_address == "127.0.0.1"
    assert mail.outbox and re.search(r"http://acme\.localhost:8000/invite/", mail.outbox[-1].body)


def test_reactivate_action_uses_the_service(staff_public, acme, in_acme):
    gone = make_member(user=make_user(email="staff-reactivate@example.test"), state=Membership.State.DEACTIVATED)
    connection.set_schema_to_public()
    staff_public.post(_members_url(acme), {"action": "reactivate", "membership": gone.pk})
    connection.set_tenant(acme)
    gone.refresh_from_db()
    assert gone.state == Membership.State.JOINED
    assert AuditEvent.objects.get(action="membership.reactivate", target_membership=gone).actor_email == (
        "support@orgdash.test"
    )


def test_members_page_is_for_staff_only(public_client, acme):
    assert public_client.get(_members_url(acme)).status_code == 302  # to the admin login
    public_client.post("/admin/login/", {"username": "admin@acme.test", "password": PASSWORD})
    assert public_client.get(_members_url(acme)).status_code == 302


def test_user_admin_shows_organizations(staff_public, acme, globex):
    connection.set_tenant(globex)
    user = make_user(email="two-orgs@example.test")
    make_member(user=user)
    connection.set_tenant(acme)
    make_member(user=user, role="viewer")
    connection.set_schema_to_public()
    listing = staff_public.get("/admin/core/user/", {"q": "two-orgs"})
    assert listing.status_code == 200
    assert b"Acme (viewer, joined)" in listing.content and b"Globex (member, joined)" in listing.content
    page = staff_public.get(f"/admin/core/user/{user.pk}/change/")
    assert b"Acme (viewer, joined)" in page.content and b"Globex (member, joined)" in page.content


def test_tenant_models_in_admin_on_the_org_host(acme_client, in_acme):
    make_member(user=make_user(email="in-admin@example.test"))
    connection.set_schema_to_public()
    acme_client.post("/admin/login/", {"username": "support@orgdash.test", "password": PASSWORD})
    assert b"in-admin@example.test" in acme_client.get("/admin/accounts/membership/").content
    assert acme_client.get("/admin/accounts/auditevent/").status_code == 200
    assert acme_client.get("/admin/accounts/auditevent/add/").status_code == 403
    assert acme_client.get("/admin/accounts/apikey/").status_code == 200
    assert acme_client.get("/admin/accounts/invite/").status_code == 200


def test_tenant_models_are_hidden_on_the_public_host(staff_public):
    index = staff_public.get("/admin/")
    assert b"/admin/accounts/membership/" not in index.content
    assert staff_public.get("/admin/accounts/membership/").status_code == 403


def test_org_admin_cannot_use_django_admin(acme_client):
    assert login(acme_client, "admin@acme.test").status_code == 302
    response = acme_client.get("/admin/accounts/membership/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_support_renaming_a_user_updates_every_orgs_copy(staff_public, acme, globex):
    connection.set_tenant(globex)
    user = make_user(email="renamed-by-support@example.test", name="Old Name")
    make_member(user=user)
    connection.set_tenant(acme)
    make_member(user=user)
    connection.set_schema_to_public()
    form = {
        "email": "renamed-by-support@example.test",
        "username": "renamed-by-support",
        "name": "New Name",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = staff_public.post(f"/admin/core/user/{user.pk}/change/", form)
    assert response.status_code == 302, response.content[:2000]
    for org in (acme, globex):
        connection.set_tenant(org)
        copy = Membership.objects.get(user=user)
        assert (copy.name, copy.username) == ("New Name", "renamed-by-support")
        assert Membership.objects.filter(search_text__contains="NEW NAME").exists()
    connection.set_schema_to_public()
