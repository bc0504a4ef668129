"""Django admin for support staff, the rules of the dashboard kept: the last admin stays, access is
changed per org (audited), orgs and people are not added or deleted around their schemas, logging
out lands on a log-in page, and the members page searches, wraps and reports its actions."""

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection

from accounts import selectors
from accounts.models import AuditEvent, Membership
from tests.conftest import PASSWORD
from tests.factories import make_member, make_user

STAFF = "support@orgdash.test"


@pytest.fixture
def staff_public(public_client):
    public_client.post("/admin/login/", {"username": STAFF, "password": PASSWORD})
    return public_client


@pytest.fixture
def staff_acme(acme_client):
    acme_client.post("/admin/login/", {"username": STAFF, "password": PASSWORD})
    return acme_client


def _membership(org, email) -> Membership:
    connection.set_tenant(org)
    try:
        return Membership.objects.get(email=email)
    finally:
        connection.set_schema_to_public()


def _audit(org, **filters):
    connection.set_tenant(org)
    try:
        return list(AuditEvent.objects.filter(**filters).order_by("id"))
    finally:
        connection.set_schema_to_public()


# --- 1. the last admin's role --------------------------------------------------------------------


def test_demoting_the_last_admin_shows_the_form_again_with_the_rule(staff_acme, acme):
    last_admin = _membership(acme, "admin@acme.test")
    url = f"/admin/accounts/membership/{last_admin.pk}/change/"
    response = staff_acme.post(url, {"role": "member"})
    assert response.status_code == 200
    assert "An organization must keep at least one active admin" in response.content.decode()
    assert _membership(acme, "admin@acme.test").role == "admin"
    assert _audit(acme, action="membership.change_role") == []


def test_a_role_change_goes_through_the_service_with_the_staff_as_actor(staff_acme, acme, in_acme):
    member = make_member(user=make_user(email="promoted-by-support@example.test"))
    connection.set_schema_to_public()
    response = staff_acme.post(f"/admin/accounts/membership/{member.pk}/change/", {"role": "admin"})
    assert response.status_code == 302
    assert _membership(acme, member.email).role == "admin"
    (event,) = _audit(acme, action="membership.change_role", target_membership=member.pk)
    assert event.actor_email == STAFF and event.data == {"old": "member", "new": "admin"}


