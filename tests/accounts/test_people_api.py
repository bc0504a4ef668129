"""People endpoints: one person's activity, bulk actions and one's own profile (``me/``)."""

import datetime as dt

import pytest
from django.db import connection
from django.test import Client

from accounts.models import ApiKey, AuditEvent, Invite, Membership, Role
from accounts.people_services import SkipReason
from accounts.services import LAST_ADMIN_MESSAGE, api_key_create, invite_deactivate
from activity.models import ActivityKind
from activity.periods import PERIODS
from activity.services import activity_record_write
from orgdash.core.models import User
from tests.accounts.conftest import bearer
from tests.clock import Clock
from tests.conftest import host_of, login
from tests.factories import make_member, make_pending_invite, make_user

BULK = "/api/v1/users/bulk/"


def _post(client, path, body, **extra):
    return client.post(path, body, content_type="application/json", **extra)


def _record(membership, day: dt.date, *kinds: ActivityKind) -> None:
    at = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    for kind in kinds:
        activity_record_write(schema=connection.schema_name, membership_id=membership.pk, kinds=kind, at=at)


# --- GET users/<id>/activity/ ----------------------------------------------------------------------


def test_person_activity_lists_active_days_with_kinds(in_acme, admin_client, monkeypatch):
    person = make_member()
    today = Clock(monkeypatch).now.date()  # the API's "today" is the one the days are laid out from
    old = today - dt.timedelta(days=400)  # outside 12 months, inside "all"
    _record(person, old, ActivityKind.LOGIN)
    _record(person, today - dt.timedelta(days=3), ActivityKind.LOGIN, ActivityKind.SDK)
    _record(person, today, ActivityKind.PAGE_VIEW)

    data = admin_client.get(f"/api/v1/users/{person.pk}/activity/").json()
    assert data["user"] == person.pk and data["period"] == "12m" and data["end"] == today.isoformat()
    assert data["days"] == [
        {"date": (today - dt.timedelta(days=3)).isoformat(), "kinds": ["login", "sdk"]},
        {"date": today.isoformat(), "kinds": ["page_view"]},
    ]
    assert data["days_active"] == 2
    assert data["by_kind"] == {"login": 1, "page_view": 1, "run_logged": 0, "sdk": 1, "api": 0}

    everything = admin_client.get(f"/api/v1/users/{person.pk}/activity/?period=all").json()
    person.refresh_from_db()
    assert everything["days_active"] == person.days_active == 3
    assert everything["start"] <= old.isoformat()
    assert everything["days"][0] == {"date": old.isoformat(), "kinds": ["login"]}


@pytest.mark.parametrize("period", PERIODS)
def test_person_activity_answers_every_period(in_acme, admin_client, period):
    person = make_member()
    response = admin_client.get(f"/api/v1/users/{person.pk}/activity/", {"period": period})
    assert response.status_code == 200
    assert response.json()["period"] == period


@pytest.mark.parametrize("period", ["1y", "12M", "week", " ", "all "])
def test_person_activity_unknown_period_is_400(in_acme, admin_client, period):
    person = make_member()
    response = admin_client.get(f"/api/v1/users/{person.pk}/activity/", {"period": period})
    assert response.status_code == 400
    assert "period" in response.json()["errors"]


def test_person_activity_period_given_twice(in_acme, admin_client):
    person = make_member()
    path = f"/api/v1/users/{person.pk}/activity/"
    different = admin_client.get(path, {"period": ["30d", "all"]})
    assert different.status_code == 400 and "period" in different.json()["errors"]
    same = admin_client.get(path, {"period": ["all", "all"]})
    assert same.status_code == 200 and same.json()["period"] == "all"


def test_person_activity_unknown_person_is_404_and_members_are_403(in_acme, admin_client, acme):
    assert admin_client.get("/api/v1/users/987654321/activity/").status_code == 404
    member = Client(HTTP_HOST=host_of("acme"))
    assert login(member, "member@acme.test").status_code == 302
    own = Membership.objects.get(email="member@acme.test")
    assert member.get(f"/api/v1/users/{own.pk}/activity/").status_code == 403


