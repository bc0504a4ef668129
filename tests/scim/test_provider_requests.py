"""Requests identity providers really send, and what the resource's meta says about changes."""

import time
from urllib.parse import quote

import pytest
from django.db import connection

from accounts.models import Membership, Role
from accounts.services import membership_change_role
from tests.scim.conftest import new_user, patch_ops

pytestmark = pytest.mark.django_db
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def in_org(org, query):
    connection.set_tenant(org)
    try:
        return query()
    finally:
        connection.set_schema_to_public()


def ok(response):
    assert response.status_code in (200, 201), response.content
    return response.json_body


@pytest.mark.parametrize("flag", ["true", '"True"', "True"])
def test_a_role_replaced_through_its_primary_flag(scim, acme, flag):
    created = ok(scim.post("Users", new_user("flagged@example.com", roles=[{"value": "viewer", "primary": True}])))
    assert created["roles"] == [{"value": "viewer", "primary": True}]
    operation = {"op": "Replace", "path": f"roles[primary eq {flag}].value", "value": "member"}
    body = ok(scim.patch(f"Users/{created['id']}", patch_ops(operation)))
    assert body["roles"] == [{"value": "member", "primary": True}]
    assert ok(scim.get(f"Users/{created['id']}"))["roles"] == [{"value": "member", "primary": True}]
    assert in_org(acme, lambda: Membership.objects.get(pk=created["id"]).role) == Role.MEMBER


def test_a_role_appended_to_the_list_is_given(scim, acme):
    created = ok(scim.post("Users", new_user("appended@example.com")))
    path = f"Users/{created['id']}"
    body = ok(scim.patch(path, patch_ops({"op": "Add", "path": "roles", "value": [{"value": "admin"}]})))
    assert [role["value"] for role in body["roles"]] == ["admin"]
    marked = {"op": "add", "path": "roles", "value": [{"value": "viewer", "primary": True}]}
    assert [role["value"] for role in ok(scim.patch(path, patch_ops(marked)))["roles"]] == ["viewer"]


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "1"},
        {"op": "Replace", "path": f"{ENTERPRISE}:manager", "value": {"value": "1"}},
        {"op": "Add", "path": 'phoneNumbers[type eq "work"].value', "value": "+33 1 23 45 67 89"},
        {"op": "Add", "path": 'addresses[type eq "work"].locality', "value": "Paris"},
        {"op": "replace", "path": "title", "value": "Engineer"},
        {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:title", "value": "Engineer"},
        {"op": "replace", "value": {"title": "Engineer", ENTERPRISE: {"manager": "1"}}},
        # Path-less values may name attributes in full too.
        {"op": "Replace", "value": {f"{ENTERPRISE}:manager": "abc"}},
        {"op": "Replace", "value": {"urn:ietf:params:scim:schemas:core:2.0:User:title": "Engineer"}},
    ],
)
def test_attributes_that_are_not_stored_are_accepted_and_ignored(scim, operation):
    created = ok(scim.post("Users", new_user("ignored@example.com")))
    body = ok(scim.patch(f"Users/{created['id']}", patch_ops(operation)))
    assert body["meta"]["version"] == created["meta"]["version"]


