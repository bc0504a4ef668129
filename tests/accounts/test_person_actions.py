"""The person page's actions (/org/dashboard/users/<id>/, posted to the page): each says what it
did, where the actions are; a cancelled invite's confirmation waits on the Users list; a person
or invite that is gone gets a sentence and a way back, and the page is never served from a cache."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent, Membership, Role
from accounts.services import invite_accept, invite_cancel, invite_resend, membership_deactivate
from accounts.views_people import INVITE_GONE, PERSON_GONE, ago
from tests.conftest import host_of, login
from tests.factories import make_member, make_pending_invite, make_user


def _url(membership) -> str:
    return f"/org/dashboard/users/{membership.pk}/"


def _box(page: str, box_id: str) -> str:
    """The text of the page's #person-ok or #person-error box ("" when it is hidden)."""
    match = re.search(rf'<div class="alert [^"]+" id="{box_id}"[^>]*>(.*?)</div>', page, re.S)
    assert match, box_id
    if " hidden>" in match.group(0).split(">", 1)[0] + ">":
        return ""
    return re.sub(r"<[^>]+>", " ", match.group(1)).strip()


@pytest.fixture
def acting(acme, admin_client):
    """Runs the arrange steps in acme's schema, the requests in public (as a browser would)."""

    def make(factory, **kwargs):
        connection.set_tenant(acme)
        try:
            return factory(**kwargs)
        finally:
            connection.set_schema_to_public()

    return make


def _post(client, membership, action: str, **data):
    """As the page script posts: what it asks before (role, deactivate, cancel) comes confirmed."""
    return client.post(_url(membership), {"action": action, "confirm": action, **data})


def test_reactivate_says_so_on_the_page_it_comes_back_to(acme, admin_client, acting):
    person = acting(make_member, user=make_user(name="Jane Doe"))
    acting(membership_deactivate, membership=person)

    response = _post(admin_client, person, "reactivate")
    assert response.status_code == 302 and response["Location"] == _url(person)
    page = admin_client.get(_url(person)).content.decode()
    assert _box(page, "person-ok") == "Reactivated Jane Doe; they are Active again."
    assert _box(page, "person-error") == ""
    # Said once: a reload does not repeat it.
    assert _box(admin_client.get(_url(person)).content.decode(), "person-ok") == ""
    connection.set_tenant(acme)
    assert Membership.objects.get(pk=person.pk).state == Membership.State.JOINED


def test_deactivate_and_role_changes_say_what_happened_with_articles(admin_client, acting):
    person = acting(make_member, user=make_user(name="Ray Roles"))

    _post(admin_client, person, "role", role=Role.VIEWER)
    assert _box(admin_client.get(_url(person)).content.decode(), "person-ok") == "Ray Roles is now a viewer."
    _post(admin_client, person, "role", role=Role.ADMIN)
    assert _box(admin_client.get(_url(person)).content.decode(), "person-ok") == "Ray Roles is now an admin."
    _post(admin_client, person, "role", role=Role.ADMIN)
    assert _box(admin_client.get(_url(person)).content.decode(), "person-error") == "Ray Roles is already an admin."
    _post(admin_client, person, "role", role=Role.MEMBER)
    admin_client.get(_url(person))
    _post(admin_client, person, "role", role=Role.MEMBER)
    assert _box(admin_client.get(_url(person)).content.decode(), "person-error") == "Ray Roles is already a member."

    _post(admin_client, person, "deactivate")
    assert _box(admin_client.get(_url(person)).content.decode(), "person-ok") == "Deactivated Ray Roles."


def test_a_refused_action_shows_the_reason(admin_client, acting):
    invited = acting(make_pending_invite)
    _post(admin_client, invited, "deactivate")
    page = admin_client.get(_url(invited)).content.decode()
    assert _box(page, "person-error") == "This is a pending invite; cancel the invite instead."
    assert _box(page, "person-ok") == ""


def test_resend_then_cancel_and_the_users_list_carries_the_confirmation(acme, admin_client, acting):
    invited = acting(make_pending_invite)

    _post(admin_client, invited, "resend")
    page = admin_client.get(_url(invited)).content.decode()
    assert _box(page, "person-ok") == f"Sent a new invite to {invited.email}. The previous link no longer works."

    response = _post(admin_client, invited, "cancel")
    assert response.status_code == 302 and response["Location"] == "/org/dashboard/"
    users = admin_client.get("/org/dashboard/").content.decode()
    assert f'<li data-level="success">Cancelled the invite for {invited.email}.</li>' in users
    assert "server-messages" not in admin_client.get("/org/dashboard/").content.decode()  # once
    connection.set_tenant(acme)
    assert not Membership.objects.filter(pk=invited.pk).exists()
    assert AuditEvent.objects.filter(action="invite.cancel").exists()


def test_a_stale_page_acting_on_a_cancelled_invite_is_told_and_offered_the_way_back(admin_client, acting):
    invited = acting(make_pending_invite)
    acting(invite_cancel, membership=invited)

    for action in ("resend", "cancel"):
        response = _post(admin_client, invited, action)
        assert response.status_code == 404
        page = response.content.decode()
        assert INVITE_GONE in page and 'href="/org/dashboard/"' in page and "All users" not in page
        assert "Back to all users" in page

    response = admin_client.get(_url(invited))
    assert response.status_code == 404
    assert PERSON_GONE in response.content.decode() and "Back to all users" in response.content.decode()