# --- POST users/bulk/ ------------------------------------------------------------------------------


def test_bulk_deactivate_skips_the_last_admin_an_invite_and_unknown_ids(in_acme, admin_client):
    actor = Membership.objects.get(email="admin@acme.test")
    other_admins = [m for m in Membership.objects.filter(role=Role.ADMIN, state="joined") if m.pk != actor.pk]
    people = [make_member() for _ in range(3)]
    invite = make_pending_invite()
    _, secret = api_key_create(membership=people[0], label="script")
    ids = [actor.pk, *[m.pk for m in other_admins], *[m.pk for m in people], invite.pk, 987654321]

    response = _post(admin_client, BULK, {"action": "deactivate", "ids": ids})

    assert response.status_code == 200
    body = response.json()
    assert set(body["done"]) == {m.pk for m in [*other_admins, *people]}
    skipped = {row["id"]: row["reason"] for row in body["skipped"]}
    assert skipped == {
        actor.pk: LAST_ADMIN_MESSAGE,  # the person acting is the admin kept
        invite.pk: SkipReason.INVITE_NOT_DEACTIVATED,
        987654321: SkipReason.UNKNOWN,
    }
    assert Membership.objects.filter(role=Role.ADMIN, state="joined").count() == 1
    for membership in people:
        membership.refresh_from_db()
        assert membership.state == "deactivated" and membership.deactivated_by.email == "admin@acme.test"
        assert AuditEvent.objects.filter(action="membership.deactivate", target_membership=membership).count() == 1
    # Their keys stop working at once.
    connection.set_schema_to_public()
    assert Client(HTTP_HOST=host_of("acme")).get("/api/v1/api-keys/", **bearer(secret)).status_code == 401


def test_bulk_never_deactivates_or_demotes_the_person_acting(in_acme, admin_client):
    """Other admins remain, so the last-admin rule keeps nobody: the caller is still skipped, in
    both actions that would take their access away, and stays signed in."""
    actor = Membership.objects.get(email="admin@acme.test")
    another_admin, member = make_member(role=Role.ADMIN), make_member()

    demote = _post(admin_client, BULK, {"action": "set_role", "ids": [actor.pk, member.pk], "role": "viewer"}).json()
    deactivate = _post(admin_client, BULK, {"action": "deactivate", "ids": [member.pk, actor.pk]}).json()

    assert demote == {"done": [member.pk], "skipped": [{"id": actor.pk, "reason": SkipReason.YOURSELF}]}
    assert deactivate == {"done": [member.pk], "skipped": [{"id": actor.pk, "reason": SkipReason.YOURSELF}]}
    actor.refresh_from_db()
    assert (actor.state, actor.role) == ("joined", Role.ADMIN)
    assert not AuditEvent.objects.filter(target_membership=actor, action__startswith="membership.").exists()
    assert admin_client.get("/api/v1/me/").status_code == 200
    # The rule is about who acts: another admin's bulk deactivates them.
    _, other_secret = api_key_create(membership=another_admin, label="script")
    connection.set_schema_to_public()
    by_other = _post(
        Client(HTTP_HOST=host_of("acme")), BULK, {"action": "deactivate", "ids": [actor.pk]}, **bearer(other_secret)
    )
    assert by_other.json() == {"done": [actor.pk], "skipped": []}


def test_bulk_is_idempotent(in_acme, admin_client):
    people = [make_member() for _ in range(2)]
    ids = [m.pk for m in people]
    assert _post(admin_client, BULK, {"action": "deactivate", "ids": ids}).json()["done"] == ids
    again = _post(admin_client, BULK, {"action": "deactivate", "ids": ids}).json()
    assert again == {"done": [], "skipped": [{"id": pk, "reason": SkipReason.ALREADY_DEACTIVATED} for pk in ids]}
    assert AuditEvent.objects.filter(action="membership.deactivate", target_membership__in=ids).count() == 2
    back = _post(admin_client, BULK, {"action": "reactivate", "ids": ids}).json()
    assert back["done"] == ids
    assert Membership.objects.filter(pk__in=ids, state="joined", deactivated_at__isnull=True).count() == 2


