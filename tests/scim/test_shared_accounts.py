"""Accounts shared by several orgs: one org's identity provider never changes their log-in identity."""

import pytest
from django.db import connection
from django.test import Client

from accounts.models import Membership
from accounts.services import SharedAccount, membership_change_email
from tests.conftest import host_of, login
from tests.factories import make_member, make_user
from tests.scim.conftest import new_user, patch_ops

pytestmark = pytest.mark.django_db
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def in_org(org, query):
    connection.set_tenant(org)
    try:
        return query()
    finally:
        connection.set_schema_to_public()


def assert_refused_as_shared(response):
    assert response.status_code == 400, response.content
    body = response.json_body
    assert body["schemas"] == [ERROR] and body["status"] == "400" and body["scimType"] == "mutability"
    assert "other organizations" in body["detail"]


def test_another_orgs_admin_cannot_be_taken_over_by_changing_their_email(scim, acme, globex):
    created = scim.post("Users", new_user("victim", emails=[{"value": "admin@globex.test", "primary": True}]))
    assert created.status_code == 201, created.content
    user_id = created.json_body["id"]
    hijack = {"op": "replace", "path": 'emails[type eq "work"].value', "value": "hijacked@evil.test"}
    assert_refused_as_shared(scim.patch(f"Users/{user_id}", patch_ops(hijack)))
    replace_all = {"op": "replace", "path": "emails", "value": [{"value": "hijacked@evil.test", "primary": True}]}
    assert_refused_as_shared(scim.patch(f"Users/{user_id}", patch_ops(replace_all)))
    assert_refused_as_shared(
        scim.put(f"Users/{user_id}", new_user("victim", emails=[{"value": "hijacked@evil.test", "primary": True}]))
    )

    account = in_org(globex, lambda: Membership.objects.get(email="admin@globex.test").user)
    account.refresh_from_db()
    assert account.email == "admin@globex.test"
    assert in_org(acme, lambda: Membership.objects.get(pk=user_id).email) == "admin@globex.test"
    assert scim.get(f"Users/{user_id}").json_body["emails"][0]["value"] == "admin@globex.test"
    assert login(Client(HTTP_HOST=host_of("globex")), "admin@globex.test").status_code == 302
    assert login(Client(HTTP_HOST=host_of("globex")), "hijacked@evil.test").status_code == 200  # the form again


def test_a_refused_email_change_changes_nothing_else_in_the_request(scim, globex):
    shared = make_user(email="shared@example.com")
    created = scim.post("Users", new_user("shared", emails=[{"value": "shared@example.com"}])).json_body
    _member_of(globex, shared)
    response = scim.patch(
        f"Users/{created['id']}",
        patch_ops(
            {"op": "replace", "path": "externalId", "value": "changed"},
            {"op": "replace", "path": "emails", "value": [{"value": "elsewhere@example.com"}]},
        ),
    )
    assert_refused_as_shared(response)
    assert "externalId" not in scim.get(f"Users/{created['id']}").json_body  # one transaction: all or nothing


def test_a_deactivated_membership_elsewhere_still_makes_the_account_shared(scim, globex):
    user = make_user(email="former@example.com")
    _member_of(globex, user, state=Membership.State.DEACTIVATED)
    created = scim.post("Users", new_user("former@example.com")).json_body
    response = scim.patch(
        f"Users/{created['id']}", patch_ops({"op": "replace", "path": "emails", "value": [{"value": "x@example.com"}]})
    )
    assert_refused_as_shared(response)
    user.refresh_from_db()
    assert user.email == "former@example.com"


def test_a_support_staff_account_keeps_its_email(scim):
    staff = make_user(email="support@example.com", is_staff=True)
    created = scim.post("Users", new_user("support@example.com")).json_body
    response = scim.patch(
        f"Users/{created['id']}", patch_ops({"op": "replace", "path": "emails", "value": [{"value": "x@example.com"}]})
    )
    assert response.status_code == 400 and response.json_body["scimType"] == "mutability"
    staff.refresh_from_db()
    assert staff.email == "support@example.com"


def test_an_account_only_in_this_org_still_follows_the_identity_provider(scim, acme):
    user = make_user(email="only-here@example.com")
    created = scim.post("Users", new_user("only-here@example.com")).json_body
    response = scim.patch(
        f"Users/{created['id']}",
        patch_ops({"op": "replace", "path": "emails", "value": [{"value": "moved@example.com", "primary": True}]}),
    )
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert user.email == "moved@example.com"


def test_the_service_refuses_a_shared_account_whoever_calls_it(acme, globex):
    user = make_user(email="both@example.com")
    _member_of(globex, user)
    connection.set_tenant(acme)
    try:
        membership = make_member(user=user)
        with pytest.raises(SharedAccount):
            membership_change_email(membership=membership, email="new@example.com")
        membership.refresh_from_db()
        assert membership.email == "both@example.com"
    finally:
        connection.set_schema_to_public()
    user.refresh_from_db()
    assert user.email == "both@example.com"


def test_an_org_admin_cannot_change_a_members_email_through_the_users_api(acme_client, acme, globex):
    """``PATCH users/<id>/`` changes the role only; the e-mail is the account owner's."""
    assert login(acme_client, "admin@acme.test").status_code == 302
    target = in_org(acme, lambda: Membership.objects.get(email="member@acme.test"))
    response = acme_client.patch(
        f"/api/v1/users/{target.pk}/", {"email": "taken@evil.test"}, content_type="application/json"
    )
    assert response.status_code in (200, 400), response.content
    target.user.refresh_from_db()
    assert target.user.email == "member@acme.test"
    assert in_org(acme, lambda: Membership.objects.get(pk=target.pk).email) == "member@acme.test"


def _member_of(org, user, **fields):
    connection.set_tenant(org)
    try:
        return make_member(user=user, **fields)
    finally:
        connection.set_schema_to_public()
