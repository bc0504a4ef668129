"""SCIM Users mapped onto memberships: create, replace, patch, delete, filters, paging, ETags, errors."""

import re
from urllib.parse import quote

import pytest
from django.core import mail
from django.db import connection
from django.test import Client

from accounts.models import AuditEvent, Invite, Membership, Role, SystemActor
from accounts.services import membership_deactivate
from scim.models import ScimIdentity
from tests.conftest import PASSWORD, host_of, login
from tests.factories import make_member, make_user
from tests.scim.conftest import SCIM, USER_SCHEMA, new_user, patch_ops, sent_to

pytestmark = pytest.mark.django_db
LINK = re.compile(r"/invite/([A-Za-z0-9_-]+)/")
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def in_acme(acme, query):
    connection.set_tenant(acme)
    try:
        return query()
    finally:
        connection.set_schema_to_public()


def assert_scim_error(response, status: int, scim_type: str | None = None):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == SCIM
    body = response.json_body
    assert body["schemas"] == [ERROR] and body["status"] == str(status) and body["detail"]
    if scim_type:
        assert body["scimType"] == scim_type


def filtered(scim, expression: str, **params):
    query = "&".join([f"filter={quote(expression)}", *[f"{key}={value}" for key, value in params.items()]])
    response = scim.get(f"Users?{query}")
    assert response.status_code == 200, response.content
    return response.json_body


# --- create ---------------------------------------------------------------------------------------