def test_bulk_reactivate_invites_again_whoever_was_deactivated_before_joining(
    in_acme, admin_client, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    """Someone deactivated before they ever joined has no account to restore: as from their own
    row, they get a pending invite with a new link, beside the others of the batch."""
    member, never_joined = make_member(), make_pending_invite()
    _post(admin_client, f"/api/v1/users/{member.pk}/deactivate/", {})
    invite_deactivate(membership=never_joined)  # as the identity provider does (SCIM active: false)

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(admin_client, BULK, {"action": "reactivate", "ids": [member.pk, never_joined.pk]})

    assert response.status_code == 200, response.content
    assert response.json() == {"done": [member.pk, never_joined.pk], "skipped": []}
    states = dict(Membership.objects.filter(pk__in=[member.pk, never_joined.pk]).values_list("pk", "state"))
    assert states == {member.pk: Membership.State.JOINED, never_joined.pk: Membership.State.INVITED}
    invite = Invite.objects.get(membership=never_joined)
    assert not invite.is_expired
    assert [message.to[0] for message in mailoutbox] == [never_joined.email]
    reactivations = AuditEvent.objects.filter(action="membership.reactivate", target_membership__in=states)
    assert reactivations.count() == 2
    listed = admin_client.get(f"/api/v1/users/{never_joined.pk}/").json()
    assert listed["status"] == "invite_pending"


def test_bulk_set_role_keeps_an_admin_and_audits_old_and_new(in_acme, admin_client):
    actor = Membership.objects.get(email="admin@acme.test")
    admins = list(Membership.objects.filter(role=Role.ADMIN, state="joined").values_list("pk", flat=True))
    member, viewer = make_member(), make_member(role=Role.VIEWER)
    ids = [*admins, member.pk, viewer.pk]

    body = _post(admin_client, BULK, {"action": "set_role", "ids": ids, "role": "viewer"}).json()

    assert {row["id"]: row["reason"] for row in body["skipped"]} == {
        actor.pk: LAST_ADMIN_MESSAGE,
        viewer.pk: SkipReason.SAME_ROLE,
    }
    assert member.pk in body["done"]
    event = AuditEvent.objects.get(action="membership.change_role", target_membership=member)
    assert event.data == {"old": "member", "new": "viewer"} and event.actor_email == "admin@acme.test"
    actor.refresh_from_db()
    assert actor.role == Role.ADMIN


def test_bulk_resend_and_cancel_invites(
    in_acme, admin_client, eager_tasks, mailoutbox, django_capture_on_commit_callbacks
):
    invites = [make_pending_invite() for _ in range(2)]
    Invite.objects.bulk_create(
        [Invite(membership=m, token_hash=f"old-{m.pk}", expires_at="2020-01-01T00:00:00Z") for m in invites]
    )
    member = make_member()
    ids = [m.pk for m in invites]

    with django_capture_on_commit_callbacks(execute=True):
        body = _post(admin_client, BULK, {"action": "resend_invite", "ids": [*ids, member.pk]}).json()
    assert body == {"done": ids, "skipped": [{"id": member.pk, "reason": SkipReason.NOT_AN_INVITE}]}
    for membership in invites:
        invite = Invite.objects.get(membership=membership)
        assert invite.token_hash != f"old-{membership.pk}" and not invite.is_expired
    assert sorted(message.to[0] for message in mailoutbox) == sorted(m.email for m in invites)

    body = _post(admin_client, BULK, {"action": "cancel_invite", "ids": ids}).json()
    assert body["done"] == ids
    assert not Membership.objects.filter(pk__in=ids).exists()
    assert AuditEvent.objects.filter(action="invite.cancel", target_repr__in=[m.email for m in invites]).count() == 2


@pytest.mark.parametrize(
    "body",
    [
        {"action": "delete", "ids": [1]},
        {"action": "set_role", "ids": [1], "role": "owner"},
        {"action": "set_role", "ids": [1]},
        {"action": "deactivate", "ids": []},
        {"action": "deactivate"},
        {"action": "deactivate", "ids": ["x"]},
        {"action": "deactivate", "ids": list(range(1, 1002))},
        {"action": "deactivate", "ids": 5},
        {"ids": [1]},
        [],
    ],
)
def test_bulk_bad_input_is_400_and_changes_nothing(in_acme, admin_client, body):
    person = make_member()
    if isinstance(body, dict) and body.get("ids") == [1]:
        body = {**body, "ids": [person.pk]}
    response = _post(admin_client, BULK, body)
    assert response.status_code == 400
    assert response.json()["detail"]
    person.refresh_from_db()
    assert person.state == "joined" and person.role == Role.MEMBER


def test_bulk_is_for_admins(in_acme, acme_client):
    person = make_member()
    assert login(acme_client, "member@acme.test").status_code == 302
    assert _post(acme_client, BULK, {"action": "deactivate", "ids": [person.pk]}).status_code == 403
    person.refresh_from_db()
    assert person.state == "joined"


# --- GET, PATCH me/ --------------------------------------------------------------------------------


@pytest.fixture
def member_in_both(acme, globex):
    """A member of acme and of globex (one global account)."""
    user = make_user(name="Dana Both")
    connection.set_tenant(globex)
    make_member(user=user)
    connection.set_tenant(acme)
    membership = make_member(user=user)
    connection.set_schema_to_public()
    return user, membership


def test_me_reads_and_changes_name_and_username_everywhere(acme, globex, member_in_both):
    user, membership = member_in_both
    client = Client(HTTP_HOST=host_of("acme"))
    assert login(client, user.email).status_code == 302

    me = client.get("/api/v1/me/").json()
    assert me == {
        "id": membership.pk,
        "email": user.email,
        "name": "Dana Both",
        "username": user.username,
        "role": "member",
        "status": "active",
    }

    response = client.patch(
        "/api/v1/me/", {"name": "Dana Renamed", "username": "dana.r"}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Dana Renamed" and response.json()["username"] == "dana.r"

    # Both orgs' Users lists find the new name at once.
    for org, admin in ((acme, "admin@acme.test"), (globex, "admin@globex.test")):
        admin_client = Client(HTTP_HOST=host_of(org.slug))
        assert login(admin_client, admin).status_code == 302
        rows = admin_client.get("/api/v1/users/", {"search": "renamed"}).json()["results"]
        assert [(row["name"], row["username"]) for row in rows] == [("Dana Renamed", "dana.r")]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "admin"}, "username"),  # taken (the baseline admin's)
        ({"username": "ADMIN"}, "username"),  # taken, whatever the case
        ({"username": "has space"}, "username"),
        ({"username": "someone@else.test"}, "username"),  # would read as an e-mail address
        ({"username": ""}, "username"),
        ({"name": "x" * 201}, "name"),
    ],
)
def test_me_bad_input_is_400_and_changes_nothing(member_in_both, body, field):
    user, _ = member_in_both
    User.objects.filter(email="admin@acme.test").update(username="admin")
    client = Client(HTTP_HOST=host_of("acme"))
    assert login(client, user.email).status_code == 302
    response = client.patch("/api/v1/me/", body, content_type="application/json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    user.refresh_from_db()
    assert user.name == "Dana Both"


def test_me_needs_a_membership(acme_client):
    assert acme_client.get("/api/v1/me/").status_code == 401
    assert login(acme_client, "support@orgdash.test").status_code == 302
    assert acme_client.get("/api/v1/me/").status_code == 403


def test_revoked_personal_key_stops_working(acme, in_acme, acme_client):
    member = Membership.objects.get(email="member@acme.test")
    key, secret = api_key_create(membership=member, label="laptop")
    connection.set_schema_to_public()
    assert acme_client.get("/api/v1/me/", **bearer(secret)).status_code == 200
    assert acme_client.delete(f"/api/v1/api-keys/{key.pk}/", **bearer(secret)).status_code == 204
    assert acme_client.get("/api/v1/me/", **bearer(secret)).status_code == 401
    connection.set_tenant(acme)
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
