"""Input the database cannot hold: huge paging numbers and NUL characters are SCIM errors, never 500s."""

from urllib.parse import quote

import pytest
from django.db import connection

from accounts.models import Membership
from scim.models import ScimIdentity
from tests.scim.conftest import new_user, patch_ops

pytestmark = pytest.mark.django_db
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
HUGE = "99999999999999999999999"


def assert_invalid_value(response, attribute: str):
    assert response.status_code == 400, response.content
    body = response.json_body
    assert body["schemas"] == [ERROR] and body["scimType"] == "invalidValue"
    assert f"'{attribute}'" in body["detail"] and "NUL" in body["detail"]


def stored(acme):
    connection.set_tenant(acme)
    try:
        return (
            list(Membership.objects.order_by("id").values_list("id", "email", "name", "role", "state")),
            list(ScimIdentity.objects.order_by("id").values()),
        )
    finally:
        connection.set_schema_to_public()


@pytest.mark.parametrize("start_index", [HUGE, str(2**63), str(2**63 - 1), "1000"])
def test_a_start_index_past_the_end_is_an_empty_page(scim, start_index):
    total = scim.get("Users").json_body["totalResults"]
    response = scim.get(f"Users?startIndex={start_index}&count=1")
    assert response.status_code == 200, response.content
    body = response.json_body
    assert body["Resources"] == [] and body["itemsPerPage"] == 0 and body["totalResults"] == total
    assert body["startIndex"] == int(start_index)

    searched = scim.post("Users/.search", {"schemas": [SEARCH], "startIndex": int(start_index), "count": 1})
    assert searched.status_code == 200, searched.content
    assert searched.json_body["Resources"] == [] and searched.json_body["totalResults"] == total


def test_huge_and_negative_counts_are_clamped(scim):
    total = scim.get("Users").json_body["totalResults"]
    assert len(scim.get(f"Users?count={HUGE}").json_body["Resources"]) == total
    assert scim.get(f"Users?count=-{HUGE}").json_body["Resources"] == []
    assert scim.get(f"Users?startIndex=-{HUGE}&count=1").json_body["itemsPerPage"] == 1
    searched = scim.post("Users/.search", {"schemas": [SEARCH], "count": int(HUGE)})
    assert searched.status_code == 200 and len(searched.json_body["Resources"]) == total


@pytest.mark.parametrize("attribute", ["userName", "externalId", "emails.value"])
def test_a_nul_in_a_filter_value_is_invalid_value(scim, attribute):
    escaped = f'{attribute} eq "a\\u0000b"'  # a filter's strings are JSON strings: this is a NUL
    assert_invalid_value(scim.get(f"Users?filter={quote(escaped)}"), attribute)
    assert_invalid_value(scim.post("Users/.search", {"schemas": [SEARCH], "filter": escaped}), attribute)
    raw = f'{attribute} eq "a\u0000b"'
    assert_invalid_value(scim.get(f"Users?filter={quote(raw)}"), "filter")
    assert_invalid_value(scim.post("Users/.search", {"schemas": [SEARCH], "filter": raw}), "filter")


@pytest.mark.parametrize(
    ("fields", "attribute"),
    [
        ({"userName": "a\u0000b"}, "userName"),
        ({"externalId": "ext\u0000"}, "externalId"),
        ({"displayName": "\u0000"}, "displayName"),
        ({"name": {"givenName": "Ada\u0000"}}, "name.givenName"),
        ({"emails": [{"value": "nul@example.com", "type": "wo\u0000rk"}]}, "emails.type"),
        ({"emails": [{"value": "nul\u0000@example.com"}]}, "emails.value"),
        ({"title": "un\u0000stored"}, "title"),
    ],
)
def test_a_nul_in_a_created_or_replaced_user_is_invalid_value_and_stores_nothing(scim, acme, fields, attribute):
    before = stored(acme)
    assert_invalid_value(scim.post("Users", new_user("nul@example.com", **fields)), attribute)
    assert stored(acme) == before

    created = scim.post("Users", new_user("clean@example.com")).json_body
    before = stored(acme)
    body = new_user("clean@example.com", **fields)
    assert_invalid_value(scim.put(f"Users/{created['id']}", body), attribute)
    assert stored(acme) == before