def test_a_new_person_gets_an_invite_and_is_invite_pending(scim, acme, eager_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = scim.post(
            "Users",
            new_user(
                "Ada.Lovelace@Example.com",
                externalId="okta-00u1",
                name={"givenName": "Ada", "familyName": "Lovelace"},
                roles=[{"value": "viewer", "primary": True}],
            ),
        )
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == SCIM
    body = response.json_body
    assert body["userName"] == "Ada.Lovelace@Example.com" and body["externalId"] == "okta-00u1"
    assert body["emails"] == [{"value": "ada.lovelace@example.com", "type": "work", "primary": True}]
    assert body["active"] is True and body["roles"] == [{"value": "viewer", "primary": True}]
    assert response["Location"] == body["meta"]["location"].replace("http://testserver", "")
    assert response["ETag"] == body["meta"]["version"] and body["meta"]["version"].startswith('W/"')
    [message] = sent_to("ada.lovelace@example.com")
    assert LINK.search(message.body)
    membership = in_acme(acme, lambda: Membership.objects.get(pk=body["id"]))
    assert membership.state == Membership.State.INVITED and membership.role == Role.VIEWER
    assert membership.name is None  # not joined: the name the identity provider sent is SCIM's only
    assert in_acme(acme, lambda: ScimIdentity.objects.get(membership=membership).given_name) == "Ada"
    actors = in_acme(
        acme, lambda: set(AuditEvent.objects.filter(target_membership=membership).values_list("actor_email", flat=True))
    )
    assert actors == {SystemActor.SCIM}
    # The REST User of the pending invite has no name or username of its own yet (API.md), in
    # the list, the one-person endpoint and the export alike; SCIM keeps what it was sent.
    admin = Client(HTTP_HOST=host_of("acme"))
    login(admin, "admin@acme.test", PASSWORD)
    one = admin.get(f"/api/v1/users/{membership.pk}/").json()
    [listed] = admin.get("/api/v1/users/", {"search": "ada.lovelace"}).json()["results"]
    assert (one["status"], one["name"], one["username"]) == ("invite_pending", None, None)
    assert listed == one
    # Nor is it found by a name it does not show.
    assert admin.get("/api/v1/users/", {"search": "Ada Lovelace"}).json()["count"] == 0
    export = b"".join(admin.get("/api/v1/users/export.csv", {"search": "ada.lovelace"}).streaming_content).decode()
    assert export.splitlines()[1].startswith(",,ada.lovelace@example.com,viewer,invite_pending,")
    assert scim.get(f"Users/{membership.pk}").json_body["name"] == {"givenName": "Ada", "familyName": "Lovelace"}


def test_someone_with_an_account_becomes_a_member_at_once(scim, acme):
    user = make_user(email="grace@example.com", name="Grace Hopper")
    response = scim.post("Users", new_user("ghopper", emails=[{"value": "grace@example.com", "type": "work"}]))
    assert response.status_code == 201, response.content
    assert response.json_body["userName"] == "ghopper"  # any unique name, not only an e-mail
    membership = in_acme(acme, lambda: Membership.objects.get(pk=response.json_body["id"]))
    assert membership.state == Membership.State.JOINED and membership.user_id == user.pk
    assert mail.outbox == []


def test_someone_already_in_the_org_is_409_uniqueness(scim):
    assert_scim_error(scim.post("Users", new_user("member@acme.test")), 409, "uniqueness")
    assert_scim_error(
        scim.post("Users", new_user("other-name", emails=[{"value": "Member@Acme.test"}])), 409, "uniqueness"
    )
    assert scim.post("Users", new_user("taken", emails=[{"value": "first@example.com"}])).status_code == 201
    assert_scim_error(
        scim.post("Users", new_user("TAKEN", emails=[{"value": "second@example.com"}])), 409, "uniqueness"
    )


@pytest.mark.parametrize(
    ("body", "scim_type"),
    [
        ({"schemas": [USER_SCHEMA], "userName": "no-email@example.com"}, "invalidValue"),
        ({"schemas": [USER_SCHEMA], "userName": "x", "emails": [{"value": "not an address"}]}, "invalidValue"),
        (new_user("bad-role@example.com", roles=[{"value": "owner"}]), "invalidValue"),
        ({"schemas": [USER_SCHEMA], "emails": [{"value": "nouser@example.com"}]}, None),
        (new_user("typo@example.com", favouriteColour="blue"), "invalidSyntax"),
        (new_user("types@example.com", active="maybe"), "invalidValue"),
        (new_user("types@example.com", userName=["a"]), "invalidValue"),
    ],
)
def test_bad_users_are_400_and_change_nothing(scim, acme, body, scim_type):
    before = in_acme(acme, lambda: Membership.objects.count())
    assert_scim_error(scim.post("Users", body), 400, scim_type)
    assert in_acme(acme, lambda: Membership.objects.count()) == before


# --- read, filter, page -------------------------------------------------------------------------


def test_filters_by_username_externalid_email_and_active(scim, acme):
    ids = {}
    for n, active in ((1, True), (2, False), (3, True)):
        body = new_user(f"filter{n}@example.com", externalId=f"ext-{n}", active=active)
        ids[n] = scim.post("Users", body).json_body["id"]
    assert [r["id"] for r in filtered(scim, 'userName eq "FILTER1@example.com"')["Resources"]] == [ids[1]]
    assert [r["id"] for r in filtered(scim, 'externalId eq "ext-2"')["Resources"]] == [ids[2]]
    assert [r["id"] for r in filtered(scim, 'emails.value eq "filter3@example.com"')["Resources"]] == [ids[3]]
    assert [r["id"] for r in filtered(scim, 'emails eq "filter3@example.com"')["Resources"]] == [ids[3]]
    both = filtered(scim, 'externalId eq "ext-2" and active eq false')
    assert [r["id"] for r in both["Resources"]] == [ids[2]] and both["totalResults"] == 1
    assert filtered(scim, 'externalId eq "ext-2" and active eq true')["totalResults"] == 0
    inactive = {r["id"] for r in filtered(scim, "active eq false", count=500)["Resources"]}
    assert ids[2] in inactive and ids[1] not in inactive
    # A member added in orgdash has their e-mail as userName, so an identity provider can link them.
    admin = filtered(scim, 'userName eq "admin@acme.test"')["Resources"]
    assert [r["userName"] for r in admin] == ["admin@acme.test"] and "externalId" not in admin[0]
    assert filtered(scim, 'userName eq "nobody@example.com"') == {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 0,
        "startIndex": 1,
        "itemsPerPage": 0,
        "Resources": [],
    }


def test_pages_by_start_index_and_count(scim):
    for n in range(5):
        scim.post("Users", new_user(f"page{n}@example.com", externalId="paged"))
    everyone = filtered(scim, 'userName eq "page0@example.com" or externalId eq "paged"', count=500)
    assert everyone["totalResults"] == 5
    all_ids = [r["id"] for r in everyone["Resources"]]
    pages = [filtered(scim, 'externalId eq "paged"', startIndex=start, count=2) for start in (1, 3, 5)]
    assert [r["id"] for page in pages for r in page["Resources"]] == all_ids
    assert [page["itemsPerPage"] for page in pages] == [2, 2, 1]
    assert all(page["totalResults"] == 5 for page in pages)
    past_the_end = filtered(scim, 'externalId eq "paged"', startIndex=50)
    assert past_the_end["Resources"] == [] and past_the_end["totalResults"] == 5
    assert filtered(scim, 'externalId eq "paged"', count=0)["Resources"] == []
    assert filtered(scim, 'externalId eq "paged"', startIndex=-3, count=1)["startIndex"] == 1
    assert_scim_error(scim.get("Users?count=many"), 400, "invalidValue")


@pytest.mark.parametrize(
    ("expression", "scim_type"),
    [
        ('userName eq "unterminated', "invalidFilter"),
        ("userName eq", "invalidFilter"),
        ('favouriteColour eq "blue"', "invalidFilter"),
        ('title eq "CTO"', "invalidFilter"),  # an RFC attribute this server does not keep
        ('userName co "ada"', "invalidFilter"),
        ("active eq 3", "invalidFilter"),
        ('emails[type eq "work"]', "invalidFilter"),
    ],
)
def test_bad_filters_are_400_invalid_filter(scim, expression, scim_type):
    assert_scim_error(scim.get(f"Users?filter={quote(expression)}"), 400, scim_type)


def test_get_one_with_attributes_and_unknown_ids(scim):
    created = scim.post("Users", new_user("attrs@example.com", externalId="a-1")).json_body
    only = scim.get(f"Users/{created['id']}?attributes=userName,externalId").json_body
    assert only == {"schemas": [USER_SCHEMA], "id": created["id"], "userName": "attrs@example.com", "externalId": "a-1"}
    without = scim.get(f"Users/{created['id']}?excludedAttributes=emails").json_body
    assert "emails" not in without and without["userName"] == "attrs@example.com"
    for missing in ("999999999", "abc", "99999999999999999999999"):
        assert_scim_error(scim.get(f"Users/{missing}"), 404)


# --- replace and patch ------------------------------------------------------------------------------


def test_put_replaces_the_resource_and_changes_the_role(scim, acme):
    created = scim.post("Users", new_user("put@example.com", externalId="e-1", displayName="Put")).json_body
    replaced = scim.put(
        f"Users/{created['id']}",
        new_user("put-renamed", emails=[{"value": "put@example.com", "primary": True}], roles=[{"value": "admin"}]),
    )
    assert replaced.status_code == 200, replaced.content
    body = replaced.json_body
    assert body["userName"] == "put-renamed" and "externalId" not in body and "displayName" not in body
    assert body["roles"] == [{"value": "admin", "primary": True}]
    assert in_acme(acme, lambda: Membership.objects.get(pk=created["id"]).role) == Role.ADMIN


def test_an_email_change_updates_the_persons_account(scim, acme):
    user = make_user(email="old.address@example.com")
    created = scim.post("Users", new_user("old.address@example.com")).json_body
    response = scim.patch(
        f"Users/{created['id']}",
        patch_ops({"op": "Replace", "path": 'emails[type eq "work"].value', "value": "New.Address@Example.com"}),
    )
    assert response.status_code == 200, response.content
    assert response.json_body["emails"][0]["value"] == "new.address@example.com"
    user.refresh_from_db()
    assert user.email == "new.address@example.com"
    assert in_acme(acme, lambda: Membership.objects.get(pk=created["id"]).email) == "new.address@example.com"
    client = Client(HTTP_HOST=host_of("acme"))
    assert login(client, "new.address@example.com").status_code == 302  # they log in with the new address


def test_an_email_change_to_someone_elses_address_is_409(scim):
    created = scim.post("Users", new_user("mine@example.com")).json_body
    response = scim.patch(
        f"Users/{created['id']}",
        patch_ops({"op": "replace", "path": "emails", "value": [{"value": "admin@acme.test"}]}),
    )
    assert_scim_error(response, 409, "uniqueness")


def test_the_last_admin_cannot_be_demoted_or_deactivated(scim, acme):
    admins = in_acme(acme, lambda: list(Membership.objects.filter(role=Role.ADMIN, state="joined")))
    in_acme(acme, lambda: Membership.objects.filter(pk__in=[a.pk for a in admins[1:]]).update(role=Role.MEMBER))
    last = admins[0].pk
    demote = patch_ops({"op": "replace", "path": "roles", "value": [{"value": "member", "primary": True}]})
    assert_scim_error(scim.patch(f"Users/{last}", demote), 409)
    assert_scim_error(scim.patch(f"Users/{last}", patch_ops({"op": "replace", "path": "active", "value": False})), 409)
    assert_scim_error(scim.delete(f"Users/{last}"), 409)
    membership = in_acme(acme, lambda: Membership.objects.get(pk=last))
    assert membership.role == Role.ADMIN and membership.state == Membership.State.JOINED


def test_a_stale_if_match_is_412_and_changes_nothing(scim, acme):
    created = scim.post("Users", new_user("etag@example.com")).json_body
    version = created["meta"]["version"]
    changed = scim.patch(
        f"Users/{created['id']}", patch_ops({"op": "add", "path": "displayName", "value": "E. Tag"}), if_match=version
    )
    assert changed.status_code == 200 and changed["ETag"] != version
    stale = scim.patch(
        f"Users/{created['id']}", patch_ops({"op": "add", "path": "displayName", "value": "Lost"}), if_match=version
    )
    assert_scim_error(stale, 412)
    assert_scim_error(scim.delete(f"Users/{created['id']}", if_match=version), 412)
    current = scim.get(f"Users/{created['id']}")
    assert current.json_body["displayName"] == "E. Tag" and current.json_body["active"] is True
    assert scim.get(f"Users/{created['id']}", if_none_match=current["ETag"]).status_code == 304
    assert scim.put(f"Users/{created['id']}", new_user("etag@example.com"), if_match=current["ETag"]).status_code == 200


def test_removing_active_or_roles_is_refused(scim):
    created = scim.post("Users", new_user("keep@example.com")).json_body
    for path in ("active", "roles"):
        assert_scim_error(
            scim.patch(f"Users/{created['id']}", patch_ops({"op": "remove", "path": path})), 400, "mutability"
        )


# --- deactivation ----------------------------------------------------------------------------------


def test_deactivating_a_provisioned_person_who_never_joined_stops_their_invite(
    scim, acme, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        created = scim.post("Users", new_user("never.joined@example.com")).json_body
    token = LINK.search(sent_to("never.joined@example.com")[0].body).group(1)
    response = scim.patch(f"Users/{created['id']}", patch_ops({"op": "Replace", "path": "active", "value": "False"}))
    assert response.status_code == 200 and response.json_body["active"] is False
    membership = in_acme(acme, lambda: Membership.objects.get(pk=created["id"]))
    assert membership.state == Membership.State.DEACTIVATED
    assert not in_acme(acme, lambda: Invite.objects.filter(membership=membership).exists())
    invite_page = Client(HTTP_HOST=host_of("acme")).get(f"/invite/{token}/")
    assert b"password" not in invite_page.content.lower()  # the link no longer lets anyone join
    # Reactivated, they get a new invite (they still have no account to restore).
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        back = scim.patch(f"Users/{created['id']}", patch_ops({"op": "Replace", "path": "active", "value": "True"}))
    assert back.json_body["active"] is True
    assert in_acme(acme, lambda: Membership.objects.get(pk=created["id"]).state) == Membership.State.INVITED
    assert LINK.search(sent_to("never.joined@example.com")[0].body).group(1) != token


def test_delete_deactivates_keeps_the_record_and_hides_it_from_scim(scim, acme):
    member = in_acme(acme, lambda: make_member(user=make_user(email="leaver@example.com")))
    assert scim.delete(f"Users/{member.pk}").status_code == 204
    membership = in_acme(acme, lambda: Membership.objects.get(pk=member.pk))
    assert membership.state == Membership.State.DEACTIVATED  # the Users tab still shows them, Deactivated
    assert_scim_error(scim.get(f"Users/{member.pk}"), 404)
    assert filtered(scim, 'userName eq "leaver@example.com"')["totalResults"] == 0
    actions = in_acme(
        acme, lambda: list(AuditEvent.objects.filter(target_membership=member.pk).values_list("action", "actor_email"))
    )
    assert ("membership.deactivate", SystemActor.SCIM) in actions and ("scim.delete", SystemActor.SCIM) in actions
    # Provisioned again, the same membership comes back active (a deleted user is no conflict).
    again = scim.post("Users", new_user("leaver@example.com"))
    assert again.status_code == 201 and again.json_body["id"] == str(member.pk) and again.json_body["active"] is True
    assert in_acme(acme, lambda: Membership.objects.get(pk=member.pk).state) == Membership.State.JOINED
    assert in_acme(acme, lambda: ScimIdentity.objects.get(membership=member.pk).deleted_at) is None


def test_a_deactivated_members_session_and_keys_stop_working(scim, acme):
    from tests.accounts.conftest import bearer, key_for

    in_acme(acme, lambda: make_member(user=make_user(email="quitter@example.com"), role=Role.ADMIN))
    key = key_for(acme, "quitter@example.com")
    browser = Client(HTTP_HOST=host_of("acme"))
    assert login(browser, "quitter@example.com", PASSWORD).status_code == 302
    api = Client(HTTP_HOST=host_of("acme"))
    assert api.get("/api/v1/users/", **bearer(key)).status_code == 200
    [found] = filtered(scim, 'userName eq "quitter@example.com"')["Resources"]
    scim.patch(f"Users/{found['id']}", patch_ops({"op": "replace", "value": {"active": False}}))
    assert api.get("/api/v1/users/", **bearer(key)).status_code == 401
    assert browser.get("/org/dashboard/").status_code == 302  # back to the login page


@pytest.mark.parametrize("already_deactivated", [False, True])
@pytest.mark.parametrize("deprovision", ["patch", "delete"])
def test_keys_of_a_deprovisioned_member_end_for_good(scim, acme, deprovision, already_deactivated):
    """Deactivated by the identity provider, the person's keys are revoked (audited, by scim):
    provisioned again later, they sign in anew and make new keys. A deactivation in orgdash only
    suspends keys until the person is reactivated."""
    from tests.accounts.conftest import bearer, key_for

    member = in_acme(acme, lambda: make_member(user=make_user(email="rehired@example.com")))
    key = key_for(acme, "rehired@example.com")
    api = Client(HTTP_HOST=host_of("acme"))
    assert api.get("/api/v1/me/", **bearer(key)).status_code == 200
    if already_deactivated:  # by an admin or the dormancy policy, before the identity provider
        in_acme(acme, lambda: membership_deactivate(membership=member))
    if deprovision == "patch":
        scim.patch(f"Users/{member.pk}", patch_ops({"op": "replace", "path": "active", "value": False}))
        back = scim.patch(f"Users/{member.pk}", patch_ops({"op": "replace", "path": "active", "value": True}))
    else:
        assert scim.delete(f"Users/{member.pk}").status_code == 204
        back = scim.post("Users", new_user("rehired@example.com"))
    assert back.json_body["active"] is True
    assert api.get("/api/v1/me/", **bearer(key)).status_code == 401
    revoked = in_acme(
        acme, lambda: list(AuditEvent.objects.filter(action="api_key.revoke", target_membership=member.pk))
    )
    assert [event.actor_email for event in revoked] == [SystemActor.SCIM.value]


def test_a_member_deactivated_in_orgdash_gets_their_keys_back_when_reactivated(scim, acme):
    from tests.accounts.conftest import bearer, key_for

    in_acme(acme, lambda: make_member(user=make_user(email="paused@example.com")))
    key = key_for(acme, "paused@example.com")
    admin = Client(HTTP_HOST=host_of("acme"))
    login(admin, "admin@acme.test", PASSWORD)
    member_pk = in_acme(acme, lambda: Membership.objects.get(email="paused@example.com").pk)
    api = Client(HTTP_HOST=host_of("acme"))
    assert admin.post(f"/api/v1/users/{member_pk}/deactivate/").status_code == 200
    assert api.get("/api/v1/me/", **bearer(key)).status_code == 401
    assert admin.post(f"/api/v1/users/{member_pk}/reactivate/").status_code == 200
    assert api.get("/api/v1/me/", **bearer(key)).status_code == 200
