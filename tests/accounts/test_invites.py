"""Invites: the API, the e-mail (rendered, queued on commit, sent by the Celery task), the accept page."""

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import INVITE_SEND_RETRIES as SEND_RETRIES
from accounts.models import AuditEvent, Invite, Membership
from tests.conftest import PASSWORD, host_of
from tests.factories import make_member, make_user

LINK = re.compile(r"http://acme\.localhost:8000/invite/([A-Za-z0-9_-]+)/")


def _invite(client, emails, role="member"):
    return client.post("/api/v1/invites/", {"emails": emails, "role": role}, content_type="application/json")


def _token_from(message) -> str:
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(1)


def test_invite_many_sends_one_email_each_on_commit(
    admin_client, acme, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _invite(admin_client, ["New.One@Example.test", "new2@example.test", "new2@example.test"], "viewer")
        assert mail.outbox == []  # nothing leaves before the transaction commits
    assert response.status_code == 201, response.content
    body = response.json()
    assert [u["email"] for u in body["invited"]] == ["new.one@example.test", "new2@example.test"]
    assert body["skipped"] == [{"email": "new2@example.test", "reason": services.DUPLICATE_IN_REQUEST}]
    for user in body["invited"]:
        assert user["status"] == "invite_pending" and user["role"] == "viewer"
        assert user["username"] is None and user["name"] is None and user["invited_by"] == "admin@acme.test"
    assert len(callbacks) == 2 and len(mail.outbox) == 2
    message = mail.outbox[0]
    assert message.to == ["new.one@example.test"]
    assert "Acme" in message.subject
    assert "on orgdash as a viewer." in message.body and "as a viewer." in message.alternatives[0][0]
    assert f"http://acme.{settings.ORGDASH_BASE_DOMAIN}:8000/invite/" in message.body
    html = message.alternatives[0][0]
    assert _token_from(message) in html
    connection.set_tenant(acme)
    invite = Invite.objects.get(membership__email="new.one@example.test")
    assert invite.sent_at is not None and invite.send_attempts == 1 and invite.last_send_error == ""
    # Only the token's hash is stored.
    assert invite.token_hash == services.hash_token(_token_from(message))
    assert _token_from(message) not in invite.token_hash
    assert invite.expires_at - timezone.now() > timedelta(days=settings.ORGDASH_INVITE_TTL_DAYS) - timedelta(minutes=1)
    assert AuditEvent.objects.filter(action="invite.create", target_repr="new2@example.test").count() == 1


def test_invalid_email_is_named_and_nothing_is_sent(admin_client, acme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = _invite(admin_client, ["good@example.test", "not-an-email", "also@bad"])
    assert response.status_code == 400
    body = response.json()
    assert "'not-an-email'" in body["detail"] and "'also@bad'" in body["detail"]
    assert "emails" in body["errors"]
    assert callbacks == [] and mail.outbox == []
    connection.set_tenant(acme)
    assert not Membership.objects.filter(email="good@example.test").exists()


@pytest.mark.parametrize(
    "payload",
    [{}, {"emails": []}, {"emails": "a@b.test"}, {"emails": ["a@example.test"], "role": "owner"}, {"emails": [""]}],
)
def test_bad_invite_payloads_answer_400(admin_client, payload):
    response = admin_client.post("/api/v1/invites/", payload, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"]


def test_existing_members_and_pending_invites_are_skipped(admin_client, in_acme, django_capture_on_commit_callbacks):
    make_member(user=make_user(email="gone@acme.test"), state=Membership.State.DEACTIVATED)
    services.invite_create(emails=["waiting@example.test"])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _invite(
            admin_client, ["MEMBER@acme.test", "waiting@example.test", "gone@acme.test", "fresh@example.test"]
        )
    assert response.status_code == 201
    body = response.json()
    assert [u["email"] for u in body["invited"]] == ["fresh@example.test"]
    reasons = {s["email"]: s["reason"] for s in body["skipped"]}
    assert set(reasons) == {"member@acme.test", "waiting@example.test", "gone@acme.test"}
    assert "already a member" in reasons["member@acme.test"]
    assert "already pending" in reasons["waiting@example.test"]
    assert "reactivate" in reasons["gone@acme.test"]
    assert len(callbacks) == 1


def test_the_limit_counts_addresses_not_repeats(admin_client, acme, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(services, "MAX_INVITES_PER_REQUEST", 3)
    with django_capture_on_commit_callbacks(execute=False):
        refused = _invite(admin_client, ["l1@ext.test", "l2@ext.test", "l3@ext.test", "l4@ext.test"])
        taken = _invite(admin_client, ["l1@ext.test", "l2@ext.test", "l3@ext.test", "L3@ext.test"])
    assert refused.status_code == 400 and "At most 3" in refused.json()["errors"]["emails"][0]
    assert taken.status_code == 201, taken.content
    assert [u["email"] for u in taken.json()["invited"]] == ["l1@ext.test", "l2@ext.test", "l3@ext.test"]
    assert [s["reason"] for s in taken.json()["skipped"]] == [services.DUPLICATE_IN_REQUEST]


def test_an_address_given_twice_in_any_case_is_invited_once_and_the_repeat_skipped(
    admin_client, acme, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = _invite(admin_client, ["new1@ext.test", "NEW1@ext.test", "member@acme.test", " Member@ACME.test "])
    assert response.status_code == 201, response.content
    body = response.json()
    assert [u["email"] for u in body["invited"]] == ["new1@ext.test"]
    assert [(s["email"], s["reason"]) for s in body["skipped"]] == [
        ("new1@ext.test", services.DUPLICATE_IN_REQUEST),
        ("member@acme.test", "This person is already a member."),
        ("member@acme.test", services.DUPLICATE_IN_REQUEST),
    ]
    assert "duplicate" in services.DUPLICATE_IN_REQUEST.lower()
    assert len(callbacks) == 1
    connection.set_tenant(acme)
    assert Membership.objects.filter(email="new1@ext.test").count() == 1
    assert AuditEvent.objects.filter(action="invite.create", target_repr="new1@ext.test").count() == 1


def test_resend_makes_a_new_link_and_kills_the_old(admin_client, acme, eager_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        invited = _invite(admin_client, ["resend@example.test"]).json()["invited"][0]
    old_token = _token_from(mail.outbox[-1])
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"/api/v1/invites/{invited['id']}/resend/")
    assert response.status_code == 200
    assert response.json()["id"] == invited["id"] and response.json()["status"] == "invite_pending"
    new_token = _token_from(mail.outbox[-1])
    assert new_token != old_token and len(mail.outbox) == 2
    assert admin_client.get(f"/invite/{old_token}/").status_code == 404
    assert admin_client.get(f"/invite/{new_token}/").status_code == 200
    connection.set_tenant(acme)
    assert AuditEvent.objects.filter(action="invite.resend", target_repr="resend@example.test").exists()


def test_stale_task_does_not_mail_a_dead_link(in_acme, eager_tasks):
    result = services.invite_create(emails=["stale@example.test"])
    membership = result.invited[0]
    old_token = result.tokens[membership.pk]
    services.invite_resend(membership=membership)
    from accounts.tasks import send_invite_email

    outcome = send_invite_email.apply(
        kwargs={"invite_id": membership.invite.pk, "token": old_token}, headers={"_schema_name": "acme"}
    )
    assert outcome.get() == "superseded"
    assert mail.outbox == []


def test_cancel_invite(admin_client, acme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        invited = _invite(admin_client, ["cancel@example.test"]).json()["invited"][0]
    connection.set_tenant(acme)
    token_hash = Invite.objects.get(membership_id=invited["id"]).token_hash
    response = admin_client.delete(f"/api/v1/invites/{invited['id']}/")
    assert response.status_code == 204
    assert admin_client.get(f"/api/v1/users/{invited['id']}/").status_code == 404
    assert admin_client.delete(f"/api/v1/invites/{invited['id']}/").status_code == 404
    connection.set_tenant(acme)
    assert not Invite.objects.filter(token_hash=token_hash).exists()
    assert AuditEvent.objects.filter(action="invite.cancel", target_repr="cancel@example.test").exists()


def test_resend_and_cancel_refuse_members_and_unknown_ids(admin_client, in_acme):
    member = Membership.objects.get(email="member@acme.test")
    for url in (f"/api/v1/invites/{member.pk}/resend/", "/api/v1/invites/999999/resend/"):
        assert admin_client.post(url).status_code == 404
    for url in (f"/api/v1/invites/{member.pk}/", "/api/v1/invites/999999/"):
        assert admin_client.delete(url).status_code == 404
    assert Membership.objects.filter(pk=member.pk, state=Membership.State.JOINED).exists()


def test_send_failure_is_retried_and_recorded(in_acme, eager_tasks, django_capture_on_commit_callbacks):
    with (
        mock.patch("django.core.mail.EmailMultiAlternatives.send", side_effect=OSError("SMTP down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        result = services.invite_create(emails=["unlucky@example.test"])
    invite = Invite.objects.get(membership=result.invited[0])
    assert invite.send_attempts == SEND_RETRIES + 1  # the first try and every retry
    assert "SMTP down" in invite.last_send_error and invite.sent_at is None
    assert invite.membership.state == Membership.State.INVITED  # still pending, can be resent
    services.invite_resend(membership=invite.membership)
    invite.refresh_from_db()
    assert invite.send_attempts == 0 and invite.last_send_error == ""


def test_broker_failure_does_not_fail_the_request(admin_client, acme, django_capture_on_commit_callbacks):
    with (
        mock.patch("accounts.tasks.send_invite_email.apply_async", side_effect=ConnectionError("broker down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = _invite(admin_client, ["nobroker@example.test"])
    assert response.status_code == 201
    connection.set_tenant(acme)
    assert Invite.objects.get(membership__email="nobroker@example.test").sent_at is None


# --- the accept page ---------------------------------------------------------------------


@pytest.fixture
def invite_token(in_acme):
    def make(email="joiner@example.test", role="member"):
        admin = Membership.objects.get(email="admin@acme.test").user
        result = services.invite_create(emails=[email], role=role, actor=admin)
        connection.set_schema_to_public()
        return result.tokens[result.invited[0].pk]

    return make


def test_new_person_creates_account_and_joins(acme_client, acme, invite_token):
    token = invite_token()
    page = acme_client.get(f"/invite/{token}/")
    assert page.status_code == 200
    assert b"Acme" in page.content and b"joiner@example.test" in page.content and b"as a member." in page.content
    weak = acme_client.post(f"/invite/{token}/", {"name": "Jo Iner", "password1": "123", "password2": "123"})
    assert weak.status_code == 200 and b"too short" in weak.content
    response = acme_client.post(
        f"/invite/{token}/", {"name": "Jo Iner", "password1": "a-Long-pass-phrase", "password2": "a-Long-pass-phrase"}
    )
    assert response.status_code == 302 and response["Location"] == "/invite/joined/"
    joined = acme_client.get("/invite/joined/")
    assert b"You have joined Acme" in joined.content and b"You are now a member of Acme" in joined.content
    # The page leads on: to the org's home page and to the new member's profile.
    assert b'href="/">Continue to Acme' in joined.content and b'href="/accounts/profile/"' in joined.content
    assert acme_client.get("/").status_code == 200
    connection.set_tenant(acme)
    membership = Membership.objects.get(email="joiner@example.test")
    assert membership.state == Membership.State.JOINED and membership.name == "Jo Iner"
    assert membership.user.check_password("a-Long-pass-phrase") and membership.username
    assert membership.joined_at is not None
    assert AuditEvent.objects.filter(action="invite.accept", target_membership=membership).exists()
    # Single use: the link is dead now, and says nothing about whom it was for.
    again = Client(HTTP_HOST=host_of("acme")).get(f"/invite/{token}/")
    assert again.status_code == 404 and b"joiner@example.test" not in again.content
    # The session works on the API as the new member (a member: 403 on admin endpoints, 200 on own keys).
    assert acme_client.get("/api/v1/api-keys/").status_code == 200


def test_admin_invitee_lands_on_the_dashboard(acme_client, invite_token):
    token = invite_token(email="boss@example.test", role="admin")
    response = acme_client.post(
        f"/invite/{token}/", {"name": "Boss", "password1": "a-Long-pass-phrase", "password2": "a-Long-pass-phrase"}
    )
    assert response.status_code == 302 and response["Location"] == "/org/dashboard/"
    assert acme_client.get("/org/dashboard/").status_code == 200


def test_existing_user_logs_in_with_their_password_to_join(acme_client, acme, invite_token):
    # admin@globex.test already has an account (in another org).
    token = invite_token(email="ADMIN@globex.test")
    page = acme_client.get(f"/invite/{token}/")
    assert b"already have an orgdash account" in page.content
    wrong = acme_client.post(f"/invite/{token}/", {"password": "nope"})
    assert wrong.status_code == 200 and b"not right" in wrong.content
    response = acme_client.post(f"/invite/{token}/", {"password": PASSWORD})
    assert response.status_code == 302
    connection.set_tenant(acme)
    membership = Membership.objects.get(email="admin@globex.test")
    assert membership.state == Membership.State.JOINED
    assert membership.user.email == "admin@globex.test" and membership.user.check_password(PASSWORD)


def test_expired_and_unknown_links(acme_client, acme, invite_token):
    token = invite_token()
    connection.set_tenant(acme)
    Invite.objects.filter(token_hash=services.hash_token(token)).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    expired = acme_client.get(f"/invite/{token}/")
    assert expired.status_code == 410 and b"expired" in expired.content
    posted = acme_client.post(
        f"/invite/{token}/", {"name": "X", "password1": "a-Long-pass", "password2": "a-Long-pass"}
    )
    assert posted.status_code == 410
    unknown = acme_client.get("/invite/not-a-real-token/")
    assert unknown.status_code == 404 and b"not valid" in unknown.content


def test_token_of_one_org_is_unknown_at_another(globex_client, invite_token):
    token = invite_token()
    assert globex_client.get(f"/invite/{token}/").status_code == 404


def test_the_migration_clears_names_kept_for_people_without_an_account(in_acme):
    """Names an identity provider once wrote onto not-yet-joined memberships are cleared, so the
    Users list neither shows nor searches them; members keep theirs."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("accounts.migrations.0009_invites_have_no_name")
    pending = services.invite_create(emails=["named-invite@example.test"]).invited[0]
    Membership.objects.filter(pk=pending.pk).update(name="Sent By Idp", username="idp.name")
    member = Membership.objects.get(email="admin@acme.test")
    migration.clear_names_without_account(apps, None)
    assert Membership.objects.filter(pk=pending.pk).values_list("name", "username").get() == (None, None)
    member_after = Membership.objects.get(pk=member.pk)
    assert (member_after.name, member_after.username) == (member.name, member.username)