def test_a_stale_page_acting_on_an_accepted_invite_is_told(admin_client, acting):
    invited = acting(make_pending_invite)
    _, token = acting(invite_resend, membership=invited)
    acting(invite_accept, token=token, password="a-Long-enough-password-1", name="Now Joined")

    _post(admin_client, invited, "resend")
    page = admin_client.get(_url(invited)).content.decode()
    assert _box(page, "person-error") == INVITE_GONE


def test_the_page_is_never_cached(admin_client, acting):
    person = acting(make_member)
    for response in (admin_client.get(_url(person)), admin_client.get("/org/dashboard/users/987654321/")):
        assert "no-store" in response["Cache-Control"]


def test_only_admins_act(acme, acting):
    person = acting(make_member)
    member = acting(make_member, user=make_user())
    client = Client(HTTP_HOST=host_of("acme"))
    assert login(client, member.email).status_code == 302
    assert _post(client, person, "deactivate").status_code == 403
    connection.set_tenant(acme)
    assert Membership.objects.get(pk=person.pk).state == Membership.State.JOINED


def test_last_active_reads_just_now_under_a_minute(admin_client, acting):
    now = timezone.now()
    fresh = acting(make_member, last_active=now - dt.timedelta(seconds=5))
    older = acting(make_member, last_active=now - dt.timedelta(days=3, minutes=5))
    assert "(just now)" in admin_client.get(_url(fresh)).content.decode()
    page = admin_client.get(_url(older)).content.decode()
    assert "(3\xa0days ago)" in page and "0\xa0minutes" not in page


def test_ago_words():
    now = timezone.now()
    assert ago(now, now) == "just now"
    assert ago(now - dt.timedelta(seconds=59), now) == "just now"
    assert ago(now - dt.timedelta(minutes=5), now) == "5\xa0minutes ago"


@pytest.mark.parametrize(
    ("action", "data", "question", "ok", "done"),
    [
        ("deactivate", {}, "Deactivate Nora Script?", "Deactivate", Membership.State.DEACTIVATED),
        ("role", {"role": Role.VIEWER}, "Make Nora Script viewer?", "Make viewer", Role.VIEWER),
    ],
)
def test_without_the_page_script_an_action_is_asked_first_on_a_step(
    acme, admin_client, acting, action, data, question, ok, done
):
    """A form posted without the script's dialog changes nothing: it is sent to a confirmation
    step of the page, whose own form (with ``confirm``) does it; "Keep" goes back unchanged."""
    person = acting(make_member, user=make_user(name="Nora Script"))

    asked = admin_client.post(_url(person), {"action": action, **data})
    assert asked.status_code == 302 and asked["Location"].startswith(f"{_url(person)}?confirm={action}")
    assert asked["Location"].endswith("#confirm-step")
    connection.set_tenant(acme)
    unchanged = Membership.objects.get(pk=person.pk)
    assert (unchanged.state, unchanged.role) == (Membership.State.JOINED, Role.MEMBER)
    assert (
        not AuditEvent.objects.filter(target_membership=person.pk, action__startswith="membership.")
        .exclude(action="membership.add")
        .exists()
    )
    connection.set_schema_to_public()

    step = admin_client.get(asked["Location"]).content.decode()
    assert 'id="confirm-step"' in step and question in step and f">{ok}</button>" in step
    assert f'name="confirm" value="{action}"' in step and f'href="{_url(person)}"' in step
    assert admin_client.post(_url(person), {"action": action, "confirm": action, **data}).status_code == 302
    connection.set_tenant(acme)
    after = Membership.objects.get(pk=person.pk)
    assert done in (after.state, after.role)


def test_a_confirmation_step_for_what_cannot_be_done_is_not_shown(admin_client, acting):
    invited = acting(make_pending_invite)
    member = acting(make_member)
    assert 'id="confirm-step"' not in admin_client.get(f"{_url(invited)}?confirm=deactivate").content.decode()
    assert 'id="confirm-step"' not in admin_client.get(f"{_url(member)}?confirm=cancel").content.decode()
    assert 'id="confirm-step"' not in admin_client.get(f"{_url(member)}?confirm=role&role=owner").content.decode()
    assert 'id="confirm-step"' in admin_client.get(f"{_url(invited)}?confirm=cancel").content.decode()


def test_an_invite_cancelled_while_it_is_resent_says_so_once_and_nowhere_else(acme, admin_client, acting, monkeypatch):
    from accounts import services

    invited = acting(make_pending_invite)

    def cancelled_meanwhile(*, membership, **_):  # another admin cancels it first
        connection.set_tenant(acme)
        Membership.objects.filter(pk=membership.pk).delete()
        raise services.InviteNotPending

    monkeypatch.setattr(services, "invite_resend", cancelled_meanwhile)
    response = _post(admin_client, invited, "resend")
    assert response.status_code == 404 and INVITE_GONE in response.content.decode()
    connection.set_schema_to_public()
    assert INVITE_GONE not in admin_client.get("/org/dashboard/").content.decode()  # not left for later