def test_a_patch_mixing_stored_and_ignored_attributes_applies_the_stored_ones(scim):
    created = ok(scim.post("Users", new_user("mixed@example.com")))
    body = ok(
        scim.patch(
            f"Users/{created['id']}",
            patch_ops(
                {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": "1"},
                {"op": "replace", "path": "displayName", "value": "Mixed Up"},
            ),
        )
    )
    assert body["displayName"] == "Mixed Up"


def test_a_manager_without_a_ref_is_accepted_on_create_and_replace(scim):
    body = new_user("managed@example.com", **{ENTERPRISE: {"manager": {"value": "1"}, "department": "R&D"}})
    body["schemas"].append(ENTERPRISE)
    created = ok(scim.post("Users", body))
    ok(scim.put(f"Users/{created['id']}", body))


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("post", new_user("bad@example.com", active="maybe")),
        ("post", new_user("bad@example.com", name="not an object")),
        ("post", new_user("bad@example.com", emails=[{"value": "bad@example.com", "type": {"not": "text"}}])),
        ("patch", patch_ops({"op": "replace", "path": "name", "value": "not an object"})),
        ("patch", patch_ops({"op": "replace", "path": "active", "value": "maybe"})),
        ("patch", patch_ops({"op": "replace", "path": 'emails[type eq "home"].value', "value": "h@example.com"})),
        ("patch", patch_ops({"op": "replace", "path": "displayName", "value": {"a": 1}})),
    ],
)
def test_error_details_speak_scim_only(scim, method, body):
    created = ok(scim.post("Users", new_user("details@example.com")))
    response = scim.post("Users", body) if method == "post" else scim.patch(f"Users/{created['id']}", body)
    assert response.status_code == 400, response.content
    detail = response.json_body["detail"]
    for leak in ("pydantic", "http", "validation error for", "[type=", "display_name", "phone_numbers", "user_name"):
        assert leak not in detail, detail


@pytest.mark.parametrize("value", ['"yes"', '"1"', '"on"', "1"])
def test_active_compares_with_booleans_only(scim, value):
    response = scim.get("Users?filter=" + quote(f"active eq {value}"))
    assert response.status_code == 400 and response.json_body["scimType"] == "invalidFilter", response.content


@pytest.mark.parametrize(("value", "expected"), [("true", True), ('"True"', True), ('"false"', False)])
def test_active_accepts_true_false_and_their_strings(scim, value, expected):
    response = scim.get("Users?filter=" + quote(f"active eq {value}"))
    assert response.status_code == 200, response.content
    assert {resource["active"] for resource in response.json_body["Resources"]} <= {expected}


def test_last_modified_follows_every_change_and_never_goes_back(scim, acme):
    created = ok(scim.post("Users", new_user("moments@example.com")))
    path = f"Users/{created['id']}"
    seen = [created["meta"]["lastModified"]]

    def changed(response_body):
        assert response_body["meta"]["lastModified"] > seen[-1], (seen, response_body["meta"])
        assert response_body["meta"]["created"] == created["meta"]["created"]
        seen.append(response_body["meta"]["lastModified"])

    time.sleep(0.002)
    changed(ok(scim.patch(path, patch_ops({"op": "replace", "path": "active", "value": False}))))
    time.sleep(0.002)
    changed(ok(scim.patch(path, patch_ops({"op": "replace", "path": "active", "value": True}))))
    time.sleep(0.002)
    membership = in_org(acme, lambda: Membership.objects.get(pk=created["id"]))
    in_org(acme, lambda: membership_change_role(membership=membership, role=Role.VIEWER))  # from the UI
    changed(ok(scim.get(path)))
    listed = ok(scim.get("Users?filter=" + quote('userName eq "moments@example.com"')))["Resources"][0]
    assert listed["meta"] == ok(scim.get(path))["meta"]


def test_created_stays_when_a_provisioned_invite_is_deactivated_and_reactivated(scim):
    created = ok(scim.post("Users", new_user("invitee@example.com")))
    path = f"Users/{created['id']}"
    time.sleep(0.002)
    ok(scim.patch(path, patch_ops({"op": "replace", "path": "active", "value": False})))
    time.sleep(0.002)
    again = ok(scim.patch(path, patch_ops({"op": "replace", "path": "active", "value": True})))
    assert again["meta"]["created"] == created["meta"]["created"]
    assert again["meta"]["lastModified"] > created["meta"]["lastModified"]


def test_an_ignored_only_patch_still_checks_the_version(scim):
    created = ok(scim.post("Users", new_user("versioned@example.com")))
    operation = {"op": "replace", "path": "title", "value": "Engineer"}
    stale = scim.patch(f"Users/{created['id']}", patch_ops(operation), If_Match='W/"stale"')
    assert stale.status_code == 412, stale.content
    fresh = scim.patch(f"Users/{created['id']}", patch_ops(operation), If_Match=created["meta"]["version"])
    assert fresh.status_code == 200, fresh.content