@pytest.mark.parametrize(
    ("operation", "attribute"),
    [
        ({"op": "replace", "path": "userName", "value": "a\u0000"}, "userName"),
        ({"op": "replace", "path": "name.givenName", "value": "a\u0000"}, "name.givenName"),
        ({"op": "replace", "value": {"externalId": "a\u0000"}}, "externalId"),
        ({"op": "replace", "value": {"name": {"givenName": "a\u0000"}}}, "name.givenName"),
        ({"op": "add", "path": "emails", "value": [{"value": "x@example.com", "type": "\u0000"}]}, "emails.type"),
        ({"op": "replace", "path": "display\u0000Name", "value": "x"}, "path"),
    ],
)
def test_a_nul_in_a_patch_is_invalid_value_and_stores_nothing(scim, acme, operation, attribute):
    created = scim.post("Users", new_user("patched@example.com")).json_body
    before = stored(acme)
    assert_invalid_value(scim.patch(f"Users/{created['id']}", patch_ops(operation)), attribute)
    assert stored(acme) == before


@pytest.mark.parametrize("value", ["no", "off", "0", 0, "yes", "on", "1", 1, "Truee", [], {}])
@pytest.mark.parametrize("style", ["path", "value", "put"])
def test_active_is_true_or_false_and_nothing_else_reads_as_one(scim, acme, value, style):
    """Only true/false (and Entra ID's "True"/"False") change whether someone is active: a value a
    lax parser would read as a boolean ("no", 0, "on") is refused and changes nothing."""
    created = scim.post("Users", new_user("lax@example.com")).json_body
    if value in ("yes", "on", "1", 1, "Truee"):  # would reactivate: start deactivated
        scim.patch(f"Users/{created['id']}", patch_ops({"op": "replace", "path": "active", "value": False}))
    before = stored(acme)
    if style == "put":
        response = scim.put(f"Users/{created['id']}", new_user("lax@example.com", active=value))
    elif style == "path":
        response = scim.patch(f"Users/{created['id']}", patch_ops({"op": "replace", "path": "active", "value": value}))
    else:
        response = scim.patch(f"Users/{created['id']}", patch_ops({"op": "replace", "value": {"active": value}}))
    assert response.status_code == 400, response.content
    assert response.json_body["schemas"] == [ERROR]
    assert stored(acme) == before


@pytest.mark.parametrize(
    ("value", "active"), [("False", False), ("false", False), (False, False), ("True", True), (" True ", True)]
)
def test_entra_booleans_as_strings_still_work(scim, value, active):
    created = scim.post("Users", new_user("entra@example.com")).json_body
    body = patch_ops({"op": "Replace", "path": "active", "value": value})
    response = scim.patch(f"Users/{created['id']}", body)
    assert response.status_code == 200, response.content
    assert response.json_body["active"] is active


def test_an_id_is_only_its_canonical_decimal_form(scim):
    pk = scim.post("Users", new_user("ids@example.com")).json_body["id"]
    full_width = pk.translate({ord("0") + digit: 0xFF10 + digit for digit in range(10)})
    deactivate = patch_ops({"op": "replace", "path": "active", "value": False})

    def filtered_by_id(value: str) -> int:
        return scim.get("Users?filter=" + quote('id eq "' + value + '"')).json_body["totalResults"]

    for spelled in [f"0{pk}", full_width, f"+{pk}", f"{pk} "]:
        assert scim.get(f"Users/{quote(spelled)}").status_code == 404, spelled
        assert scim.patch(f"Users/{quote(spelled)}", deactivate).status_code == 404, spelled
        assert filtered_by_id(spelled) == 0, spelled
    assert filtered_by_id(pk) == 1
    assert scim.get(f"Users/{pk}").json_body["active"] is True