def test_the_rule_broken_meanwhile_is_an_error_message_not_a_500(staff_acme, acme, monkeypatch):
    # Another admin was there when the form was checked, and gone when the service ran.
    monkeypatch.setattr(selectors, "admin_count", lambda **kwargs: 1)
    last_admin = _membership(acme, "admin@acme.test")
    url = f"/admin/accounts/membership/{last_admin.pk}/change/"
    response = staff_acme.post(url, {"role": "viewer"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].endswith(url)
    assert "An organization must keep at least one active admin" in response.content.decode()
    assert _membership(acme, "admin@acme.test").role == "admin"
    assert not LogEntry.objects.filter(object_id=str(last_admin.pk), content_type__model="membership").exists()


# --- 2. a person's access is changed per org -------------------------------------------------------


def test_is_active_is_read_only_in_the_user_admin(staff_public, acme, in_acme):
    user = make_user(email="kept-active@example.test")
    make_member(user=user)
    connection.set_schema_to_public()
    url = f"/admin/core/user/{user.pk}/change/"
    page = staff_public.get(url).content.decode()
    assert 'name="is_active"' not in page
    assert "deactivate or reactivate the person's membership in the org's dashboard" in page
    form = {
        "email": user.email,
        "username": user.username,
        "name": user.name,
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }  # "is_active" left out: an unticked box
    assert staff_public.post(url, form).status_code == 302
    user.refresh_from_db()
    assert user.is_active


# --- 4, 5, 6. no adding or deleting around the schemas -------------------------------------------


def test_organizations_are_neither_added_nor_deleted_in_admin(staff_public, acme):
    listing = staff_public.get("/admin/core/organization/").content.decode()
    assert "manage.py create_org" in listing and "/admin/core/organization/add/" not in listing
    assert staff_public.get("/admin/core/organization/add/").status_code == 403
    assert staff_public.get(f"/admin/core/organization/{acme.pk}/delete/").status_code == 403
    assert "/delete/" not in staff_public.get(f"/admin/core/organization/{acme.pk}/change/").content.decode()


def test_users_are_not_deleted_in_admin(staff_public, acme, in_acme):
    user = make_user(email="not-deleted@example.test")
    make_member(user=user)
    connection.set_schema_to_public()
    assert staff_public.get(f"/admin/core/user/{user.pk}/delete/").status_code == 403
    listing = staff_public.get("/admin/core/user/").content.decode()
    assert "delete_selected" not in listing
    response = staff_public.post("/admin/core/user/", {"action": "delete_selected", "_selected_action": [user.pk]})
    assert response.status_code in (200, 302)
    user.refresh_from_db()


# --- 7. logging out lands on a log-in page -------------------------------------------------------


def test_logging_out_of_admin_on_the_public_host_lands_on_the_admin_log_in(staff_public):
    response = staff_public.post("/admin/logout/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/admin/login/")


def test_logging_out_of_admin_on_an_org_host_lands_on_the_orgs_log_in(staff_acme):
    response = staff_acme.post("/admin/logout/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0].startswith("/accounts/login/")


# --- 8. the members page --------------------------------------------------------------------------


def _members_url(org):
    return f"/admin/core/organization/{org.pk}/members/"


def test_members_page_searches_name_and_username_in_any_case(staff_public, acme, in_acme):
    make_member(user=make_user(email="zed.found@example.test", name="Zebulon Quartermaine"))
    connection.set_schema_to_public()
    for query in ("zebulon quarter", "QUARTERMAINE", "zed.found@EXAMPLE"):
        page = staff_public.get(_members_url(acme), {"q": query}).content.decode()
        assert "zed.found@example.test" in page and "member@acme.test" not in page, query
    username = _membership(acme, "zed.found@example.test").username
    assert "zed.found@example.test" in staff_public.get(_members_url(acme), {"q": username.upper()}).content.decode()


def test_members_page_wraps_long_text(staff_public, acme, in_acme):
    make_member(user=make_user(email="long.name@example.test", name="W" * 200))
    connection.set_schema_to_public()
    page = staff_public.get(_members_url(acme)).content.decode()
    assert 'class="orgdash-wrap"' in page and "orgdash/admin.css" in page
    css = staff_public.get("/static/orgdash/admin.css")
    assert b"overflow-wrap: anywhere" in b"".join(css.streaming_content if css.streaming else [css.content])


def test_bulk_reactivate_says_how_many_and_audits_each(staff_acme, acme, in_acme):
    gone = [
        make_member(user=make_user(email=f"bulk-gone-{n}@example.test"), state=Membership.State.DEACTIVATED)
        for n in range(2)
    ]
    active = make_member(user=make_user(email="bulk-active@example.test"))
    connection.set_schema_to_public()
    response = staff_acme.post(
        "/admin/accounts/membership/",
        {"action": "reactivate_selected", "_selected_action": [m.pk for m in [*gone, active]]},
        follow=True,
    )
    page = response.content.decode()
    assert "2 were reactivated." in page and "1 was skipped: they were not deactivated." in page
    events = _audit(acme, action="membership.reactivate", target_membership__in=[m.pk for m in gone])
    assert len(events) == 2 and {e.actor_email for e in events} == {STAFF}


def test_bulk_resend_says_how_many_and_audits_each(staff_acme, acme, in_acme, django_capture_on_commit_callbacks):
    from accounts import services

    invited = services.invite_create(emails=["bulk-resend-1@example.test", "bulk-resend-2@example.test"]).invited
    invites = list(Membership.objects.filter(pk__in=[m.pk for m in invited]).values_list("invite__pk", flat=True))
    connection.set_schema_to_public()
    with django_capture_on_commit_callbacks(execute=False):
        response = staff_acme.post(
            "/admin/accounts/invite/", {"action": "resend_selected", "_selected_action": invites}, follow=True
        )
    assert "2 were sent a new invite." in response.content.decode()
    events = _audit(acme, action="invite.resend", target_membership__in=[m.pk for m in invited])
    assert len(events) == 2 and {e.actor_email for e in events} == {STAFF}


def test_overview_says_one_organization(staff_public):
    page = staff_public.get("/admin/core/organization/overview/", {"q": "acme"}).content.decode()
    assert "(1 organization)" in page


def test_support_unlocks_a_locked_out_admin_and_it_is_audited(staff_acme, acme, settings):
    from django.test import Client

    from tests.conftest import host_of

    settings.ORGDASH_LOGIN_FAILURE_LIMIT = 3
    connection.set_tenant(acme)
    locked = make_member(user=make_user(email="locked-admin@example.test"), role="admin")
    other = make_member(user=make_user(email="not-locked@example.test"))
    connection.set_schema_to_public()
    guesser = Client(HTTP_HOST=host_of("acme"))
    answers = [
        guesser.post("/accounts/login/", {"email": "locked-admin@example.test", "password": "wrong"}).status_code
        for _ in range(3)
    ]
    assert answers[-1] == 429
    # One mistyped password of another member: counted, not a lock, so not "unlocked" below.
    guesser.post("/accounts/login/", {"email": "not-locked@example.test", "password": "wrong"})
    owner = Client(HTTP_HOST=host_of("acme"))
    refused = owner.post("/accounts/login/", {"email": "locked-admin@example.test", "password": PASSWORD})
    assert refused.status_code == 429  # locked, even with the right password

    response = staff_acme.post(
        "/admin/accounts/membership/",
        {"action": "unlock_selected", "_selected_action": [locked.pk, other.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "1 was unlocked." in page and "1 was skipped: their log-in was not locked." in page
    assert (
        owner.post("/accounts/login/", {"email": "locked-admin@example.test", "password": PASSWORD}).status_code == 302
    )
    [event] = _audit(acme, action="login.unlocked", target_membership=locked.pk)
    assert event.actor_email == STAFF
    assert not _audit(acme, action="login.unlocked", target_membership=other.pk)


def test_bulk_actions_need_the_change_permission(acme, settings):
    """A staff account that may only view memberships is not offered the actions that change them."""
    from django.contrib.auth.models import Permission
    from django.test import Client

    from tests.conftest import host_of

    viewer = make_user(email="view-only-staff@example.test")
    viewer.is_staff = True
    viewer.save(update_fields=["is_staff"])
    viewer.user_permissions.add(Permission.objects.get(codename="view_membership"))
    client = Client(HTTP_HOST=host_of("acme"))
    client.post("/admin/login/", {"username": viewer.email, "password": PASSWORD})
    connection.set_tenant(acme)
    member = make_member(state=Membership.State.DEACTIVATED)
    connection.set_schema_to_public()
    page = client.get("/admin/accounts/membership/")
    assert page.status_code == 200
    assert "reactivate_selected" not in page.content.decode() and "unlock_selected" not in page.content.decode()
    client.post("/admin/accounts/membership/", {"action": "reactivate_selected", "_selected_action": [member.pk]})
    assert _membership(acme, member.email).state == Membership.State.DEACTIVATED
