"""The User object's ``invite``: a pending invite's link expiry and e-mail delivery, as org admins see
it in the list, the detail and the invite/resend answers (null for everyone else)."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.models import INVITE_SEND_RETRIES as SEND_RETRIES
from accounts.models import Invite
from tests.factories import make_member

FAILING_BACKEND = f"{__name__}.RefusingEmailBackend"
SMTP_ERROR = "550 mailbox unavailable"


class RefusingEmailBackend(BaseEmailBackend):
    """A mail server that refuses every message, as an unreachable or rejecting SMTP relay would."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError(SMTP_ERROR)


def _invite(client, email: str) -> dict:
    response = client.post("/api/v1/invites/", {"emails": [email]}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()["invited"][0]


def _listed(client, email: str, **params) -> dict:
    rows = client.get("/api/v1/users/", {"search": email, **params}).json()["results"]
    assert [row["email"] for row in rows] == [email]
    return rows[0]


def _detail(client, pk: int) -> dict:
    response = client.get(f"/api/v1/users/{pk}/")
    assert response.status_code == 200
    return response.json()


@pytest.fixture
def refusing_mail_server(settings):
    settings.EMAIL_BACKEND = FAILING_BACKEND


def test_failed_delivery_is_shown_with_attempts_and_error(
    admin_client, acme, eager_tasks, refusing_mail_server, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invited = _invite(admin_client, "bounces@delivery.test")
    assert len(callbacks) == 1
    # The answer is written before the e-mail is queued (on commit): nothing attempted yet.
    assert invited["invite"]["delivery"] == "sending"
    assert invited["invite"]["send_attempts"] == 0 and invited["invite"]["last_error"] is None
    assert invited["invite"]["expired"] is False

    detail = _detail(admin_client, invited["id"])
    assert detail["status"] == "invite_pending"
    assert detail["invite"]["delivery"] == "failed"
    assert detail["invite"]["send_attempts"] == SEND_RETRIES + 1  # the first try and every retry
    assert SMTP_ERROR in detail["invite"]["last_error"]
    assert detail["invite"]["retrying"] is False  # every retry is used up
    assert detail["invite"]["expires_at"] == invited["invite"]["expires_at"]
    assert detail["invite"]["expires_at"].endswith("Z")
    assert _listed(admin_client, "bounces@delivery.test")["invite"] == detail["invite"]


def test_resend_starts_over_and_then_shows_sent(
    admin_client, acme, eager_tasks, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = FAILING_BACKEND
    with django_capture_on_commit_callbacks(execute=True):
        invited = _invite(admin_client, "retry@delivery.test")
    assert _detail(admin_client, invited["id"])["invite"]["delivery"] == "failed"

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        resent = admin_client.post(f"/api/v1/invites/{invited['id']}/resend/")
    assert resent.status_code == 200
    assert resent.json()["invite"]["delivery"] == "sending"
    assert resent.json()["invite"]["send_attempts"] == 0 and resent.json()["invite"]["last_error"] is None

    after = _detail(admin_client, invited["id"])["invite"]
    assert after == {
        **after,
        "delivery": "sent",
        "send_attempts": 1,
        "last_error": None,
        "expired": False,
        "retrying": False,
    }
    assert [message.to for message in mail.outbox] == [["retry@delivery.test"]]
    assert _listed(admin_client, "retry@delivery.test")["invite"] == after


def test_expired_invite_is_flagged_and_resend_renews_it(admin_client, acme, django_capture_on_commit_callbacks):
    connection.set_tenant(acme)
    with django_capture_on_commit_callbacks(execute=False):
        membership = services.invite_create(emails=["late@delivery.test"]).invited[0]
    expired_at = timezone.now() - timedelta(days=1)
    Invite.objects.filter(membership=membership).update(expires_at=expired_at, sent_at=expired_at, send_attempts=1)
    connection.set_schema_to_public()

    detail = _detail(admin_client, membership.pk)
    assert detail["invite"]["expired"] is True and detail["invite"]["delivery"] == "sent"
    assert detail["invite"]["expires_at"] == expired_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _listed(admin_client, "late@delivery.test")["invite"] == detail["invite"]

    with django_capture_on_commit_callbacks(execute=False):
        renewed = admin_client.post(f"/api/v1/invites/{membership.pk}/resend/").json()["invite"]
    assert renewed["expired"] is False and renewed["expires_at"] > detail["invite"]["expires_at"]


def test_members_have_no_invite(admin_client, in_acme):
    active = make_member(email="joined@delivery.test", last_active=timezone.now())
    gone = make_member(email="gone@delivery.test")
    services.membership_deactivate(membership=gone)
    for email, pk in (("joined@delivery.test", active.pk), ("gone@delivery.test", gone.pk)):
        assert _detail(admin_client, pk)["invite"] is None
        assert _listed(admin_client, email)["invite"] is None


@pytest.mark.parametrize("ordering", ["-last_active", "status", "-status", "email"])
def test_every_list_path_gives_the_detail_invite(admin_client, in_acme, ordering, django_capture_on_commit_callbacks):
    """The list reads ``invite`` through its one query (plain, per-status merge, searched)."""
    with django_capture_on_commit_callbacks(execute=False):
        services.invite_create(emails=["f@paths.test", "n@paths.test"])
    Invite.objects.filter(membership__email="f@paths.test").update(
        send_attempts=3, last_send_error="TimeoutError: timed out"
    )
    make_member(email="m@paths.test")
    for params in ({"ordering": ordering, "page_size": 500}, {"ordering": ordering, "search": "@paths.test"}):
        rows = admin_client.get("/api/v1/users/", params).json()["results"]
        by_email = {row["email"]: row for row in rows if row["email"].endswith("@paths.test")}
        assert set(by_email) == {"f@paths.test", "n@paths.test", "m@paths.test"}
        assert by_email["f@paths.test"]["invite"]["delivery"] == "failed"
        assert by_email["f@paths.test"]["invite"]["last_error"] == "TimeoutError: timed out"
        assert by_email["f@paths.test"]["invite"]["retrying"] is True  # 3 attempts: retries remain
        assert by_email["n@paths.test"]["invite"]["delivery"] == "sending"
        assert by_email["m@paths.test"]["invite"] is None
        for row in by_email.values():
            assert row == _detail(admin_client, row["id"])


def test_export_header_is_unchanged(admin_client):
    response = admin_client.get("/api/v1/users/export.csv")
    header = b"".join(response.streaming_content).decode().splitlines()[0]
    assert header == "username,name,email,role,status,last_active,added,days_active,invited_by,deactivated_at"
