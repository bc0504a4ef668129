"""The profile page (/accounts/profile/) and the person page (/org/dashboard/users/<id>/), server side."""

import pytest
from django.db import connection
from django.test import Client

from accounts.models import AUDIT_ACTION_LABELS, ApiKey, AuditAction, AuditEvent, Membership, audit_action_label
from accounts.services import api_key_create, invite_create
from orgdash.core.models import User
from tests.conftest import PASSWORD, host_of, login
from tests.factories import make_member, make_user


@pytest.fixture
def member(in_acme):
    membership = make_member(user=make_user(name="Pat Profile"))
    connection.set_schema_to_public()
    client = Client(HTTP_HOST=host_of("acme"))
    assert login(client, membership.email).status_code == 302
    return membership, client


def test_member_home_links_to_the_profile(member):
    _, client = member
    page = client.get("/").content.decode()
    assert 'href="/accounts/profile/"' in page and "POST /api/v1/api-keys/" not in page


def test_profile_saves_name_and_username_and_refuses_a_taken_username(acme, member):
    membership, client = member
    response = client.post("/accounts/profile/", {"form": "profile", "name": "Pat Renamed", "username": "pat-r"})
    assert response.status_code == 302
    connection.set_tenant(acme)
    membership.refresh_from_db()
    assert (membership.name, membership.username) == ("Pat Renamed", "pat-r")
    assert AuditEvent.objects.filter(action="profile.update", target_membership=membership).count() == 1
    connection.set_schema_to_public()

    taken = User.objects.get(email="admin@acme.test").username
    response = client.post("/accounts/profile/", {"form": "profile", "name": "Other", "username": taken.upper()})
    assert response.status_code == 400
    assert "is taken" in response.content.decode()
    assert User.objects.get(pk=membership.user_id).name == "Pat Renamed"


def test_password_change_needs_the_current_password(member):
    membership, client = member
    new = "a-long-unusual-passphrase-9"
    wrong = client.post(
        "/accounts/profile/",
        {"form": "password", "old_password": "not-it", "new_password1": new, "new_password2": new},
    )
    assert wrong.status_code == 400
    assert User.objects.get(pk=membership.user_id).check_password(PASSWORD)

    right = client.post(
        "/accounts/profile/",
        {"form": "password", "old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert right.status_code == 302
    assert client.get("/accounts/profile/").status_code == 200  # this session stays signed in
    assert User.objects.get(pk=membership.user_id).check_password(new)


def test_a_new_key_is_shown_once_and_only_its_owner_can_revoke_it(acme, member):
    membership, client = member
    response = client.post("/accounts/profile/", {"form": "key_create", "label": "ci"}, follow=True)
    page = response.content.decode()
    connection.set_tenant(acme)
    key = ApiKey.objects.get(membership=membership, label="ci")
    connection.set_schema_to_public()
    assert key.prefix in page and "new-key-secret" in page
    assert "new-key-secret" not in client.get("/accounts/profile/").content.decode()

    # Someone else's key id is refused and left alone.
    connection.set_tenant(acme)
    other, _ = api_key_create(membership=Membership.objects.get(email="member@acme.test"), label="theirs")
    connection.set_schema_to_public()
    client.post("/accounts/profile/", {"form": "key_revoke", "key": str(other.pk), "confirm": "revoke"})
    client.post("/accounts/profile/", {"form": "key_revoke", "key": "not-a-number", "confirm": "revoke"})
    assert "revoke-confirm" not in client.get(f"/accounts/profile/?revoke={other.pk}").content.decode()
    # Without the confirmation (no page script) it is asked for first, on a step of its own.
    asked = client.post("/accounts/profile/", {"form": "key_revoke", "key": str(key.pk)})
    assert asked.status_code == 302 and asked["Location"] == f"/accounts/profile/?revoke={key.pk}#revoke-confirm"
    step = client.get(asked["Location"]).content.decode()
    assert "revoke-confirm" in step and "Revoke the key “ci”?" in step and 'value="revoke"' in step
    connection.set_tenant(acme)
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    connection.set_schema_to_public()
    client.post("/accounts/profile/", {"form": "key_revoke", "key": str(key.pk), "confirm": "revoke"})
    connection.set_tenant(acme)
    assert ApiKey.objects.get(pk=other.pk).revoked_at is None
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_person_page_shows_details_history_and_keys_never_secrets(acme, admin_client):
    connection.set_tenant(acme)
    admin = User.objects.get(email="admin@acme.test")
    invited = invite_create(emails=["page-invitee@example.test"], role="viewer", actor=admin).invited[0]
    person = make_member()
    key, secret = api_key_create(membership=person, label="nightly job")
    connection.set_schema_to_public()

    page = admin_client.get(f"/org/dashboard/users/{person.pk}/").content.decode()
    assert "nightly job" in page and key.prefix in page and secret not in page
    assert "API key created" in page and "api_key.create" not in page  # the history, in words

    invite_page = admin_client.get(f"/org/dashboard/users/{invited.pk}/").content.decode()
    assert "Invite e-mail" in invite_page and "Invited" in invite_page and "admin@acme.test" in invite_page
    assert "as viewer" in invite_page
    assert admin_client.get("/org/dashboard/users/987654321/").status_code == 404


def test_every_audit_action_reads_as_words():
    assert set(AUDIT_ACTION_LABELS) == set(AuditAction)
    assert len(set(AUDIT_ACTION_LABELS.values())) == len(AuditAction)
    assert audit_action_label("membership.change_role") == "Role changed"
    assert audit_action_label("retired.action") == "retired.action"


@pytest.mark.parametrize(
    ("data", "details"),
    [
        ({"old": "member", "new": "viewer"}, "member → viewer"),
        (
            {"old": {"name": "Mem Ber", "username": "mb"}, "new": {"name": "Mem Ber Renamed", "username": "mb"}},
            "name: Mem Ber → Mem Ber Renamed",
        ),
        ({"old": {"name": ""}, "new": {"name": "Ann", "username": "ann"}}, "name: — → Ann; username: — → ann"),
        ({"role": "admin"}, "as admin"),
        ({"prefix": "od_ab12"}, "key od_ab12…"),
        ({}, ""),
    ],
)
def test_history_details_say_what_changed(data, details):
    assert AuditEvent(action="profile.update", data=data).details == details
