"""The invite e-mail through a real Celery worker process and the real Redis broker: queued on
commit inside acme's schema, sent by the worker in that schema, and its link accepted; a refused
e-mail retried by the worker with a growing backoff until the mail server takes it."""

import re
import time
import uuid

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail.backends.filebased import EmailBackend
from django.db import connection
from django.test import Client

from accounts import services
from accounts.models import AuditEvent, Invite, Membership
from orgdash.core.models import Organization
from tests.conftest import celery_worker, host_of


class RefusesTwiceEmailBackend(EmailBackend):
    """A mail server that refuses the first two messages (as a greylisting one does), then
    delivers to files. Counted per process: the worker runs with the solo pool."""

    refused = 0

    def send_messages(self, email_messages):
        if RefusesTwiceEmailBackend.refused < 2:
            RefusesTwiceEmailBackend.refused += 1
            raise ConnectionRefusedError("421 greylisted, try again later")
        return super().send_messages(email_messages)


@pytest.fixture
def mail_dir(tmp_path):
    return tmp_path / "mail"


@pytest.fixture
def worker(committed, mail_dir):
    with celery_worker(
        "invite-test",
        ORGDASH_TEST_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(mail_dir),
    ) as process:
        yield process


@pytest.fixture
def retrying_worker(committed, mail_dir):
    with celery_worker(
        "invite-retry-test",
        ORGDASH_TEST_EMAIL_BACKEND=f"{__name__}.RefusesTwiceEmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(mail_dir),
        ORGDASH_INVITE_RETRY_SECONDS="1",  # 1 s, then 2 s: the doubling, without the wait
    ) as process:
        yield process


def _wait_until_sent(invite: Invite, timeout: float = 30) -> Invite:
    deadline = time.monotonic() + timeout
    while invite.sent_at is None and time.monotonic() < deadline:
        time.sleep(0.2)
        invite.refresh_from_db()
    return invite


def test_a_refused_invite_email_is_retried_by_the_worker_with_backoff(retrying_worker, mail_dir):
    email = f"retry-{uuid.uuid4().hex[:8]}@example.test"
    acme = Organization.objects.get(slug="acme")
    connection.set_tenant(acme)
    try:
        membership = services.invite_create(emails=[email]).invited[0]
        invite = _wait_until_sent(Invite.objects.get(membership=membership))
        assert invite.sent_at is not None, "the worker never delivered the invite"
        assert invite.send_attempts == 3 and invite.last_send_error == ""  # two refusals, then sent
        messages = [path.read_text() for path in mail_dir.iterdir()]
        assert len(messages) == 1 and f"To: {email}" in messages[0]
        # The worker scheduled each retry twice as far out as the one before.
        log = (settings.BASE_DIR / "test-artifacts" / "celery-invite-retry-test.log").read_text()
        retries = re.findall(r"send_invite_email\[[0-9a-f-]+\] retry: Retry in (\d+)s: ConnectionRefusedError", log)
        assert retries == ["1", "2"], log[-3000:]
    finally:
        connection.set_tenant(acme)
        AuditEvent.objects.filter(target_repr=email).delete()
        Membership.objects.filter(email=email).delete()
        connection.set_schema_to_public()


def test_invite_email_is_sent_by_the_worker_and_its_link_joins(worker, mail_dir):
    email = f"worker-{uuid.uuid4().hex[:8]}@example.test"
    acme = Organization.objects.get(slug="acme")
    connection.set_tenant(acme)
    try:
        # Autocommit here: the on-commit hook queues the task at once, with acme's schema.
        membership = services.invite_create(emails=[email]).invited[0]
        deadline = time.monotonic() + 30
        invite = Invite.objects.get(membership=membership)
        while invite.sent_at is None and time.monotonic() < deadline:
            time.sleep(0.2)
            invite.refresh_from_db()
        assert invite.sent_at is not None and invite.send_attempts == 1, "the worker did not send the invite"
        messages = [path.read_text() for path in mail_dir.iterdir()]
        assert len(messages) == 1 and f"To: {email}" in messages[0]
        token = re.search(r"http://acme\.localhost:8000/invite/([A-Za-z0-9_-]+)/", messages[0]).group(1)
        assert invite.token_hash == services.hash_token(token)

        connection.set_schema_to_public()
        client = Client(HTTP_HOST=host_of("acme"))
        response = client.post(
            f"/invite/{token}/",
            {"name": "Worker Joiner", "password1": "a-Long-pass-phrase", "password2": "a-Long-pass-phrase"},
        )
        assert response.status_code == 302
        connection.set_tenant(acme)
        assert Membership.objects.get(pk=membership.pk).state == Membership.State.JOINED
    finally:
        connection.set_tenant(acme)
        AuditEvent.objects.filter(target_repr=email).delete()
        Membership.objects.filter(email=email).delete()
        connection.set_schema_to_public()
        get_user_model().objects.filter(email=email)._raw_delete(connection.alias)
